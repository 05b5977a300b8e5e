/**
 * Scale benchmark (`npm run bench:scale`): what one more institution costs, for 3 / 26 / 100 /
 * 200 institutions (issue 14; protocol.md §10.1).
 *
 * Part 1 — hub CPU per contribution, measured on real material: n real contributions (BFV
 * ciphertexts under a real key, real Ed25519 signatures, real sealed seed shares), then the
 * hub's own work on them timed alone in this process: decode + hash + signature check + add
 * (every query), and, under a dropout threshold, rebuilding each survivor's seed from t − 1
 * shares and the plaintext correction (BFV add_plain).
 * Part 2 — a node's masking work as its peers grow: pairwise masks (one X25519 + HKDF + PRF
 * per peer) and sealing n − 1 seed shares.
 * Part 3 — the query end to end: a demo data space with N hospitals in this one process
 * (all nodes grouped in it; 2 cores), DP on, the SDK's default threshold, p50 of `runs`
 * queries and bytes per node.
 *
 * Usage: npm run bench:scale [-- --sizes 3,26,100,200 --runs 5 --patients 40 --no-e2e]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  VeilgateClient, addCiphertexts, addSelfMask, combineSeedShares, contributionDigest, decodeContribution, defaultThreshold, deriveMask, encodeContribution,
  encryptSlots, generateHeKeyPair, generateIdentityKey, generateMaskKeyPair, loadHe, loadPublicKey, sealSeedShares, sha256Hex,
  unmaskingCorrection, type ContributionClaims, type Query,
} from '@veilgate/sdk';
import { startDataSpace } from '../../gateway/src/demo/data-space.ts';
import { grantAccess } from '../../gateway/src/demo/grant-access.ts';
import { generateSigningKey, signMessage, verifyMessage } from '../../gateway/src/crypto/ed25519.ts';
import { split } from 'shamir-secret-sharing';

const { values } = parseArgs({
  options: { sizes: { type: 'string', default: '3,26,100,200' }, runs: { type: 'string', default: '5' }, patients: { type: 'string', default: '40' }, 'no-e2e': { type: 'boolean', default: false }, 'all-answer': { type: 'boolean', default: false } },
});
const sizes = values.sizes.split(',').map(Number);
const runs = Number(values.runs);
const USED_SLOTS = 12; // groups × columns of the bench query (2 sexes × 6 columns)

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number): string => x.toFixed(2);

async function hubCost(n: number) {
  const he = await loadHe();
  const keys = await generateHeKeyPair();
  const pk = await loadPublicKey(keys.publicKey);
  const t = defaultThreshold(n);
  const signer = generateSigningKey();
  const vector = new BigUint64Array(he.slotCount);
  // One real ciphertext re-used n times is the same work for the hub as n different ones.
  const ct = await encryptSlots(pk, vector);
  const claims: ContributionClaims = { v: 1, queryId: 'q_bench0000000000000', node: 'hosp-x', datasets: ['hosp-x.cardiometabolic'], keyId: keys.keyId, planSha256: '0'.repeat(64), ciphertextSha256: [sha256Hex(ct)], suppressed: [] };
  const envelope = encodeContribution({ ...claims, signature: signMessage(signer.secretKey, contributionDigest(claims)) }, [ct]);
  const envelopes = Array.from({ length: n }, () => envelope);
  const started = performance.now();
  const cts: Uint8Array[] = [];
  for (const e of envelopes) {
    const { header, ciphertexts } = decodeContribution(e);
    if (sha256Hex(ciphertexts[0]!) !== header.ciphertextSha256[0]) throw new Error('hash');
    if (!verifyMessage(signer.publicKey, contributionDigest(header), header.signature)) throw new Error('sig');
    cts.push(ciphertexts[0]!);
  }
  const sum = await addCiphertexts(cts);
  const verifyAdd = performance.now() - started;
  // Dropout tolerance: t − 1 shares per survivor, the correction, add_plain.
  let unmask = 0;
  if (t < n) {
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const shares = await split(seed, n - 1, t - 1);
    const u0 = performance.now();
    const seeds: Uint8Array[] = [];
    for (let i = 0; i < n; i++) seeds.push(await combineSeedShares(shares.slice(0, t - 1)));
    const correction = unmaskingCorrection({ seeds, pairKeys: [] }, 0, USED_SLOTS, he.plainModulus);
    const full = new BigUint64Array(he.slotCount);
    full.set(correction);
    await addCiphertexts([sum]); // load + save as in the correction
    unmask = performance.now() - u0;
  }
  return { n, t, verifyAddPerContribution: verifyAdd / n, unmaskPerContribution: unmask / n, envelopeBytes: envelope.length };
}

async function nodeCost(n: number) {
  const he = await loadHe();
  const self = generateMaskKeyPair();
  const peers = Array.from({ length: n - 1 }, (_, i) => ({ id: `p${String(i).padStart(3, '0')}`, publicKey: generateMaskKeyPair().publicKey }));
  const participants = ['self', ...peers.map((p) => p.id)];
  const t = defaultThreshold(n);
  const m0 = performance.now();
  const mask = deriveMask({ self: 'self', secretKey: self.secretKey, peers, queryId: 'q_bench0000000000000', participants, ciphertextIndex: 0, slots: USED_SLOTS, plainModulus: he.plainModulus });
  const pairwise = performance.now() - m0;
  let sealing = 0;
  let shareBytes = 0;
  if (t < n) {
    const s0 = performance.now();
    const seed = crypto.getRandomValues(new Uint8Array(32));
    addSelfMask(mask, seed, 0, he.plainModulus, false);
    const sealed = await sealSeedShares({ self: 'self', secretKey: self.secretKey, peers, queryId: 'q_bench0000000000000', participants, seed, threshold: t - 1 });
    sealing = performance.now() - s0;
    shareBytes = JSON.stringify(sealed).length;
  }
  return { n, pairwise, sealing, shareBytes };
}

async function endToEnd(n: number) {
  const dir = mkdtempSync(join(tmpdir(), 'veilgate-scale-'));
  const space = await startDataSpace({ dir, port: 0, hospitals: n, patientsPerHospital: Number(values.patients), fanOutTimeoutMs: 120_000, researcherCredits: 10_000_000 });
  try {
    const client = new VeilgateClient({ baseUrl: space.hubUrl, apiKey: space.accounts.researcher });
    const keys = await generateHeKeyPair();
    await client.registerKey(keys);
    const identity = await generateIdentityKey();
    const g0 = performance.now();
    await grantAccess({ hubUrl: space.hubUrl, researcher: space.accounts.researcher, operators: space.accounts.operators, operatorKeys: space.accounts.operatorKeys }, identity);
    const grantMs = performance.now() - g0;
    const datasets = space.hospitals.flatMap((h) => h.datasets.filter((d) => d.classification !== 'core').map((d) => d.id));
    const query: Query = { datasets, groupBy: [{ element: 'sex' }], aggregates: [{ op: 'count' }, { op: 'mean', element: 'bmi' }] };
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < runs + 1; i++) {
      const q0 = performance.now();
      const cpu0 = process.cpuUsage();
      const out = await client.query(query, { keys, identity, ...(values['all-answer'] ? { threshold: n } : {}) });
      if (i > 0) times.push(performance.now() - q0); // first run warms caches (keys, catalog)
      if (process.env.VEILGATE_BENCH_DEBUG) console.error(`run ${i}: ${(performance.now() - q0).toFixed(0)} ms wall, cpu ${((process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1000).toFixed(0)} ms, timings ${JSON.stringify(out.timings)}`);
      bytes = out.contributions.reduce((s, c) => s + (c.bytes ?? 0), 0) / out.contributions.length;
    }
    return { n, p50: median(times), grantMs, bytesPerNode: bytes };
  } finally {
    await space.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`# Scale bench — ${new Date().toISOString()} — sizes ${sizes.join(', ')}`);
console.log('\n## Hub CPU per contribution (measured alone)\n\n| n | threshold | verify + add (ms) | unmasking (ms) | total (ms) | envelope bytes |\n| ---: | ---: | ---: | ---: | ---: | ---: |');
for (const n of sizes) {
  const r = await hubCost(n);
  console.log(`| ${n} | ${r.t} | ${ms(r.verifyAddPerContribution)} | ${ms(r.unmaskPerContribution)} | ${ms(r.verifyAddPerContribution + r.unmaskPerContribution)} | ${r.envelopeBytes} |`);
}
console.log('\n## Node masking work as peers grow\n\n| n | pairwise masks (ms) | self mask + sealing n−1 shares (ms) | sealed shares in header (bytes) |\n| ---: | ---: | ---: | ---: |');
for (const n of sizes) {
  const r = await nodeCost(n);
  console.log(`| ${n} | ${ms(r.pairwise)} | ${ms(r.sealing)} | ${r.shareBytes} |`);
}
if (!values['no-e2e']) {
  console.log(`\n## End to end, all nodes in this process (${values.patients} patients each, DP on, default threshold)\n\n| n | p50 (ms) | per institution (ms) | bytes per node | grants set-up (ms) |\n| ---: | ---: | ---: | ---: | ---: |`);
  for (const n of sizes) {
    const r = await endToEnd(n);
    console.log(`| ${n} | ${r.p50.toFixed(0)} | ${(r.p50 / n).toFixed(1)} | ${r.bytesPerNode.toFixed(0)} | ${r.grantMs.toFixed(0)} |`);
  }
}

