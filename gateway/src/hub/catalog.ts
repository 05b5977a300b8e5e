/**
 * The hub's catalog, gathered from the nodes' public metadata (`GET /v1/node`) and cached
 * briefly. A node that does not answer, or answers with another id or signing key than it
 * was registered with, is listed as unavailable and its datasets are left out.
 */
import type { DatasetSummary } from '@veilgate/sdk';

/** A node as registered with the hub. */
export interface NodeRegistration {
  id: string;
  url: string;
  /** The node's Ed25519 public key (base64url), pinned at registration. */
  signingKey: string;
}

/** A snapshot of what the nodes serve. */
export interface CatalogSnapshot {
  datasets: Map<string, DatasetSummary>;
  /** Each available node's X25519 mask key (base64url) and that node's signature over it. */
  maskKeys: Map<string, { maskKey: string; maskKeySignature: string }>;
  unavailable: string[];
  fetchedAt: number;
}

/** Reads the catalog; `refresh` forces a new round of requests. */
export interface CatalogSource {
  get(options?: { refresh?: boolean }): Promise<CatalogSnapshot>;
}

/**
 * A cached catalog over registered nodes.
 *
 * @example
 * const catalog = createCatalog(() => nodes, { ttlMs: 10_000 });
 * (await catalog.get()).datasets.get('hosp-a.cardiometabolic');
 */
export function createCatalog(
  nodes: () => NodeRegistration[],
  options: { ttlMs?: number; timeoutMs?: number; log?: (line: string) => void } = {},
): CatalogSource {
  const ttl = options.ttlMs ?? 10_000;
  const timeout = options.timeoutMs ?? 5_000;
  let current: Promise<CatalogSnapshot> | undefined;
  const load = async (): Promise<CatalogSnapshot> => {
    const datasets = new Map<string, DatasetSummary>();
    const maskKeys = new Map<string, { maskKey: string; maskKeySignature: string }>();
    const unavailable: string[] = [];
    await Promise.all(
      nodes().map(async (node) => {
        try {
          const res = await fetch(`${node.url}/v1/node`, { signal: AbortSignal.timeout(timeout) });
          if (!res.ok) throw new Error(`status ${res.status}`);
          const info = (await res.json()) as { id: string; signingKey: string; maskKey: string; maskKeySignature: string; datasets: DatasetSummary[] };
          if (info.id !== node.id || info.signingKey !== node.signingKey) throw new Error('identity does not match its registration');
          maskKeys.set(node.id, { maskKey: info.maskKey, maskKeySignature: info.maskKeySignature });
          for (const d of info.datasets) if (d.node === node.id) datasets.set(d.id, d);
        } catch (err) {
          options.log?.(`catalog: node ${node.id} unavailable (${err instanceof Error ? err.message : 'error'})`);
          unavailable.push(node.id);
        }
      }),
    );
    return { datasets, maskKeys, unavailable: unavailable.sort(), fetchedAt: Date.now() };
  };
  return {
    async get({ refresh = false } = {}) {
      const snapshot = current && (await current);
      if (!refresh && snapshot && Date.now() - snapshot.fetchedAt < ttl) return snapshot;
      current = load();
      return current;
    },
  };
}
