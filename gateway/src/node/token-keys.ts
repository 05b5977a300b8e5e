/**
 * The node's consent-token keys, persisted in its state file. The first key derives from
 * the node's Ed25519 signing seed; `veilgate keys rotate` adds keys. The set is read from
 * the state file on every use, so a rotation by the CLI takes effect in a running node.
 */
import { createNodeKeySet, fromSeed, type NodeKeySet } from '../consent/node-keys.ts';
import type { NodeState } from './node-state.ts';

/** Loads (creating if needed) the key set of a node. */
function load(state: NodeState, seed: string): NodeKeySet {
  const saved = state.loadKeys();
  if (saved) return createNodeKeySet(JSON.parse(saved));
  const set = fromSeed(seed);
  state.saveKeys(JSON.stringify(set.toJSON()));
  return set;
}

/**
 * A live view of the node's key set.
 *
 * @example
 * const keys = tokenKeys(state, signingKey); keys.jwks();
 */
export function tokenKeys(state: NodeState, seed: string): NodeKeySet {
  load(state, seed);
  const live = () => load(state, seed);
  return {
    current: () => live().current(),
    signingKey: () => live().signingKey(),
    lookup: (kid: string) => live().lookup(kid),
    jwks: () => live().jwks(),
    rotate: () => {
      const set = live();
      const key = set.rotate();
      state.saveKeys(JSON.stringify(set.toJSON()));
      return key;
    },
    prune: () => {
      const set = live();
      const dropped = set.prune();
      state.saveKeys(JSON.stringify(set.toJSON()));
      return dropped;
    },
    get maxTokenLifetimeSeconds() {
      return live().maxTokenLifetimeSeconds;
    },
    toJSON: () => live().toJSON(),
  };
}
