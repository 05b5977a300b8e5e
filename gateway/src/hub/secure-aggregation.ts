/**
 * The hub's side of dropout-tolerant secure aggregation (spec/protocol.md §10.1; Bonawitz et
 * al., CCS 2017, §4, Fig. 4 rounds 2 and 4). Under a signed threshold t below the n
 * participants:
 *
 * 1. **Collect** (round 2, "MaskedInputCollection"): every node is asked; each contribution is
 *    verified alone (fan-out.ts) and a node that fails, times out or is refused is *dropped*
 *    instead of failing the query. Fewer than t survivors: `too_few_participants`.
 * 2. **Unmask** (round 4, "Unmasking"): each survivor gets the survivor/dropped split and the
 *    seed shares the other survivors sealed to it, and answers with seed shares (survivors) and
 *    pair keys (dropped) — never both for one peer, which the node enforces (node/unmask.ts).
 * 3. **Correct**: the hub rebuilds each survivor's seed from t − 1 shares and adds
 *    −(Σ PRG(b_u) + Σ sign(u, v)·PRF(K_{u,v})) to the encrypted sum as a plaintext (BFV
 *    add_plain): only the survivors' aggregate remains, still encrypted to the researcher.
 *
 * The hub learns no more than Bonawitz's server: the seeds and the dropped nodes' pair keys
 * are pads, the sum stays encrypted, and a node's own contribution keeps its self mask unless
 * the hub gets both kinds of secrets for it, which honest peers never give.
 */
import {
  combineSeedShares, fromBase64Url, loadCiphertext, loadHe, unmaskingCorrection,
  type ComputeRequestBody, type SealedShare, type SlotPlan, type Unmasking, type components,
} from '@veilgate/sdk';
import { GatewayError } from '../errors.ts';
import { fanOut, type VerifiedContribution } from './fan-out.ts';
import { nodeRefusal, postSigned } from './node-call.ts';
import type { NodeRegistration } from './catalog.ts';

type UnmaskResponse = components['schemas']['UnmaskResponse'];

/** Options of {@link collectContributions}: those of `fanOut` and the signed threshold. */
export type CollectOptions = Parameters<typeof fanOut>[1] & { threshold: number };

/** The seed shares a verified contribution carried (outside its signed claims; ChaCha20-Poly1305 authenticates them). */
function sealedSharesOf(c: VerifiedContribution): SealedShare[] {
  const raw = (c.header as unknown as { seedShares?: unknown }).seedShares;
  if (!Array.isArray(raw)) throw new GatewayError('node_error', `node ${c.node} sent no seed shares under a dropout threshold`, { node: c.node });
  return raw.filter((s): s is SealedShare => typeof s === 'object' && s !== null && s.from === c.node && typeof s.to === 'string' && typeof s.box === 'string');
}

/**
 * Round 2: asks every node, keeps the verified contributions, and names the rest as dropped.
 *
 * @example
 * const { contributions, dropped } = await collectContributions(requests, { ...fanOutOptions, threshold: 134 });
 */
export async function collectContributions(
  requests: { node: NodeRegistration; body: ComputeRequestBody }[],
  options: CollectOptions,
): Promise<{ contributions: VerifiedContribution[]; dropped: { node: string; error: unknown }[] }> {
  const settled = await Promise.allSettled(requests.map((r) => fanOut([r], options)));
  const contributions: VerifiedContribution[] = [];
  const dropped: { node: string; error: unknown }[] = [];
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled') contributions.push(s.value[0]!);
    else dropped.push({ node: requests[i]!.node.id, error: s.reason });
  });
  if (contributions.length < options.threshold) {
    // Below the threshold nothing is unmasked: the survivors' contributions stay uniformly masked.
    const first = dropped[0]?.error;
    throw new GatewayError(
      'too_few_participants',
      `threshold: ${contributions.length} of ${requests.length} institutions answered, fewer than the signed threshold ${options.threshold}; missing: ${dropped.slice(0, 20).map((d) => d.node).join(', ')}${dropped.length > 20 ? ` and ${dropped.length - 20} more` : ''}`,
      { field: 'threshold', ...(first ? { cause: first } : {}) },
    );
  }
  return { contributions, dropped };
}

