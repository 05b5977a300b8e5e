/** `veilgate keys generate|register`: a researcher's BFV key pair. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { VeilgateClient, exportKeyPair, generateHeKeyPair, importKeyPair } from '@veilgate/sdk';
import { hubCredentials, parseCommand, UsageError } from '../usage.ts';
import { readConfig, type NodeConfig } from '../../server/config.ts';
import { openNodeState } from '../../node/node-state.ts';
import { tokenKeys } from '../../node/token-keys.ts';
import { logOrigin } from '../../server/origin.ts';

/** `veilgate keys generate [--out FILE] [--force]` · `veilgate keys register --key FILE` */
export async function runKeys(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub === 'generate') {
    const { values } = parseCommand(rest, { out: { type: 'string', default: 'he-key.json' }, force: { type: 'boolean', default: false } });
    if (existsSync(values.out) && !values.force) throw new UsageError(`${values.out} exists; pass --force to replace it`);
    const pair = await generateHeKeyPair();
    writeFileSync(values.out, exportKeyPair(pair), { mode: 0o600 });
    console.log(`wrote ${values.out} (keep it private: it holds the secret key)\nkeyId ${pair.keyId}`);
    return;
  }
  if (sub === 'register') {
    const { values } = parseCommand(rest, { key: { type: 'string' }, hub: { type: 'string' }, 'api-key': { type: 'string' } });
    if (!values.key) throw new UsageError('--key FILE is required');
    const pair = importKeyPair(readFileSync(values.key, 'utf8'));
    const { hubUrl, apiKey } = hubCredentials(values);
    const key = await new VeilgateClient({ baseUrl: hubUrl, apiKey }).registerKey(pair);
    console.log(`registered keyId ${key.keyId} with ${hubUrl}`);
    return;
  }
  if (sub === 'rotate') {
    const { values } = parseCommand(rest, { 'node-config': { type: 'string' } });
    if (!values['node-config']) throw new UsageError('--node-config FILE is required');
    const config = readConfig<NodeConfig>(values['node-config']);
    const state = openNodeState(config.stateFile, { origin: logOrigin(config.id), signingKey: config.signingKey });
    try {
      const keys = tokenKeys(state, config.signingKey);
      const key = keys.rotate();
      console.log(`node ${config.id}: new consent-token key ${key.kid}; published keys: ${keys.jwks().keys.map((k) => k.kid).join(', ')}`);
    } finally {
      state.close();
    }
    return;
  }
  throw new UsageError(`keys: expected 'generate', 'register' or 'rotate', got '${sub ?? ''}'`);
}
