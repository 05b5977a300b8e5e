/**
 * A plain RFC 9449 client interoperates (issue 10): an independent Python implementation
 * (test/support/dpop_client.py, written from RFC 9449/8037/8785 with the `cryptography`
 * package, sharing no code with the SDK) signs a one-token query — `ath` is the SHA-256 of
 * the token itself, as RFC 9449 §4.2 says — and the hub and the node accept it; the result
 * decrypts to the pooled count of the DuckDB oracle.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { decryptSlots, fromBase64, type Query } from '@veilgate/sdk';
import { startTestSpace, type TestSpace } from '../support/space.ts';

const script = fileURLToPath(new URL('../support/dpop_client.py', import.meta.url));
const python = spawnSync('python3', ['-c', 'import cryptography'], { encoding: 'utf8' });

let t: TestSpace;
beforeAll(async () => {
  t = await startTestSpace({ patientsPerHospital: 200 });
});
afterAll(async () => t?.close());

it.skipIf(python.status !== 0)('an independent Python RFC 9449 client runs a one-token query', async () => {
  const dataset = t.datasets[0]!;
  const query: Query = { datasets: [dataset], filter: { op: 'range', element: 'age', min: 40 }, aggregates: [{ op: 'count' }] };
  const { purpose, tokens } = await t.client.tokensFor(query, t.identity);
  expect(tokens).toHaveLength(1);
  const input = {
    url: `${t.space.hubUrl}/v1/queries`, apiKey: t.space.accounts.researcher, d: t.identity.privateJwk.d, x: t.identity.publicJwk.x,
    body: { keyId: t.keys.keyId, query, purpose, tokens }, participants: [t.datasetHospital[dataset]],
  };
  // Asynchronously: the hub runs in this process and must answer while Python waits.
  const run = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    const child = execFile('python3', [script], { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(err) : resolve({ stdout, stderr })));
    child.stdin!.end(JSON.stringify(input));
  });
  expect(run.stderr).toBe('');
  const answer = JSON.parse(run.stdout) as { status: number; body: { ciphertexts: string[] } };
  expect(answer.status).toBe(200);
  const slots = await decryptSlots(t.keys.secretKey, fromBase64(answer.body.ciphertexts[0]!));
  const [row] = await t.oracle.query(`SELECT count(*) AS n FROM pooled_t WHERE hospital = '${t.datasetHospital[dataset]}' AND age >= 40`);
  expect(slots[0]).toBe(BigInt(row!.n as number | bigint));
});