function checkAnswer(answer: unknown, node: string, queryId: string): UnmaskResponse {
  const a = answer as Partial<UnmaskResponse> | null;
  const ok = a !== null && typeof a === 'object' && a.node === node && a.queryId === queryId && Array.isArray(a.seedShares) && Array.isArray(a.pairKeys) &&
    a.seedShares.every((s) => typeof s?.from === 'string' && typeof s.share === 'string') && a.pairKeys.every((k) => typeof k?.peer === 'string' && typeof k.key === 'string');
  if (!ok) throw new GatewayError('node_error', `node ${node} sent a malformed unmasking answer`, { node });
  return a as UnmaskResponse;
}

/**
 * Rounds 4 and the correction: asks the survivors to unmask, rebuilds the seeds, and returns
 * the encrypted sum with every remaining mask removed.
 *
 * @example
 * const ciphertexts = await unmaskSum(sum, { queryId, plan, threshold, survivors, dropped, registry, hubSigningKey, timeoutMs });
 */
export async function unmaskSum(
  sum: Uint8Array[],
  round: {
    queryId: string; plan: SlotPlan; threshold: number; contributions: VerifiedContribution[]; dropped: string[];
    registry: Map<string, NodeRegistration>; hubSigningKey: string; timeoutMs: number;
  },
): Promise<Uint8Array[]> {
  const survivors = round.contributions.map((c) => c.node);
  const sealed = round.contributions.flatMap(sealedSharesOf);
  const signal = AbortSignal.timeout(round.timeoutMs);
  const answers = await Promise.allSettled(survivors.map(async (node) => {
    const registration = round.registry.get(node)!;
    const body = { queryId: round.queryId, survivors, dropped: round.dropped, shares: sealed.filter((s) => s.to === node && s.from !== node) };
    let res: Response;
    try {
      res = await postSigned(registration, '/v1/unmask', round.hubSigningKey, body, { signal, accept: 'application/json' });
    } catch (cause) {
      throw new GatewayError('node_unavailable', `node ${node} is unreachable for the unmasking round`, { node, cause });
    }
    if (!res.ok) throw await nodeRefusal(node, res, 'the unmasking round');
    return checkAnswer(await res.json().catch(() => null), node, round.queryId);
  }));
  const answered = answers.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
  const need = round.threshold - 1;
  const unmasking: Unmasking = { seeds: [], pairKeys: [] };
  for (const v of survivors) {
    const shares = answered.flatMap((a) => a.seedShares.filter((s) => s.from === v).map((s) => fromBase64Url(s.share)));
    if (shares.length < need) {
      const refused = answers.find((a) => a.status === 'rejected');
      throw new GatewayError('too_few_participants', `threshold: only ${shares.length} seed shares of ${v} came back, ${need} needed`, { field: 'threshold', ...(refused?.status === 'rejected' ? { cause: refused.reason } : {}) });
    }
    unmasking.seeds.push(await combineSeedShares(shares.slice(0, need)));
  }
  for (const u of survivors) {
    const answer = answered.find((a) => a.node === u);
    for (const v of round.dropped) {
      const key = answer?.pairKeys.find((k) => k.peer === v);
      // Our deviation from Bonawitz (protocol.md §10.1): a dropped peer's pads come from the survivors' own pair keys.
      if (!key) throw new GatewayError('node_unavailable', `node ${u} did not reveal its pair key with dropped node ${v}`, { node: u });
      unmasking.pairKeys.push({ survivor: u, dropped: v, key: fromBase64Url(key.key) });
    }
  }
  try {
    return await correctSum(sum, unmasking, round.plan);
  } finally {
    for (const s of unmasking.seeds) s.fill(0);
    for (const k of unmasking.pairKeys) k.key.fill(0);
  }
}

/** Adds −(masks) to each ciphertext of the sum, as a BFV plaintext (SEAL add_plain). */
async function correctSum(sum: Uint8Array[], unmasking: Unmasking, plan: SlotPlan): Promise<Uint8Array[]> {
  const he = await loadHe();
  const used = plan.groupCount * plan.columns.length;
  const out: Uint8Array[] = [];
  for (let i = 0; i < sum.length; i++) {
    const n = Math.max(0, Math.min(he.slotCount, used - i * he.slotCount));
    const slots = new BigUint64Array(he.slotCount);
    slots.set(unmaskingCorrection(unmasking, i, n, he.plainModulus), 0);
    const ct = await loadCiphertext(sum[i]!);
    const plain = new he.seal.Plaintext();
    try {
      he.encoder.encode(slots, plain);
      he.evaluator.addPlainInplace(ct, plain);
      out.push(new Uint8Array(ct.saveToArray(he.seal.ComprModeType.none)));
    } finally {
      plain.delete();
      ct.delete();
    }
  }
  return out;
}
