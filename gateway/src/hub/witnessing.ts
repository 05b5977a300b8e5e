/**
 * Gathering witness cosignatures for the hub's checkpoints (DESIGN §9, protocol.md §8). The hub
 * asks every node to cosign its newest checkpoint, sending a consistency proof from the size
 * that node last cosigned: at start (so the checkpoint the hub starts with is witnessed without
 * waiting for a write), shortly after each write, and on a periodic tick that retries absent
 * witnesses and renews cosignatures older than `refreshMs`. Cosignatures are timestamped
 * (c2sp.org/tlog-cosignature): an auditor counts only recent ones, so renewing them is what
 * keeps an honest, idle log verifiable, and what a rolled-back log cannot get (every honest
 * witness refuses a smaller tree). Rounds run one at a time; a round requested while one runs
 * is merged into the next. A checkpoint is witnessed once k of n nodes cosigned it.
 */
import { fromBase64Url, parseSignedNote, toBase64, verifyCosignature } from '@veilgate/sdk';
import type { SignedLog } from '../audit/signed-log.ts';
import type { NodeRegistration } from './catalog.ts';
import { postSigned } from './node-call.ts';

/** How often a witness is asked again for the same checkpoint (auditors accept cosignatures up to an hour old). */
export const WITNESS_REFRESH_MS = 10 * 60_000;
/** How often the background tick looks for a checkpoint to witness. */
export const WITNESS_TICK_MS = 15_000;

/** The background witnessing of one log. */
export interface Witnessing {
  /** Schedules a round (returns at once). */
  kick(): void;
  /** Resolves when no round is running or scheduled. */
  settle(): Promise<void>;
  /** Runs a round now and then on every tick (idempotent). */
  start(): void;
  /** Stops the tick (a running round finishes; `settle` waits for it). */
  stop(): void;
}

/**
 * Witnessing of `log` by the registered nodes.
 *
 * @example
 * const witnessing = createWitnessing({ log: store.audit, nodes: () => deps.nodes, hubSigningKey, logLine: console.log });
 * witnessing.start();
 */
export function createWitnessing(deps: {
  log: SignedLog; nodes: () => NodeRegistration[]; hubSigningKey: string; timeoutMs?: number; delayMs?: number; refreshMs?: number; tickMs?: number;
  logLine: (line: string) => void;
}): Witnessing {
  let running: Promise<void> | undefined;
  let again = false;
  let tick: ReturnType<typeof setInterval> | undefined;
  const refreshMs = deps.refreshMs ?? WITNESS_REFRESH_MS;
  // Rounds start a little after the first kick, so a burst of queries costs one round of
  // witness requests rather than one per query.
  const delay = deps.delayMs ?? 200;

  async function ask(node: NodeRegistration, note: string, size: number, fromSize: number): Promise<{ status: number; body: Record<string, unknown> }> {
    const proof = fromSize > 0 && fromSize < size ? await deps.log.consistencyProof(fromSize, size) : [];
    const res = await postSigned(node, '/v1/witness', deps.hubSigningKey, { checkpoint: note, fromSize, proof: proof.map(toBase64) }, { timeoutMs: deps.timeoutMs ?? 10_000 });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
  }

  /** When this node's valid cosignature on the note was made (ms), if there is one. */
  function cosignedAt(note: string, node: NodeRegistration): number | undefined {
    try {
      const time = verifyCosignature(note, { name: node.id, publicKey: fromBase64Url(node.signingKey) });
      return time === undefined ? undefined : time * 1000;
    } catch {
      return undefined; // a line that does not verify is replaced by a fresh one
    }
  }

  async function round(): Promise<void> {
    const cp = await deps.log.latestCheckpoint();
    if (cp.size === 0) return;
    const now = Date.now();
    await Promise.all(
      deps.nodes().map(async (node) => {
        const at = cosignedAt(cp.note, node);
        if (at !== undefined && now - at < refreshMs) return;
        try {
          let fromSize = await deps.log.lastCosignedSize(node.id);
          let answer = await ask(node, cp.note, cp.size, fromSize);
          // The witness may have co-signed a size we did not record (e.g. a lost answer). Ask
          // again from its size even when that is larger than ours: it then refuses the smaller
          // log and records the refusal in its own log (protocol.md §8).
          const lastSize = answer.body.lastSize;
          if (answer.status === 409 && typeof lastSize === 'number' && lastSize !== fromSize) {
            fromSize = lastSize;
            answer = await ask(node, cp.note, cp.size, fromSize);
          }
          const line = answer.body.signature;
          if (answer.status !== 200 || typeof line !== 'string') {
            deps.logLine(`witness ${node.id} did not co-sign checkpoint ${cp.size}: ${String(answer.body.code ?? answer.status)}`);
            return;
          }
          const body = parseSignedNote(cp.note).body;
          let signed = false;
          try {
            signed = verifyCosignature(`${body}\n${line.endsWith('\n') ? line : `${line}\n`}`, { name: node.id, publicKey: fromBase64Url(node.signingKey) }) !== undefined;
          } catch {
            signed = false;
          }
          if (!signed) {
            deps.logLine(`witness ${node.id} returned a signature that does not verify for checkpoint ${cp.size}`);
            return;
          }
          await deps.log.addCosignature(cp.size, node.id, line.trimEnd());
        } catch (err) {
          deps.logLine(`witness ${node.id} unreachable for checkpoint ${cp.size} (${err instanceof Error ? err.name : 'error'})`);
        }
      }),
    );
  }

  function loop(): Promise<void> {
    return (async () => {
      do {
        again = false;
        await new Promise((r) => setTimeout(r, delay));
        await round().catch((err: unknown) => deps.logLine(`witnessing round failed (${err instanceof Error ? err.name : 'error'})`));
      } while (again);
      running = undefined;
    })();
  }

  const kick = (): void => {
    if (running) again = true;
    else running = loop();
  };
  return {
    kick,
    start() {
      if (tick) return;
      kick();
      tick = setInterval(kick, deps.tickMs ?? WITNESS_TICK_MS);
      tick.unref(); // never keeps the process alive
    },
    stop() {
      if (tick) clearInterval(tick);
      tick = undefined;
    },
    async settle() {
      while (running) await running;
    },
  };
}
