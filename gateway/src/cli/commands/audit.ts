/** `veilgate audit verify|trace`: an auditor's checks of the hub's log. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { VeilgateClient } from '@veilgate/sdk';
import { hubCredentials, parseCommand, UsageError } from '../usage.ts';

function client(values: { hub?: string | undefined; 'api-key'?: string | undefined; 'log-key'?: string | undefined; origin?: string | undefined }): VeilgateClient {
  const { hubUrl, apiKey, log } = hubCredentials(values, 'auditor');
  const pinned = values['log-key'] ? { origin: values.origin ?? 'veilgate/hub', publicKey: values['log-key'] } : log;
  if (!pinned) console.error('note: no --log-key given; trusting the key the hub states (pin it for real audits)');
  return new VeilgateClient({ baseUrl: hubUrl, apiKey, ...(pinned ? { log: pinned } : {}) });
}

const common = { hub: { type: 'string' }, 'api-key': { type: 'string' }, 'log-key': { type: 'string' }, origin: { type: 'string' } } as const;

/** `veilgate audit verify [--checkpoint FILE]` · `veilgate audit trace ENTRY` */
export async function runAudit(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub === 'verify') {
    const { values } = parseCommand(rest, { ...common, checkpoint: { type: 'string' }, quiet: { type: 'boolean', default: false } });
    const trusted = values.checkpoint && existsSync(values.checkpoint) ? (JSON.parse(readFileSync(values.checkpoint, 'utf8')) as { size: number; root: string }) : undefined;
    const started = performance.now();
    let lastShown = 0;
    const report = await client(values).verifyLog({
      ...(trusted ? { trusted } : {}),
      onProgress: (done, total) => {
        if (!values.quiet && process.stderr.isTTY && (done - lastShown >= 10_000 || done === total)) {
          lastShown = done;
          process.stderr.write(`\rverifying ${done}/${total} entries`);
        }
      },
    });
    if (!values.quiet && process.stderr.isTTY) process.stderr.write('\n');
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    console.log(`log      ${report.treeSize} entries, root ${report.rootHash}`);
    console.log(`checked  ${report.entriesChecked} entries in ${seconds} s${trusted ? `, consistent with saved checkpoint of size ${trusted.size}` : ' (from scratch)'}`);
    console.log(`witnesses ${report.witnesses.cosigned.length} co-signed (${report.witnesses.cosigned.join(', ') || 'none'}), quorum ${report.witnesses.quorum}: ${report.witnesses.witnessed ? 'witnessed' : 'NOT witnessed'}`);
    if (!report.ok) {
      for (const p of report.problems) console.log(`PROBLEM  ${p.index !== undefined ? `[entry ${p.index}] ` : ''}${p.message}`);
      process.exitCode = 1;
      return;
    }
    if (values.checkpoint && report.checkpoint) writeFileSync(values.checkpoint, JSON.stringify(report.checkpoint, null, 2));
    console.log(`OK       every entry verified against the signed checkpoint${values.checkpoint ? ` (saved to ${values.checkpoint})` : ''}`);
    return;
  }
  if (sub === 'trace') {
    const { values, positionals } = parseCommand(rest, { ...common, json: { type: 'boolean', default: false } }, true);
    const entry = positionals[0];
    if (!entry) throw new UsageError('trace: give a log index or a query id');
    const trace = await client(values).trace(entry);
    if (values.json) {
      console.log(JSON.stringify(trace, null, 2));
      return;
    }
    console.log(`trace of ${entry} (every step proven included in the checkpoint of size ${trace.treeSize}):`);
    for (const step of trace.steps) {
      const { v: _v, time, type, ...rest } = step.entry as Record<string, unknown>;
      console.log(`  ${step.relation.padEnd(40)} #${step.index}  ${String(type)}  ${String(time)}`);
      console.log(`    ${JSON.stringify(rest)}`);
    }
    return;
  }
  throw new UsageError(`audit: expected 'verify' or 'trace', got '${sub ?? ''}'`);
}
