/**
 * The node ledger across a crash (protocol.md §11): a process charges a token and is
 * SIGKILLed — once before its `contribution.computed` entry is logged (nothing can have left:
 * refunded at the next start), once after (it may have been sent: the charge stands).
 */
import { afterEach, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSigningKey } from '../crypto/ed25519.ts';
import { openNodeState } from './node-state.ts';
import { openNodeLedger, recoverCharges } from './ledger.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

/** Runs a child that charges `q1` (and logs it when `logged`), then SIGKILLs itself. */
async function chargeAndDie(path: string, signingKey: string, logged: boolean): Promise<string | null> {
  const dir = mkdtempSync(join(tmpdir(), 'veilgate-ledger-child-'));
  dirs.push(dir);
  const script = join(dir, 'child.ts');
  writeFileSync(script, `
    import { openNodeState } from ${JSON.stringify(here('./node-state.ts'))};
    import { openNodeLedger } from ${JSON.stringify(here('./ledger.ts'))};
    import { auditEvent } from ${JSON.stringify(here('../audit/events.ts'))};
    const state = openNodeState(${JSON.stringify(path)}, { origin: 'veilgate/hosp-a', signingKey: ${JSON.stringify(signingKey)} });
    const ledger = openNodeLedger(state.db);
    const logSize = await state.log.size();
    ledger.charge({ queryId: 'q1', jti: 'jti-1', budget: 1, quota: 10, rho: 0.25, logSize });
    ${logged ? `state.record(auditEvent({ type: 'contribution.computed', queryId: 'q1', hub: 'hub', datasets: ['d'], keyId: 'k', planSha256: 'p', ciphertextSha256: [], groupsLeftOut: 0, tokenJti: 'jti-1', purpose: 'DUO:0000006', rowsExcludedByConsent: true, rho: 0.25, tokenRhoSpent: 0.25, tokenQueries: 1 }));` : ''}
    process.kill(process.pid, 'SIGKILL');
  `);
  return new Promise((resolve) => execFile(process.execPath, [script], (err) => resolve((err as { signal?: string } | null)?.signal ?? null)));
}

it.each([
  ['killed before its contribution was logged: refunded', false, { queries: 0, rhoSpent: 0 }, { released: 0, refunded: 1 }],
  ['killed after its contribution was logged: the charge stands', true, { queries: 1, rhoSpent: 0.25 }, { released: 1, refunded: 0 }],
])('a node %s', async (_name, logged, want, recovered) => {
  const dir = mkdtempSync(join(tmpdir(), 'veilgate-ledger-'));
  dirs.push(dir);
  const path = join(dir, 'node.sqlite');
  const { secretKey } = generateSigningKey();
  expect(await chargeAndDie(path, secretKey, logged)).toBe('SIGKILL');
  const state = openNodeState(path, { origin: 'veilgate/hosp-a', signingKey: secretKey });
  try {
    const ledger = openNodeLedger(state.db);
    // What the killed process left: the charge, still reserved.
    expect(ledger.usage('jti-1')).toEqual({ queries: 1, rhoSpent: 0.25 });
    expect(ledger.pending()).toHaveLength(1);
    expect(await recoverCharges(ledger, state.log)).toEqual(recovered);
    expect(ledger.usage('jti-1')).toEqual(want);
    expect(ledger.pending()).toEqual([]);
    // Settled once: a second start changes nothing.
    expect(await recoverCharges(ledger, state.log)).toEqual({ released: 0, refunded: 0 });
    expect(ledger.usage('jti-1')).toEqual(want);
    // A charge refunded or settled is never refunded (again).
    ledger.refund({ queryId: 'q1', jti: 'jti-1', rhoNano: 250_000_000 });
    expect(ledger.usage('jti-1')).toEqual(want);
  } finally {
    state.close();
  }
});
