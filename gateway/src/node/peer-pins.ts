/**
 * The peers a node masks against (protocol.md §10, DESIGN §6): the participant list of a
 * computation comes from the hub, so a node trusts none of it. Each peer's Ed25519 signing key
 * is pinned — from the node's configuration (the data space's membership list, handed to
 * the institution out of band) or, where the configuration names no peers, on first use — and
 * the peer's X25519 mask key must carry that peer's signature. A hub that invents a peer, or
 * swaps a real peer's mask key for one it holds, is refused before anything is computed:
 * otherwise it would share the pairwise secret and could strip that pair's mask
 * (Bonawitz et al., CCS 2017, §4 assume authenticated key agreement between clients).
 */
import type { DatabaseSync } from 'node:sqlite';
import type { ComputeRequestBody } from '@veilgate/sdk';
import { GatewayError } from '../errors.ts';
import { verifyMessage } from '../crypto/ed25519.ts';
import { maskKeyDigest } from './mask-key.ts';

/** A peer node as the data space lists it. */
export interface PeerNode {
  id: string;
  /** Ed25519 public key, base64url. */
  signingKey: string;
}

/** The pinned peers of a node. */
export interface PeerPins {
  /** Throws unless every participant is a known peer (or this node) with a mask key it signed. */
  check(participants: ComputeRequestBody['participants']): void;
  /** The pinned signing key of a peer, if any. */
  pinned(node: string): string | undefined;
}

/**
 * Opens the pins: `configured` peers are authoritative (an unlisted node is refused); with
 * none configured, a peer's key is pinned the first time it is seen and must never change.
 *
 * @example
 * const pins = openPeerPins(state.db, { self: { id, signingKey, maskKey }, configured: config.peers });
 * pins.check(body.participants);
 */
export function openPeerPins(
  db: DatabaseSync,
  options: { self: { id: string; signingKey: string; maskKey: string }; configured?: PeerNode[] },
): PeerPins {
  db.exec('CREATE TABLE IF NOT EXISTS pinned_peers (node TEXT PRIMARY KEY, signing_key TEXT NOT NULL, pinned_at TEXT NOT NULL)');
  const get = db.prepare('SELECT signing_key FROM pinned_peers WHERE node = ?');
  const pin = db.prepare('INSERT OR IGNORE INTO pinned_peers (node, signing_key, pinned_at) VALUES (?, ?, ?)');
  const configured = options.configured ? new Map(options.configured.map((p) => [p.id, p.signingKey])) : undefined;
  const pinned = (node: string): string | undefined => {
    if (node === options.self.id) return options.self.signingKey;
    if (configured) return configured.get(node);
    return (get.get(node) as { signing_key: string } | undefined)?.signing_key;
  };
  return {
    pinned,
    check(participants) {
      const ids = participants.map((p) => p.node);
      if (new Set(ids).size !== ids.length) throw new GatewayError('invalid_request', 'participants: a node is listed twice', { field: 'participants' });
      const self = participants.find((p) => p.node === options.self.id);
      if (!self || self.maskKey !== options.self.maskKey || self.signingKey !== options.self.signingKey) {
        throw new GatewayError('invalid_request', 'participants: this node is not listed with its own keys', { field: 'participants' });
      }
      const firstSeen: PeerNode[] = [];
      participants.forEach((p, i) => {
        if (p.node === options.self.id) return;
        const known = pinned(p.node);
        if (known === undefined && configured) {
          throw new GatewayError('participant_unknown', `participants[${i}]: ${p.node} is not a member of this data space as this node knows it`, { field: `participants[${i}]` });
        }
        if (known !== undefined && known !== p.signingKey) {
          throw new GatewayError('participant_unknown', `participants[${i}]: ${p.node} is listed with another signing key than the one pinned`, { field: `participants[${i}]` });
        }
        if (!verifyMessage(p.signingKey, maskKeyDigest(p.node, p.maskKey), p.maskKeySignature)) {
          throw new GatewayError('mask_key_invalid', `participants[${i}]: the mask key of ${p.node} is not signed by ${p.node}`, { field: `participants[${i}].maskKeySignature` });
        }
        if (known === undefined) firstSeen.push({ id: p.node, signingKey: p.signingKey });
      });
      // Trust on first use, only once every participant checked out.
      const at = new Date().toISOString();
      for (const p of firstSeen) pin.run(p.id, p.signingKey, at);
    },
  };
}
