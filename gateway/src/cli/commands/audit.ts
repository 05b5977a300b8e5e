/** `veilgate audit verify|trace`: an auditor's checks of the hub's log (protocol.md §8). */
import { DEFAULT_MAX_WITNESS_AGE_SECONDS, VeilgateClient, majorityQuorum, type WitnessKey } from '@veilgate/sdk';
import { hubCredentials, parseCommand, UsageError } from '../usage.ts';
import {
  DEFAULT_AUDIT_CHECKPOINT, demoWitnesses, keyFingerprint, readAuditPins, sameLog, witnessDifferences, writeAuditPins, type AuditPins,
} from './audit-pins.ts';

function client(values: { hub?: string | undefined; 'api-key'?: string | undefined; 'log-key'?: string | undefined; origin?: string | undefined }): VeilgateClient {
  const { hubUrl, apiKey, log } = hubCredentials(values, 'auditor');
  const pinned = values['log-key'] ? { origin: values.origin ?? 'veilgate/hub', publicKey: values['log-key'] } : log;
  if (!pinned) console.error('note: no --log-key given; trusting the key the hub states (pin it for real audits)');
  return new VeilgateClient({ baseUrl: hubUrl, apiKey, ...(pinned ? { log: pinned } : {}) });
}

const common = { hub: { type: 'string' }, 'api-key': { type: 'string' }, 'log-key': { type: 'string' }, origin: { type: 'string' } } as const;

/**
 * `veilgate audit verify`: fails closed (protocol.md §8). Exit 1 unless every entry rebuilds
 * the signed root AND a quorum of pinned witnesses cosigned it recently; from the saved
 * checkpoint (kept by default in `.veilgate/audit-checkpoint.json`) it also proves the log
 * only grew. Witness keys come from the auditor's configuration (demo.json) or the saved file,
 * or are pinned on first use; a change is an alert.
 */
