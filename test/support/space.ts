/**
 * Test fixture: a real data space (hub + node HTTP servers on free ports, DuckDB datasets,
 * node-seal) in a temporary directory, with the plaintext oracle over the same rows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VeilgateClient, generateHeKeyPair, type HeKeyPair } from '@veilgate/sdk';
import { startDataSpace, type DataSpace } from '../../gateway/src/demo/data-space.ts';
import { createPooledOracle, type PooledOracle } from '../../gateway/src/demo/oracle.ts';

/** A started space with a registered researcher key and the oracle. */
export interface TestSpace {
  space: DataSpace;
  dir: string;
  client: VeilgateClient;
  keys: HeKeyPair;
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
export async function startTestSpace(options: { patientsPerHospital: number; hospitals?: number; seed?: number; fanOutTimeoutMs?: number }): Promise<TestSpace> {
  const dir = mkdtempSync(join(tmpdir(), 'veilgate-test-'));
  const lines: string[] = [];
  const space = await startDataSpace({ dir, port: 0, ...options, log: (line) => lines.push(line) });
  const oracle = await createPooledOracle(space.dataDir, space.hospitals);
  await oracle.query('CREATE TABLE pooled_t AS SELECT * FROM pooled');
  const client = new VeilgateClient({ baseUrl: space.hubUrl, apiKey: space.accounts.researcher });
  sharedKeys ??= generateHeKeyPair();
  const keys = await sharedKeys;
  await client.registerKey(keys);
  const datasetHospital: Record<string, string> = {};
  const minCell: Record<string, number> = {};
  for (const h of space.hospitals) {
    for (const d of h.datasets) {
      datasetHospital[d.id] = h.nodeId;
      minCell[h.nodeId] = d.minCellSize ?? 3;
    }
  }
  return {
    space, dir, client, keys, oracle, datasets: Object.keys(datasetHospital), datasetHospital, minCell, lines,
    async close() {
      oracle.close();
      await space.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
