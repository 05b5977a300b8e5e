/** `veilgate keys generate|register`: a researcher's BFV key pair. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { VeilgateClient, exportKeyPair, generateHeKeyPair, importKeyPair } from '@veilgate/sdk';
import { hubCredentials, parseCommand, UsageError } from '../usage.ts';

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
  throw new UsageError(`keys: expected 'generate' or 'register', got '${sub ?? ''}'`);
}
