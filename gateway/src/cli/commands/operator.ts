/**
 * `veilgate operator keygen|enroll`: an operator's own Ed25519 key (protocol.md §9). The
 * operator keeps the key file; the institution enrols its public half into its node's
 * configuration — out of band, never through the hub, so the hub cannot slip in a key of its
 * own. The node signs consent tokens only on approvals signed by enrolled keys.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { exportOperatorKey, generateOperatorKey, importOperatorKey, jwkThumbprint } from '@veilgate/sdk';
import { readConfig, type NodeConfig } from '../../server/config.ts';
import { parseCommand, UsageError } from '../usage.ts';

const PUBLIC_KEY = /^[A-Za-z0-9_-]{43}$/;

/**
 * The demo's key file of the operator with this API key (demo.json lists both in the same
 * order), or undefined when the demo does not know the operator.
 *
 * @example
 * const file = demoOperatorKeyFile(apiKey);
 */
export function demoOperatorKeyFile(apiKey: string | undefined): string | undefined {
  const demoPath = process.env.VEILGATE_DEMO ?? '.veilgate/demo.json';
  if (!apiKey || !existsSync(demoPath)) return undefined;
  const demo = JSON.parse(readFileSync(demoPath, 'utf8')) as { accounts?: { operators?: Record<string, string[]>; operatorKeys?: Record<string, string[]> } };
  for (const [node, keys] of Object.entries(demo.accounts?.operators ?? {})) {
    const i = keys.indexOf(apiKey);
    if (i >= 0) return demo.accounts?.operatorKeys?.[node]?.[i];
  }
  return undefined;
}

/** `veilgate operator keygen --out FILE [--account ID]` · `veilgate operator enroll --node-config FILE --account ID (--public-key X | --key-file FILE)` */
export async function runOperator(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub === 'keygen') {
    const { values } = parseCommand(rest, { out: { type: 'string', default: 'operator-key.json' }, account: { type: 'string' }, force: { type: 'boolean', default: false } });
    if (existsSync(values.out) && !values.force) throw new UsageError(`${values.out} exists; pass --force to replace it`);
    const pair = await generateOperatorKey();
    writeFileSync(values.out, exportOperatorKey(pair, values.account ? { account: values.account } : {}), { mode: 0o600 });
    console.log(`wrote ${values.out} (keep it private: it signs your decisions)\npublic key ${pair.publicJwk.x}\nkid ${pair.kid}\n` +
      'give the public key to your institution to enrol in its node (veilgate operator enroll)');
    return;
  }
  if (sub === 'enroll') {
    const { values } = parseCommand(rest, { 'node-config': { type: 'string' }, account: { type: 'string' }, 'public-key': { type: 'string' }, 'key-file': { type: 'string' } });
    const path = values['node-config'];
    if (!path || !values.account) throw new UsageError('operator enroll: --node-config FILE and --account ID are required');
    const publicKey = values['public-key'] ?? (values['key-file'] ? (await importOperatorKey(readFileSync(values['key-file'], 'utf8'))).publicJwk.x : undefined);
    if (!publicKey || !PUBLIC_KEY.test(publicKey)) throw new UsageError('operator enroll: --public-key must be the 32-byte Ed25519 key, base64url (or pass --key-file FILE)');
    const config = readConfig<NodeConfig>(path);
    const operators = config.operators ?? [];
    if (operators.some((o) => o.publicKey === publicKey)) throw new UsageError(`this key is already enrolled at node ${config.id}`);
    operators.push({ account: values.account, publicKey });
    writeFileSync(path, JSON.stringify({ ...config, operators }, null, 2), { mode: 0o600 });
    const kid = await jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: publicKey });
    console.log(`node ${config.id}: enrolled operator ${values.account} (kid ${kid}); ${operators.length} operator key(s). Restart the node to apply.`);
    return;
  }
  throw new UsageError(`operator: expected 'keygen' or 'enroll', got '${sub ?? ''}'`);
}
