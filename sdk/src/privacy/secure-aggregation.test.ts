import { describe, expect, it } from 'vitest';
import { addMask, derivePairKey, deriveMask } from './masks.ts';
import { generateMaskKeyPair } from './x25519-keys.ts';
import { addSelfMask, defaultThreshold, minimumThreshold, thresholdProblem, unmaskingCorrection } from './secure-aggregation.ts';
import { combineSeedShares, openSeedShare, sealSeedShares } from './secure-aggregation-shares.ts';

const t = 1099511480321n;
const SLOTS = 16;

/** n nodes with fresh X25519 keys; node i's true aggregate is i + 1 in every slot (the oracle). */
function network(n: number) {
  const ids = Array.from({ length: n }, (_, i) => `hosp-${String(i).padStart(3, '0')}`);
  const keys = ids.map(() => generateMaskKeyPair());
  return { ids, keys, queryId: 'q_0123456789abcdef' };
}

async function contribute(net: ReturnType<typeof network>, i: number, threshold: number) {
  const { ids, keys, queryId } = net;
  const peers = ids.flatMap((id, j) => (j === i ? [] : [{ id, publicKey: keys[j]!.publicKey }]));
  const x = new BigUint64Array(SLOTS).fill(BigInt(i + 1));
  const pair = deriveMask({ self: ids[i]!, secretKey: keys[i]!.secretKey, peers, queryId, participants: ids, ciphertextIndex: 0, slots: SLOTS, plainModulus: t });
  const y = addMask(x, pair, t);
  const seed = crypto.getRandomValues(new Uint8Array(32));
  addSelfMask(y, seed, 0, t, false);
  const sealed = await sealSeedShares({ self: ids[i]!, secretKey: keys[i]!.secretKey, peers, queryId, participants: ids, seed, threshold: threshold - 1 });
  return { y, seed, sealed };
}

describe('dropout-tolerant secure aggregation (Bonawitz et al. 2017 §4, protocol.md §10.1)', () => {
  it('thresholds: a strict majority, ≥ 3 below n, everyone below 10 by default', () => {
    expect(minimumThreshold(2)).toBe(2);
    expect(minimumThreshold(3)).toBe(3);
    expect(minimumThreshold(4)).toBe(3);
    expect(minimumThreshold(200)).toBe(101);
    expect(defaultThreshold(9)).toBe(9);
    expect(defaultThreshold(10)).toBe(7);
    expect(defaultThreshold(200)).toBe(134);
    expect(thresholdProblem(10, 5)).toMatch(/below the minimum 6/);
    expect(thresholdProblem(10, 6)).toBeUndefined();
  });

  it('the survivors\' sum, unmasked with revealed seed shares and pair keys, equals the oracle', async () => {
    const n = 8;
    const threshold = 5;
    const net = network(n);
    const dropped = new Set([2, 5]);
    const all = await Promise.all(net.ids.map((_, i) => contribute(net, i, threshold)));
    const survivors = net.ids.map((_, i) => i).filter((i) => !dropped.has(i));
    const sum = new BigUint64Array(SLOTS);
    for (const i of survivors) sum.set(addMask(sum, all[i]!.y, t));
    // Unmasking round: each survivor u opens the shares sealed to it by the other survivors, and reveals K_{u,v} for dropped v.
    const seeds: Uint8Array[] = [];
    for (const v of survivors) {
      const shares: Uint8Array[] = [];
      for (const u of survivors) {
        if (u === v) continue;
        const sealed = all[v]!.sealed.find((s) => s.to === net.ids[u])!;
        shares.push(await openSeedShare({ self: net.ids[u]!, secretKey: net.keys[u]!.secretKey, peerPublicKey: net.keys[v]!.publicKey, queryId: net.queryId, participants: net.ids, share: sealed }));
      }
      seeds.push(await combineSeedShares(shares.slice(0, threshold - 1)));
      expect(seeds.at(-1)).toEqual(all[v]!.seed);
    }
    const pairKeys = survivors.flatMap((u) => [...dropped].map((v) => ({
      survivor: net.ids[u]!, dropped: net.ids[v]!,
      key: derivePairKey({ secretKey: net.keys[u]!.secretKey, peerPublicKey: net.keys[v]!.publicKey, queryId: net.queryId, participants: net.ids }),
    })));
    const result = addMask(sum, unmaskingCorrection({ seeds, pairKeys }, 0, SLOTS, t), t);
    const oracle = BigInt(survivors.reduce((s, i) => s + i + 1, 0));
    expect([...result]).toEqual(new Array(SLOTS).fill(oracle));
  });

  it('a live node\'s contribution with every pair key revealed is still uniform (its self mask stays)', async () => {
    // The lying hub's best case: every peer revealed K_{u,v} for v, no seed share — y_v − pads = x_v + PRG(b_v).
    const net = network(6);
    const v = 1;
    const { y } = await contribute(net, v, 4);
    const pairKeys = net.ids.flatMap((id, u) => (u === v ? [] : [{
      survivor: id, dropped: net.ids[v]!,
      key: derivePairKey({ secretKey: net.keys[u]!.secretKey, peerPublicKey: net.keys[v]!.publicKey, queryId: net.queryId, participants: net.ids }),
    }]));
    // Remove v's pads: v added the negation of what each survivor u added for it.
    const pads = unmaskingCorrection({ seeds: [], pairKeys }, 0, SLOTS, t);
    const stripped = addMask(y, pads.map((p) => (p === 0n ? 0n : t - p)), t);
    const truth = BigInt(v + 1);
    expect([...stripped].filter((s) => s === truth)).toEqual([]);
    // With its seed as well (what a hub holding both kinds would get), the true value appears: the test can fail.
  });

  it('a revealed pair key does not open the seed share sealed on the same pair', async () => {
    const net = network(4);
    const { sealed } = await contribute(net, 0, 3);
    const box = sealed.find((s) => s.to === net.ids[1])!;
    const stranger = generateMaskKeyPair();
    await expect(openSeedShare({ self: net.ids[1]!, secretKey: stranger.secretKey, peerPublicKey: net.keys[0]!.publicKey, queryId: net.queryId, participants: net.ids, share: box })).rejects.toThrow();
    await expect(openSeedShare({ self: net.ids[1]!, secretKey: net.keys[1]!.secretKey, peerPublicKey: net.keys[0]!.publicKey, queryId: 'q_other0123456789', participants: net.ids, share: box })).rejects.toThrow();
    await expect(openSeedShare({ self: net.ids[1]!, secretKey: net.keys[1]!.secretKey, peerPublicKey: net.keys[0]!.publicKey, queryId: net.queryId, participants: net.ids, share: box })).resolves.toHaveLength(33);
  });
});
