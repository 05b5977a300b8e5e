/**
 * The demo's operator keys (protocol.md §9): every demo operator gets an Ed25519 key created
 * for them, written to a key file (mode 0600) whose path goes into demo.json, and its public
 * half enrolled in their node's configuration — out of band, as a real institution would, not
 * through the hub. Processes that started a data space also remember the keys by API key, and
 * how to enrol a new operator at each running node, so that tests sign like operators do.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportOperatorKey, generateOperatorKey, importOperatorKey, type OperatorKey } from '@veilgate/sdk';

/** Keys of the operators of the data spaces started in this process, by API key. */
const keysByApiKey = new Map<string, OperatorKey>();
/** How to enrol an operator at a node of a data space running in this process. */
const enrolmentByNode = new Map<string, (account: string, publicKey: string) => void>();

/**
 * Creates an operator's key, writes its file (mode 0600) and returns the path, the key and the
 * public key to enrol (base64url).
 *
 * @example
 * const { path, publicKey } = await createOperatorKeyFile(join(dir, 'operators'), 'hosp-a-1', account.id);
 */
export async function createOperatorKeyFile(dir: string, name: string, account: string): Promise<{ path: string; key: OperatorKey; publicKey: string }> {
  mkdirSync(dir, { recursive: true });
  const pair = await generateOperatorKey();
  const path = join(dir, `${name}.json`);
  const text = exportOperatorKey(pair, { account });
  writeFileSync(path, text, { mode: 0o600 });
  return { path, key: await importOperatorKey(text), publicKey: pair.publicJwk.x };
}

/**
 * Remembers a demo operator's key under their API key (this process only).
 *
 * @example
 * rememberOperatorKey(apiKey, key);
 */
export function rememberOperatorKey(apiKey: string, key: OperatorKey): void {
  keysByApiKey.set(apiKey, key);
}

/**
 * Registers how to enrol operators at a running node (this process only); returns the undo.
 *
 * @example
 * const undo = registerEnrolment('hosp-a', (account, publicKey) => config.operators!.push({ account, publicKey }));
 */
export function registerEnrolment(node: string, enrol: (account: string, publicKey: string) => void): () => void {
  enrolmentByNode.set(node, enrol);
  return () => {
    if (enrolmentByNode.get(node) === enrol) enrolmentByNode.delete(node);
  };
}

/**
 * The key an operator signs with: their key file if given, else the one remembered for their
 * API key, else — for an operator of a data space running in this process that has none yet
 * (a test's extra account) — a fresh key enrolled at their node, as `veilgate operator enroll`
 * would.
 *
 * @example
 * const key = await operatorKeyFor(apiKey, { account: me.id, node: me.node });
 */
export async function operatorKeyFor(apiKey: string, operator: { account: string; node?: string | undefined }, file?: string): Promise<OperatorKey> {
  if (file) return importOperatorKey(readFileSync(file, 'utf8'));
  const known = keysByApiKey.get(apiKey);
  if (known) return known;
  const enrol = operator.node ? enrolmentByNode.get(operator.node) : undefined;
  if (!enrol) throw new Error(`no operator key for account ${operator.account}: pass its key file`);
  const pair = await generateOperatorKey();
  enrol(operator.account, pair.publicJwk.x);
  const key = await importOperatorKey(exportOperatorKey(pair));
  keysByApiKey.set(apiKey, key);
  return key;
}
