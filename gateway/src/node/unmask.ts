/**
 * The node's side of the unmasking round (spec/protocol.md §10.1; Bonawitz et al., CCS 2017,
 * §4 and Fig. 4 round 4 "Unmasking"). For a query it contributed to under a dropout threshold,
 * the hub names the survivors and the dropped; the node reveals, per peer, EITHER its share of
 * the peer's self-mask seed (survivor) OR its per-query pair key with the peer (dropped).
 *
 * "Never both" is the security of the scheme: a hub holding a live node v's contribution that
 * got v's seed (shares from peers told "v answered") and every pair key of v (from peers told
 * "v dropped") would strip both masks and read v's aggregate. So the first answer about each
 * peer is recorded durably — in the same transaction that checks it, before anything is
 * revealed — and every later request must agree with it (`unmask_refused` otherwise), across
 * restarts. A request with fewer survivors than the signed threshold is refused too: the sum of
 * fewer than t institutions is not what the researcher signed for (and one alone is its own).
 */
import type { DatabaseSync } from 'node:sqlite';
import { derivePairKey, fromBase64Url, openSeedShare, thresholdProblem, toBase64Url, type components } from '@veilgate/sdk';
import { GatewayError } from '../errors.ts';

type UnmaskRequest = components['schemas']['UnmaskRequest'];
type UnmaskResponse = components['schemas']['UnmaskResponse'];

/** A contribution made under a dropout threshold, as the node recorded it when it computed. */
export interface SecAggRound {
  queryId: string;
  /** Every participant with its (verified, pinned) mask key. */
  participants: { node: string; maskKey: string }[];
  threshold: number;
}

/** The node's durable record of its secure-aggregation rounds and of what it revealed. */
export interface UnmaskRecords {
  /** Records a round when the contribution is released (before the hub can ask to unmask it). */
  recordRound(round: SecAggRound): void;
  /** Answers the hub's unmasking request, or refuses it (see the module comment). */
  unmask(request: UnmaskRequest, self: { id: string; maskSecret: Uint8Array }): Promise<UnmaskResponse>;
}

/**
 * Opens the records in the node's state database.
 *
 * @example
 * const unmasking = openUnmaskRecords(state.db);
 * unmasking.recordRound({ queryId, participants, threshold });
 * const answer = await unmasking.unmask(body, { id: nodeId, maskSecret });
 */
export function openUnmaskRecords(db: DatabaseSync): UnmaskRecords {
  db.exec(`CREATE TABLE IF NOT EXISTS secagg_rounds (query_id TEXT PRIMARY KEY, participants TEXT NOT NULL, threshold INTEGER NOT NULL, created_at TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS secagg_reveals (query_id TEXT NOT NULL, peer TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('seed-share', 'pair-key')), PRIMARY KEY (query_id, peer))`);
  const insertRound = db.prepare('INSERT INTO secagg_rounds (query_id, participants, threshold, created_at) VALUES (?, ?, ?, ?)');
  const getRound = db.prepare('SELECT participants, threshold FROM secagg_rounds WHERE query_id = ?');
  const getReveal = db.prepare('SELECT kind FROM secagg_reveals WHERE query_id = ? AND peer = ?');
  const insertReveal = db.prepare('INSERT OR IGNORE INTO secagg_reveals (query_id, peer, kind) VALUES (?, ?, ?)');

  /** Checks every peer against what was revealed before and records the new choices, atomically. */
  const commit = (queryId: string, choices: [string, 'seed-share' | 'pair-key'][]): void => {
    db.exec('BEGIN IMMEDIATE');
    try {
      for (const [peer, kind] of choices) {
        const before = (getReveal.get(queryId, peer) as { kind: string } | undefined)?.kind;
        if (before !== undefined && before !== kind) {
          // Bonawitz §4: an honest user never reveals both kinds of shares for the same user.
          throw new GatewayError('unmask_refused', `dropped: this node already revealed ${before === 'seed-share' ? 'its seed share' : 'its pair key'} for ${peer} in this query; it never reveals both`, { field: kind === 'pair-key' ? 'dropped' : 'survivors' });
        }
        insertReveal.run(queryId, peer, kind);
      }
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  };

  return {
    recordRound(round) {
      insertRound.run(round.queryId, JSON.stringify(round.participants), round.threshold, new Date().toISOString());
    },
    async unmask(request, self) {
      const row = getRound.get(request.queryId) as { participants: string; threshold: number } | undefined;
      if (!row) throw new GatewayError('not_found', `queryId: this node made no dropout-tolerant contribution to ${request.queryId}`, { field: 'queryId' });
      const participants = JSON.parse(row.participants) as SecAggRound['participants'];
      const ids = participants.map((p) => p.node);
      const named = [...request.survivors, ...request.dropped];
      if (new Set(named).size !== named.length || named.length !== ids.length || named.some((id) => !ids.includes(id))) {
        throw new GatewayError('invalid_request', 'survivors: survivors and dropped must be exactly the query\'s participants, each once', { field: 'survivors' });
      }
      if (!request.survivors.includes(self.id)) throw new GatewayError('invalid_request', 'survivors: this node answered and must be listed among the survivors', { field: 'survivors' });
      if (request.survivors.length < row.threshold || thresholdProblem(ids.length, row.threshold)) {
        throw new GatewayError('too_few_participants', `survivors: ${request.survivors.length} of ${ids.length} answered, below the signed threshold ${row.threshold}`, { field: 'survivors' });
      }
      const peers = request.survivors.filter((id) => id !== self.id);
      commit(request.queryId, [...peers.map((id) => [id, 'seed-share'] as [string, 'seed-share']), ...request.dropped.map((id) => [id, 'pair-key'] as [string, 'pair-key'])]);
      const keyOf = (id: string): Uint8Array => fromBase64Url(participants.find((p) => p.node === id)!.maskKey);
      const seedShares: UnmaskResponse['seedShares'] = [];
      for (const sealed of request.shares) {
        if (!peers.includes(sealed.from) || sealed.to !== self.id) continue; // only survivors' shares, sealed to this node
        let share: Uint8Array;
        try {
          share = await openSeedShare({ self: self.id, secretKey: self.maskSecret, peerPublicKey: keyOf(sealed.from), queryId: request.queryId, participants: ids, share: sealed });
        } catch {
          throw new GatewayError('invalid_request', `shares: the share from ${sealed.from} was not sealed to this node for this query`, { field: 'shares' });
        }
        seedShares.push({ from: sealed.from, share: toBase64Url(share) });
        share.fill(0);
      }
      const pairKeys = request.dropped.map((peer) => {
        const key = derivePairKey({ secretKey: self.maskSecret, peerPublicKey: keyOf(peer), queryId: request.queryId, participants: ids });
        const out = { peer, key: toBase64Url(key) };
        key.fill(0);
        return out;
      });
      return { node: self.id, queryId: request.queryId, seedShares, pairKeys };
    },
  };
}
