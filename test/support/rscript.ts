/**
 * R as the oracle (issue 12: "checked against R, not against ourselves"): runs an R program with
 * `Rscript` and returns what it printed. Asynchronous, so that servers in this process keep
 * answering while R works.
 */
import { execFile, spawnSync } from 'node:child_process';

/** Whether `Rscript` is on this machine (`.ci/run` installs Debian's r-base-core). */
export const hasR = spawnSync('Rscript', ['--version'], { encoding: 'utf8' }).status === 0;

/**
 * Runs `program` with Rscript and resolves with its standard output.
 *
 * @example
 * const out = await runR('cat(format(chisq.test(matrix(c(12, 5, 9, 14), 2))$p.value, digits = 17))');
 */
export function runR(program: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('Rscript', ['--vanilla', '-'], { encoding: 'utf8', timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`Rscript failed: ${stderr}`)) : resolve(stdout));
    child.stdin!.end(program);
  });
}
