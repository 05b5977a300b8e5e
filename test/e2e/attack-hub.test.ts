/**
 * A malicious hub (issue 10, DESIGN §2: the hub is untrusted for privacy). The test plays the
 * hub's operator: it holds the hub's signing key and database, captures what the real hub
 * sends, and signs compute requests of its own to a real node over HTTP — alone, or with a
 * colluding researcher who signs whatever the hub asks. Each attack must be refused by the
 * node, and the node's own ledger must hold whatever the hub's database says.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  VeilgateClient, createQueryProof, decodeConsentTokenUnverified, generateHeKeyPair, generateIdentityKey, signConsentToken,
  tokenDigests, type ComputeRequestBody, type IdentityKey, type Query,
} from '@veilgate/sdk';
import { fromSeed } from '../../gateway/src/consent/node-keys.ts';
import { generateSigningKey, signMessage } from '../../gateway/src/crypto/ed25519.ts';
import { createAccount } from '../../gateway/src/hub/accounts.ts';
import { postSigned } from '../../gateway/src/hub/node-call.ts';
import { maskKeyDigest, maskKeyOf } from '../../gateway/src/node/mask-key.ts';
import type { HubConfig, NodeConfig } from '../../gateway/src/server/config.ts';
import { startTestSpace, type TestSpace } from '../support/space.ts';

let t: TestSpace;
let hub: HubConfig;
const nodes: Record<string, NodeConfig> = {};
/** Compute requests the real hub sent, captured on the wire. */
const captured: ComputeRequestBody[] = [];
const realFetch = globalThis.fetch;
let template: ComputeRequestBody;
let nodeA: string;
let datasetA: string;

const count = (datasets: string[]): Query => ({ datasets, aggregates: [{ op: 'count' }] });

beforeAll(async () => {
  t = await startTestSpace({ patientsPerHospital: 300, differentialPrivacy: true });
  hub = JSON.parse(readFileSync(join(t.dir, 'hub.json'), 'utf8')) as HubConfig;
  for (const f of readdirSync(join(t.dir, 'nodes')).filter((n) => n.endsWith('.json'))) {
    const c = JSON.parse(readFileSync(join(t.dir, 'nodes', f), 'utf8')) as NodeConfig;
    nodes[c.id] = c;
  }
  // The hub's operator taps the wire (the hub runs in this process).
  globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    if (String(input).endsWith('/v1/compute') && init?.body) {
      const raw = typeof init.body === 'string' ? init.body : new TextDecoder().decode(init.body as Uint8Array);
      captured.push(JSON.parse(raw) as ComputeRequestBody);
    }
    return realFetch(input, init);
  }) as typeof fetch;
  datasetA = t.datasets[0]!;
  nodeA = t.datasetHospital[datasetA]!;
  await t.client.query({ datasets: t.datasets, aggregates: [{ op: 'count' }] }, { keys: t.keys, identity: t.identity, rho: 0.01 });
  template = captured.find((c) => c.datasets.includes(datasetA))!;
  expect(template.participants.length).toBe(new Set(Object.values(t.datasetHospital)).size);
});
afterAll(async () => {
  globalThis.fetch = realFetch;
  await t?.close();
});

const registration = (node: string) => hub.nodes.find((n) => n.id === node)!;
let serial = 0;
const queryId = () => `q_attack${String(++serial).padStart(12, '0')}`;

/** A compute request as the malicious hub sends it, signed with the hub's real key. */
async function send(body: ComputeRequestBody, node = nodeA): Promise<{ status: number; code?: string; field?: string }> {
  const res = await postSigned(registration(node), '/v1/compute', hub.signingKey, body, { accept: 'application/vnd.veilgate.contribution' });
  if (res.ok) return { status: res.status };
  const err = (await res.json()) as { code: string; field?: string };
  return { status: res.status, code: err.code, field: err.field };
}

/** What the colluding researcher signs: any statement the hub asks for. */
async function signed(identity: IdentityKey, body: Omit<ComputeRequestBody, 'dpop' | 'tokenDigests'>, tokens: string[]): Promise<ComputeRequestBody> {
  const dpop = await createQueryProof({
    identity, htu: `${t.space.hubUrl}/v1/queries`, request: { keyId: body.keyId, query: body.query, purpose: body.purpose, rho: body.rho, tokens },
    participants: body.participants.map((p) => p.node),
  });
  return { ...body, dpop, tokenDigests: tokenDigests(tokens) };
}

