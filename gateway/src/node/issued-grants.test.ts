/**
 * The node's record of granted budgets (protocol.md §9): the ceiling is held per researcher
 * and dataset across unexpired grants, checked again atomically with the insert, and the
 * record survives a restart (it lives in the node's state file).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../crypto/ed25519.ts';
import { openIssuedGrants } from './issued-grants.ts';
import { openNodeState, type NodeState } from './node-state.ts';

const now = new Date('2026-06-01T00:00:00Z');
const later = (days: number) => new Date(now.getTime() + days * 86_400_000).toISOString();
let dir: string;
let state: NodeState | undefined;

function open(): NodeState {
  state = openNodeState(join(dir, 'node.sqlite'), { origin: 'veilgate/test', signingKey: generateSigningKey().secretKey });
  return state;
}
afterEach(() => {
  state?.close();
  state = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const grant = (jti: string, researcher: string, budgets: [string, number][], expiresAt = later(30)) => ({
  requestId: `ar_${jti}`, researcher, token: `token-${jti}`, jti, expiresAt, contentSha256: `sha-${jti}`,
  budgets: budgets.map(([dataset, budget]) => ({ dataset, budget, ceiling: 2 })),
});

describe('issued grants', () => {
  it('sums unexpired grants per researcher and dataset and refuses past the ceiling', () => {
    dir = mkdtempSync(join(tmpdir(), 'vg-grants-'));
    const issued = openIssuedGrants(open().db);
    issued.record(grant('old', 'r1', [['d1', 2]], later(-1)), new Date(later(-2))); // expired since
    issued.record(grant('t1', 'r1', [['d1', 1.5], ['d2', 0.5]]), now);
    issued.record(grant('t2', 'r2', [['d1', 2]]), now); // another researcher: not counted for r1
    expect(issued.grantedRho('r1', 'd1', now)).toBe(1.5);
    expect(() => issued.record(grant('t3', 'r1', [['d2', 0.1], ['d1', 0.6]]), now)).toThrow(expect.objectContaining({ code: 'budget_exhausted', field: 'privacyBudget' }));
    // Nothing of the refused grant was recorded, not even its first dataset.
    expect(issued.grantedRho('r1', 'd2', now)).toBe(0.5);
    expect(issued.byRequest('ar_t3')).toBeUndefined();
    issued.record(grant('t4', 'r1', [['d1', 0.5]]), now); // exactly at the ceiling
    expect(issued.grantedRho('r1', 'd1', now)).toBe(2);
  });

  it('survives a restart of the node', () => {
    dir = mkdtempSync(join(tmpdir(), 'vg-grants-'));
    openIssuedGrants(open().db).record(grant('t1', 'r1', [['d1', 1.9]]), now);
    state!.close();
    const issued = openIssuedGrants(open().db);
    expect(issued.byRequest('ar_t1')).toEqual({ token: 'token-t1', jti: 't1', expiresAt: later(30), contentSha256: 'sha-t1' });
    expect(() => issued.checkCeilings('r1', [{ dataset: 'd1', budget: 0.2, ceiling: 2 }], now)).toThrow(expect.objectContaining({ code: 'budget_exhausted' }));
  });
});
