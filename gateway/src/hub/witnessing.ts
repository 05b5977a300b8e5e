/**
 * Gathering witness co-signatures for the hub's checkpoints (DESIGN §9). After the log grows
 * the hub asks every node to co-sign its newest checkpoint, sending a consistency proof from
 * the size that node last co-signed. Rounds run in the background, one at a time; a round
 * requested while one runs is merged into the next. A checkpoint is witnessed once k of n
 * nodes co-signed it.
 */
import { assembleNote, fromBase64Url, parseSignedNote, toBase64, verifyNoteSignature } from '@veilgate/sdk';
import type { SignedLog } from '../audit/signed-log.ts';
import type { NodeRegistration } from './catalog.ts';
import { postSigned } from './node-call.ts';

/** The background witnessing of one log. */
export interface Witnessing {
  /** Schedules a round (returns at once). */
  kick(): void;
  /** Resolves when no round is running or scheduled. */
  settle(): Promise<void>;
}

/**
 * Witnessing of `log` by the registered nodes.
 *
 * @example
 * const witnessing = createWitnessing({ log: store.audit, nodes: () => deps.nodes, hubSigningKey, log: console.log });
 * witnessing.kick();
 */
export function createWitnessing(deps: { log: SignedLog; nodes: () => NodeRegistration[]; hubSigningKey: string; timeoutMs?: number; delayMs?: number; logLine: (line: string) => void }): Witnessing {
  let running: Promise<void> | undefined;
  let again = false;
  // Rounds start a little after the first kick, so a burst of queries costs one round of
  // witness requests rather than one per query.
  const delay = deps.delayMs ?? 200;

  async function ask(node: NodeRegistration, note: string, size: number, fromSize: number): Promise<{ status: number; body: Record<string, unknown> }> {
    const proof = fromSize > 0 && fromSize < size ? await deps.log.consistencyProof(fromSize, size) : [];
    const res = await postSigned(node, '/v1/witness', deps.hubSigningKey, { checkpoint: note, fromSize, proof: proof.map(toBase64) }, { timeoutMs: deps.timeoutMs ?? 10_000 });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
  }

  async function round(): Promise<void> {
    const cp = await deps.log.latestCheckpoint();
    if (cp.size === 0) return;
    await Promise.all(
      deps.nodes().map(async (node) => {
        if (cp.cosigners.includes(node.id)) return;
        try {
          let fromSize = await deps.log.lastCosignedSize(node.id);
          let answer = await ask(node, cp.note, cp.size, fromSize);
          // The witness may have co-signed a size we did not record (e.g. a lost answer).
          const lastSize = answer.body.lastSize;
          if (answer.status === 409 && typeof lastSize === 'number' && lastSize !== fromSize && lastSize <= cp.size) {
            fromSize = lastSize;
            answer = await ask(node, cp.note, cp.size, fromSize);
          }
          const line = answer.body.signature;
          if (answer.status !== 200 || typeof line !== 'string') {
            deps.logLine(`witness ${node.id} did not co-sign checkpoint ${cp.size}: ${String(answer.body.code ?? answer.status)}`);
            return;
          }
          const body = parseSignedNote(cp.note).body;
          const signed = verifyNoteSignature(assembleNote(body, [line]), { name: node.id, publicKey: fromBase64Url(node.signingKey) });
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
        await round();
      } while (again);
      running = undefined;
    })();
  }

  return {
    kick() {
      if (running) again = true;
      else running = loop();
    },
    async settle() {
      while (running) await running;
    },
  };
}