async function verify(rest: string[]): Promise<void> {
  const { values } = parseCommand(rest, {
    ...common,
    checkpoint: { type: 'string' },
    quorum: { type: 'string' },
    'max-witness-age': { type: 'string' },
    'pin-witnesses': { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
  });
  const path = values.checkpoint ?? DEFAULT_AUDIT_CHECKPOINT;
  const quorumFlag = values.quorum === undefined ? undefined : Number(values.quorum);
  if (quorumFlag !== undefined && (!Number.isSafeInteger(quorumFlag) || quorumFlag < 1)) throw new UsageError('--quorum must be a positive integer');
  const maxAge = values['max-witness-age'] === undefined ? DEFAULT_MAX_WITNESS_AGE_SECONDS : Number(values['max-witness-age']);
  if (!Number.isSafeInteger(maxAge) || maxAge < 1) throw new UsageError('--max-witness-age must be a positive number of seconds');

  let pins: AuditPins | undefined;
  try {
    pins = readAuditPins(path);
  } catch (err) {
    console.log(`PROBLEM  ${(err as Error).message}; fix or move it away to verify from scratch`);
    process.exitCode = 1;
    return;
  }
  const { hubUrl, apiKey, log: demoLog } = hubCredentials(values, 'auditor');
  const configured = values['log-key'] ? { origin: values.origin ?? 'veilgate/hub', publicKey: values['log-key'] } : demoLog;
  const saved = pins?.logKey && pins.origin ? { origin: pins.origin, publicKey: pins.logKey } : undefined;
  if (configured && saved && !sameLog(configured, saved)) {
    console.log(`ALERT    the log key configured (${keyFingerprint(configured.publicKey)}) is not the one pinned in ${path} (${keyFingerprint(saved.publicKey)}).`);
    console.log(`         Another log, or a replaced key: if this is a new data space, move ${path} away.`);
    process.exitCode = 1;
    return;
  }
  const pinnedLog = configured ?? saved;
  if (!pinnedLog) console.error('note: no log key configured or saved; pinning the key the hub states (check its fingerprint by other means)');
  const client = new VeilgateClient({ baseUrl: hubUrl, apiKey, ...(pinnedLog ? { log: pinnedLog } : {}) });
  const log = await client.logIdentity();

  // Witness keys: configuration, else the saved file, else the hub's list on first use.
  const head = await client.checkpoint();
  const stated = head.witnesses.map((w) => ({ node: w.node, signingKey: w.signingKey }));
  const fromConfig = demoWitnesses(hubUrl);
  let witnesses: WitnessKey[];
  let quorum: number;
  let origin: string;
  if (fromConfig) {
    witnesses = fromConfig.witnesses;
    quorum = quorumFlag ?? fromConfig.quorum ?? majorityQuorum(witnesses.length);
    origin = 'configured';
    const changed = pins?.witnesses ? witnessDifferences(pins.witnesses, witnesses) : [];
    if (changed.length) console.error(`note: the configured witness keys replace the ones saved in ${path}: ${changed.join('; ')}`);
  } else if (pins?.witnesses && !values['pin-witnesses']) {
    witnesses = pins.witnesses;
    quorum = quorumFlag ?? pins.quorum ?? majorityQuorum(witnesses.length);
    origin = 'pinned';
  } else {
    witnesses = stated;
    // Never below a majority of the keys, whatever k the hub states.
    quorum = quorumFlag ?? Math.max(head.witnessQuorum, majorityQuorum(witnesses.length));
    origin = values['pin-witnesses'] ? 're-pinned' : 'pinned on first use';
    console.error(`note: pinning the ${witnesses.length} witness keys the hub names (${witnesses.map((w) => `${w.node} ${keyFingerprint(w.signingKey)}`).join(', ') || 'none'}); confirm them with the institutions`);
  }
  for (const line of witnessDifferences(witnesses, stated)) console.log(`ALERT    ${line} (the hub's list differs from the pinned witnesses; only pinned keys count)`);
  if (quorum > witnesses.length) {
    console.log(`PROBLEM  quorum ${quorum} is more than the ${witnesses.length} pinned witnesses`);
    process.exitCode = 1;
    return;
  }

  const trusted = saved && sameLog(log, saved) && pins?.size !== undefined && pins.root !== undefined ? { size: pins.size, root: pins.root } : undefined;
  const started = performance.now();
  let lastShown = 0;
  const report = await client.verifyLog({
    ...(trusted ? { trusted } : {}),
    ...(witnesses.length ? { witnesses: { keys: witnesses, quorum } } : {}),
    maxWitnessAgeSeconds: maxAge,
    onProgress: (done, total) => {
      if (!values.quiet && process.stderr.isTTY && (done - lastShown >= 10_000 || done === total)) {
        lastShown = done;
        process.stderr.write(`\rverifying ${done}/${total} entries`);
      }
    },
  });
  if (!values.quiet && process.stderr.isTTY) process.stderr.write('\n');
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  const w = report.witnesses;
  console.log(`log      ${report.treeSize} entries, root ${report.rootHash}`);
  console.log(`checked  ${report.entriesChecked} entries in ${seconds} s${trusted ? `, from the saved checkpoint of size ${trusted.size}` : ' (from scratch)'}`);
  console.log(`witnesses ${w.cosigned.length} of ${witnesses.length} ${origin} cosigned in the last ${maxAge} s (${w.cosigned.join(', ') || 'none'}), quorum ${quorum}: ${w.witnessed ? 'witnessed' : 'NOT witnessed'}`);
  if (!report.ok || !report.checkpoint) {
    for (const p of report.problems) console.log(`PROBLEM  ${p.index !== undefined ? `[entry ${p.index}] ` : ''}${p.message} (${p.code})`);
    console.log(`FAILED   the log is not verified${trusted ? `; ${path} keeps the checkpoint of size ${trusted.size}` : ''}`);
    process.exitCode = 1;
    return;
  }
  if (trusted) console.log(`grew     consistent with saved checkpoint of size ${trusted.size}: the log only grew`);
  writeAuditPins(path, {
    origin: log.origin, logKey: log.publicKey, witnesses, quorum,
    size: report.checkpoint.size, root: report.checkpoint.root, note: report.checkpoint.note, verifiedAt: new Date().toISOString(),
  });
  console.log(`OK       every entry verified against the signed checkpoint, witnessed by ${w.cosigned.length} of ${witnesses.length} pinned witnesses (saved to ${path})`);
}

/** `veilgate audit verify [--checkpoint FILE] …` · `veilgate audit trace ENTRY` */
export async function runAudit(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub === 'verify') return verify(rest);
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
