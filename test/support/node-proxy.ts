/**
 * A misbehaving network in front of a real node, for fault tests: it forwards requests to
 * the node and can delay its answers or rewrite the contribution envelope on the way back.
 */
import { createServer } from 'node:http';
import { listen, type Running } from '../../gateway/src/server/config.ts';

/** How the proxy misbehaves. */
export interface ProxyFaults {
  /** Delay before answering a compute request. */
  delayMs?: number;
  /** Rewrites the node's contribution envelope. */
  mutate?: (envelope: Uint8Array) => Uint8Array;
  /** Answers a compute request with this instead of the node's contribution. */
  refuse?: { status: number; body: string };
}

/**
 * Starts a proxy to `target` (a node's base URL).
 *
 * @example
 * const proxy = await startNodeProxy(node.url, { delayMs: 2000 });
 */
export async function startNodeProxy(target: string, faults: ProxyFaults): Promise<Running> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'content-length', 'connection'].includes(k)) headers[k] = v;
    try {
      const upstream = await fetch(`${target}${req.url}`, { method: req.method, headers, ...(req.method === 'POST' ? { body: Buffer.concat(chunks) } : {}) });
      let body: Uint8Array = new Uint8Array(await upstream.arrayBuffer());
      if (req.url === '/v1/compute') {
        if (faults.refuse) {
          res.writeHead(faults.refuse.status, { 'content-type': 'application/json' });
          res.end(faults.refuse.body);
          return;
        }
        if (faults.delayMs) await new Promise((r) => setTimeout(r, faults.delayMs));
        if (faults.mutate && upstream.ok) body = faults.mutate(body);
      }
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.destroy();
    }
  });
  return listen(server, 0, '127.0.0.1');
}
