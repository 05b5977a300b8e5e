/**
 * A node as a witness of the hub's log (DESIGN §9): it co-signs a hub checkpoint only after
 * checking the hub's signature on it and its consistency (RFC 9162 §2.1.4.2) with the last
 * checkpoint it co-signed — so the hub cannot show different histories to different parties
 * (a split view) or rewrite its past without every witness refusing. A refusal is recorded
 * in the node's own log and reported in its log lines.
 */
import {
  LogVerificationError, fromBase64, fromBase64Url, signCosignature, toBase64, verifyCheckpoint, verifyConsistency, parseSignedNote,
  type components,
} from '@veilgate/sdk';
import { GatewayError } from '../errors.ts';
import { auditEvent, type NodeEvent } from '../audit/events.ts';
import type { NodeState } from './node-state.ts';

type WitnessRequest = components['schemas']['WitnessRequest'];

/** Why a witness refused: a 409 with the size it last co-signed. */
export class WitnessRefusal extends GatewayError {
  readonly lastSize: number;
  constructor(message: string, lastSize: number, field = 'checkpoint') {
    super('checkpoint_inconsistent', message, { field });
    this.name = 'WitnessRefusal';
    this.lastSize = lastSize;
  }
}

/**
 * Checks and co-signs a hub checkpoint; returns the node's signature line.
 *
 * @example
 * const line = cosign(state, { nodeId, signingKey, hubOrigin, hubLogKey }, body, log);
 */
export function cosign(
  state: NodeState,
  self: { nodeId: string; signingKey: string; hubOrigin: string; hubLogKey: string },
  request: WitnessRequest,
  log: (line: string) => void,
): string {
  let checkpoint;
  try {
    checkpoint = verifyCheckpoint(request.checkpoint, { logKey: { name: self.hubOrigin, publicKey: fromBase64Url(self.hubLogKey) } });
  } catch (cause) {
    throw new GatewayError('invalid_request', 'checkpoint: not a checkpoint signed by this node\'s hub', { field: 'checkpoint', cause });
  }
  const size = Number(checkpoint.size);
  const last = state.lastWitnessed(self.hubOrigin) ?? { size: 0, root: new Uint8Array() };
  if (request.fromSize !== last.size) {
    throw new WitnessRefusal(`fromSize: this witness last co-signed size ${last.size}, not ${request.fromSize}`, last.size, 'fromSize');
  }
  const refuse = (reason: string): never => {
    const event = auditEvent<NodeEvent>({
      type: 'witness.refused', origin: self.hubOrigin, treeSize: size, rootHash: toBase64(checkpoint.root),
      lastSize: last.size, lastRootHash: toBase64(last.root), reason,
    });
    state.record(event);
    log(`witness: REFUSED checkpoint of ${self.hubOrigin} at size ${size}: ${reason} (last co-signed size ${last.size})`);
    throw new WitnessRefusal(`checkpoint at size ${size} is not consistent with size ${last.size}: ${reason}`, last.size);
  };
  if (size < last.size) refuse('the log shrank');
  if (last.size > 0) {
    try {
      verifyConsistency({ size1: BigInt(last.size), size2: BigInt(size), root1: last.root, root2: checkpoint.root, proof: request.proof.map(fromBase64) });
    } catch (err) {
      refuse(err instanceof LogVerificationError ? err.message : 'consistency proof does not verify');
    }
  }
  const body = parseSignedNote(request.checkpoint).body;
  // c2sp.org/tlog-cosignature (cosignature/v1): "as of this time, the largest consistent tree I saw".
  const line = signCosignature(body, { name: self.nodeId, secretKey: fromBase64Url(self.signingKey) });
  state.recordWitnessed(self.hubOrigin, { size, root: checkpoint.root }, auditEvent<NodeEvent>({ type: 'witness.cosigned', origin: self.hubOrigin, treeSize: size, rootHash: toBase64(checkpoint.root) }));
  return line;
}
