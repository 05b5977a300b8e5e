/** `veilgate demo`: the whole demo data space in one process (what `npm start` runs). */
import { startDataSpace } from '../../demo/data-space.ts';
import { parseCommand, UsageError } from '../usage.ts';

/** `veilgate demo [--patients N] [--hospitals N] [--dir DIR] [--port P] [--quiet]` */
export async function runDemo(args: string[]): Promise<void> {
  const { values } = parseCommand(args, {
    patients: { type: 'string', default: '100000' },
    hospitals: { type: 'string', default: '3' },
    dir: { type: 'string', default: '.veilgate' },
    port: { type: 'string', default: '8080' },
    quiet: { type: 'boolean', default: false },
  });
  const patients = Number(values.patients);
  const hospitals = Number(values.hospitals);
  const port = Number(values.port);
  if (!Number.isSafeInteger(patients) || patients < 10 || patients > 50_000_000) throw new UsageError('--patients must be an integer from 10 to 50000000');
  if (!Number.isSafeInteger(hospitals) || hospitals < 1 || hospitals > 256) throw new UsageError('--hospitals must be an integer from 1 to 256');
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be a TCP port');
  const started = performance.now();
  console.log(`Starting the Veilgate demo data space: ${hospitals} hospitals × ${patients.toLocaleString('en')} synthetic patients …`);
  const space = await startDataSpace({
    dir: values.dir, patientsPerHospital: patients, hospitals, port,
    log: values.quiet ? () => {} : (line) => console.log(line),
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const operators = Object.entries(space.accounts.operators).flatMap(([node, keys]) => keys.map((key, i) => [`operator ${node} #${i + 1}`, key] as const));
  const logins = [['researcher', space.accounts.researcher], ['auditor', space.accounts.auditor], ['admin', space.accounts.admin], ...operators] as const;
  console.log(`
Ready in ${seconds} s.
  console  ${space.hubUrl}/   ← open in a browser, sign in with an API key below
  hub      ${space.hubUrl}   (GET ${space.hubUrl}/v1/health)
${space.nodes.map((n) => `  node     ${n.url}   ${n.id} — ${n.name}`).join('\n')}

Demo logins (API keys; also in ${values.dir}/demo.json — demo data only, never reuse):
${logins.map(([who, key]) => `  ${who.padEnd(22)} ${key}`).join('\n')}

Datasets:
  ${space.hospitals.map((h) => h.datasets.map((d) => `${d.id} (${d.classification ?? 'general'})`).join(', ')).join('\n  ')}

Next, in another terminal:
  npm run example                                   # request access → approvals → encrypted study
  npx veilgate help                                 # the consent flow by hand (see README)
  npx veilgate audit verify                         # verify the audit log; trace with: npx veilgate audit trace q_…

Press Ctrl+C to stop.`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void space.close().then(() => process.exit(0));
    });
  }
}
