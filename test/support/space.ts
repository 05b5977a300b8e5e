/**
 * Test fixture: a real data space (hub + node HTTP servers on free ports, DuckDB datasets,
 * node-seal) in a temporary directory, with the plaintext oracle over the same rows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VeilgateClient, generateHeKeyPair, generateIdentityKey, type HeKeyPair, type IdentityKey } from '@veilgate/sdk';
import { grantAccess } from '../../gateway/src/demo/grant-access.ts';
import { startDataSpace, type DataSpace } from '../../gateway/src/demo/data-space.ts';
import { createPooledOracle, type PooledOracle } from '../../gateway/src/demo/oracle.ts';

/** A started space with a registered researcher key and the oracle. */
export interface TestSpace {
  space: DataSpace;
  dir: string;
  client: VeilgateClient;
  keys: HeKeyPair;
  /** The researcher's identity key, with a grant on every queryable dataset. */
  identity: IdentityKey;
  oracle: PooledOracle;
  datasets: string[];
  /** dataset id → hospital (node) id */
  datasetHospital: Record<string, string>;
  /** hospital id → minimum cell size */
  minCell: Record<string, number>;
  lines: string[];
  close(): Promise<void>;
}

let sharedKeys: Promise<HeKeyPair> | undefined;

/**
 * Starts a data space for a test file.
 *
 * @example
 * const t = await startTestSpace({ patientsPerHospital: 500 });
 */
export async function startTestSpace(options: { patientsPerHospital: number; hospitals?: number; seed?: number; fanOutTimeoutMs?: number; differentialPrivacy?: boolean; cellKey?: boolean; rateLimitPerMinute?: number }): Promise<TestSpace> {
  const dir = mkdtempSync(join(tmpdir(), 'veilgate-test-'));
  const lines: string[] = [];
  // Exactness needs noise off and the operator's exact mode (no cell-key perturbation,
  // spec/protocol.md §10); suites about privacy and disclosure turn them on.
  const space = await startDataSpace({ dir, port: 0, differentialPrivacy: false, cellKey: false, ...options, log: (line) => lines.push(line) });
  // The oracle pools the rows a query can reach: core datasets are never computed on.
  const reachable = space.hospitals.map((h) => ({ ...h, datasets: h.datasets.filter((d) => d.classification !== 'core') }));
  const oracle = await createPooledOracle(space.dataDir, reachable);
  await oracle.query('CREATE TABLE pooled_t AS SELECT * FROM pooled');
  const client = new VeilgateClient({ baseUrl: space.hubUrl, apiKey: space.accounts.researcher });
  sharedKeys ??= generateHeKeyPair();
  const keys = await sharedKeys;
  await client.registerKey(keys);
  const identity = await generateIdentityKey();
  await grantAccess({ hubUrl: space.hubUrl, researcher: space.accounts.researcher, operators: space.accounts.operators }, identity);
  const datasetHospital: Record<string, string> = {};
  const minCell: Record<string, number> = {};
  for (const h of space.hospitals) {
    for (const d of h.datasets) {
      if (d.classification === 'core') continue; // listed, never queryable
      datasetHospital[d.id] = h.nodeId;
      minCell[h.nodeId] = d.minCellSize ?? (d.classification === 'important' ? 5 : 3);
    }
  }
  return {
    space, dir, client, keys, identity, oracle, datasets: Object.keys(datasetHospital), datasetHospital, minCell, lines,
    async close() {
      oracle.close();
      await space.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