/** A request for node A alone, built from the captured one. */
function alone(changes: Partial<ComputeRequestBody> = {}): Omit<ComputeRequestBody, 'dpop' | 'tokenDigests'> {
  const self = template.participants.find((p) => p.node === nodeA)!;
  const { dpop: _d, tokenDigests: _t, ...rest } = template;
  return { ...rest, queryId: queryId(), issuedAt: Date.now(), query: count([datasetA]), datasets: [datasetA], participants: [self], ...changes };
}

describe('the node computes only what the researcher signed', () => {
  it('a captured compute request replayed under a new query id is refused', async () => {
    const r = await send({ ...template, queryId: queryId(), issuedAt: Date.now() });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(['dpop_replayed', 'dpop_stale']).toContain(r.code);
  });

  it("the researcher's proof cannot be used with another HE key (one the hub holds)", async () => {
    const hubKeys = await generateHeKeyPair();
    const stooge = await createAccount(t.space.hub.store, { name: 'hub stooge', role: 'researcher' });
    await new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: stooge.apiKey }).registerKey(hubKeys);
    // The researcher signs a real statement for its own key; the hub swaps the key.
    const honest = await signed(t.identity, alone(), [template.token]);
    const r = await send({ ...honest, keyId: hubKeys.keyId });
    expect(r).toMatchObject({ status: 403, code: 'statement_mismatch' });
  });

  it('the hub cannot drop the other participants (no masks) or raise ρ on its own', async () => {
    // Signed for all participants at ρ = 0.01; the hub sends it to A alone, then with a larger ρ.
    const full = await signed(t.identity, { ...alone(), participants: template.participants, rho: 0.01 }, [template.token]);
    expect(await send({ ...full, participants: full.participants.filter((p) => p.node === nodeA) })).toMatchObject({ status: 403, code: 'statement_mismatch' });
    const again = await signed(t.identity, { ...alone(), participants: template.participants, rho: 0.01 }, [template.token]);
    expect(await send({ ...again, rho: 5 })).toMatchObject({ status: 403, code: 'statement_mismatch' });
  });

  it('two signed queries under one query id (shared masks, whose difference would unmask) are refused the second time', async () => {
    // The colluding researcher signs two different statements; the hub sends both as one query id,
    // across all participants, so the pairwise masks of the two contributions would be equal.
    const id = queryId();
    const first = await signed(t.identity, { ...alone({ queryId: id }), participants: template.participants, rho: 0.01 }, [template.token]);
    const firstCall = await send(first);
    expect(firstCall.code ?? 'ok').not.toBe('replayed_request');
    const other = { ...count([datasetA]), filter: { op: 'range' as const, element: 'age', min: 200 } };
    const second = await signed(t.identity, { ...alone({ queryId: id, query: other }), participants: template.participants, rho: 0.01 }, [template.token]);
    expect(await send({ ...second, issuedAt: Date.now() })).toMatchObject({ status: 409, code: 'replayed_request', field: 'queryId' });
  });

  it("with a colluding researcher, ρ above the node's per-query ceiling is refused", async () => {
    const r = await send(await signed(t.identity, alone({ rho: 5 }), [template.token]));
    expect(r).toMatchObject({ status: 422, code: 'rho_too_large', field: 'rho' });
  });

  it('a participant the hub invented, or a real peer with a mask key the hub holds, is refused', async () => {
    const fake = generateSigningKey();
    const fakeMask = maskKeyOf(fake.secretKey).publicKey;
    const invented = { node: 'hosp-hub', maskKey: fakeMask, signingKey: fake.publicKey, maskKeySignature: signMessage(fake.secretKey, maskKeyDigest('hosp-hub', fakeMask)) };
    const self = template.participants.find((p) => p.node === nodeA)!;
    const r1 = await send(await signed(t.identity, alone({ participants: [self, invented] }), [template.token]));
    expect(r1).toMatchObject({ status: 403, code: 'participant_unknown' });
    // A real peer, listed with the hub's own mask key: signed by the hub, not by the peer.
    const peer = template.participants.find((p) => p.node !== nodeA)!;
    const swapped = { ...peer, maskKey: fakeMask, maskKeySignature: signMessage(fake.secretKey, maskKeyDigest(peer.node, fakeMask)) };
    const r2 = await send(await signed(t.identity, alone({ participants: [self, swapped] }), [template.token]));
    expect(r2).toMatchObject({ status: 403, code: 'mask_key_invalid' });
    // …or with the hub's signing key in place of the peer's pinned one.
    const rekeyed = { ...swapped, signingKey: fake.publicKey };
    const r3 = await send(await signed(t.identity, alone({ participants: [self, rekeyed] }), [template.token]));
    expect(r3).toMatchObject({ status: 403, code: 'participant_unknown' });
  });
});

describe("the node's own policy reaches the researcher", () => {
  it('a ρ above the ceiling comes back as rho_too_large naming rho (422), and nothing is spent', async () => {
    const before = await t.client.balance();
    const err = await t.client.query(count([datasetA]), { keys: t.keys, identity: t.identity, rho: 0.3 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 422, code: 'rho_too_large', field: 'rho' });
    const after = await t.client.balance();
    expect(after.credits).toBe(before.credits);
    expect(after.grants.map((g) => g.spent)).toEqual(before.grants.map((g) => g.spent));
  });
});

describe("the node's own ledger holds, whatever the hub's database says", () => {
  it("a token's budget and quota are counted at the node; the hub's records do not matter", async () => {
    // A fresh grant for A with a small budget and quota (the colluding researcher's).
    const identity = await generateIdentityKey();
    const { grantAccess } = await import('../../gateway/src/demo/grant-access.ts');
    await grantAccess({ hubUrl: t.space.hubUrl, researcher: t.space.accounts.researcher, operators: t.space.accounts.operators }, identity, {
      datasets: [datasetA], privacyBudget: 0.05, queryQuota: 1000,
    });
    const grants = await new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.researcher }).grants();
    const token = grants.find((g) => g.identityJkt === identity.jkt && g.node === nodeA)!.token;
    // The hub never records these queries: it sends them straight to the node.
    const outcomes: (string | undefined)[] = [];
    for (let i = 0; i < 7; i++) {
      outcomes.push((await send(await signed(identity, alone({ token, rho: 0.01 }), [token]))).code);
    }
    // ρ = 0.05 buys five queries of 0.01 at the node, then nothing.
    expect(outcomes.slice(0, 5)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(outcomes.slice(5)).toEqual(['budget_exhausted', 'budget_exhausted']);
    // The node's log says what it charged, per token, for an auditor to hold against the hub.
    const state = new DatabaseSync(nodes[nodeA]!.stateFile, { readOnly: true });
    const row = state.prepare('SELECT spent_nano, queries FROM token_ledger WHERE jti = ?').get(decodeConsentTokenUnverified(token).claims.jti) as { spent_nano: number; queries: number };
    state.close();
    expect(row).toEqual({ spent_nano: 50_000_000, queries: 5 });
  });

  it('a quota is counted at the node even when the hub resets its own count', async () => {
    const identity = await generateIdentityKey();
    const { grantAccess } = await import('../../gateway/src/demo/grant-access.ts');
    await grantAccess({ hubUrl: t.space.hubUrl, researcher: t.space.accounts.researcher, operators: t.space.accounts.operators }, identity, {
      datasets: [datasetA], queryQuota: 2,
    });
    const client = new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.researcher });
    await client.query(count([datasetA]), { keys: t.keys, identity, rho: 0.01 });
    await client.query(count([datasetA]), { keys: t.keys, identity, rho: 0.01 });
    // The hub's operator resets the quota in its database…
    const db = new DatabaseSync(hub.store);
    db.prepare('UPDATE access_decisions SET queries_used = 0').run();
    db.close();
    // …the hub lets the third query through, the node does not.
    const err = await client.query(count([datasetA]), { keys: t.keys, identity, rho: 0.01 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(JSON.stringify(err)).not.toContain('"status":200');
    const token = (await client.grants()).find((g) => g.identityJkt === identity.jkt && g.node === nodeA)!.token;
    const state = new DatabaseSync(nodes[nodeA]!.stateFile, { readOnly: true });
    const row = state.prepare('SELECT queries FROM token_ledger WHERE jti = ?').get(decodeConsentTokenUnverified(token).claims.jti) as { queries: number };
    state.close();
    expect(row.queries).toBe(2);
  });
});

describe('the hub holds a presented token to the one it logged', () => {
  it('a token re-signed with the node key under the same jti and a wider scope is refused', async () => {
    const real = decodeConsentTokenUnverified(template.token).claims;
    const wider = await signConsentToken(
      {
        iss: real.iss, sub: real.sub, aud: real.aud, request: real.request, approvals: real.approvals, cnf: real.cnf, jti: real.jti,
        vg_scope: { ...real.vg_scope, budget: 1_000_000, quota: 1_000_000 },
        durationSeconds: 3600,
      },
      fromSeed(nodes[nodeA]!.signingKey).signingKey(),
    );
    const err = await t.client.query(count([datasetA]), { keys: t.keys, identity: t.identity, tokens: [wider], rho: 0.01 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'token_revoked', field: 'tokens[0]' });
  });
});
