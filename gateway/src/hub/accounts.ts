/**
 * Hub accounts and API keys. A key is 256 random bits (`vg_` + base64url); the store holds
 * only its SHA-256, so a leaked database does not leak credentials. A plain hash suffices
 * for full-entropy keys (no dictionary to attack), and lookup by hash needs no comparison
 * of secrets in application code.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { sha256Hex, toBase64Url } from '@veilgate/sdk';
import { GatewayError } from '../errors.ts';
import type { AccountRow, Role, StateStore } from '../store/state-store.ts';
import { looksLikeJwt, oidcAccountId, type OidcIdentity } from './oidc.ts';

const API_KEY_PATTERN = /^vg_[A-Za-z0-9_-]{43}$/;

/** Hash of an API key as stored. */
export function hashApiKey(apiKey: string): string {
  return sha256Hex(new TextEncoder().encode(apiKey));
}

/**
 * Creates an account with a fresh API key; returns the key once.
 *
 * @example
 * const { account, apiKey } = await createAccount(store, { name: 'Dr. Li', role: 'researcher' });
 */
export async function createAccount(store: StateStore, input: { name: string; role: Role; node?: string }): Promise<{ account: AccountRow; apiKey: string }> {
  const apiKey = `vg_${toBase64Url(randomBytes(32))}`;
  const account = await store.createAccount({
    id: `acc_${randomUUID().replaceAll('-', '')}`,
    name: input.name,
    role: input.role,
    node: input.node ?? null,
    keyHash: hashApiKey(apiKey),
    createdAt: new Date().toISOString(),
  });
  return { account, apiKey };
}

/**
 * The account of an OIDC identity: provisioned on first sight (so that it has an
 * `account.created` log entry like any other), with the role and node its token states now.
 */
async function accountOfOidc(store: StateStore, identity: OidcIdentity): Promise<AccountRow> {
  const id = oidcAccountId(identity.issuer, identity.subject);
  const existing = (await store.findAccount(id)) ??
    (await store.createAccount({ id, name: identity.name, role: identity.role, node: identity.node, keyHash: `oidc:${id}`, createdAt: new Date().toISOString() }));
  return { ...existing, role: identity.role, node: identity.node };
}

/** The account of the current request, set by `authenticate`. */
export function accountOf(res: { locals: Record<string, unknown> }): AccountRow {
  return res.locals.account as AccountRow;
}

/**
 * Middleware: `Authorization: Bearer vg_…` (an API key) or, when configured, an OIDC access
 * token (a JWT from the external identity provider) → the account, or 401 `unauthorized`.
 *
 * @example
 * router.use(authenticate(store));
 */
export function authenticate(store: StateStore, oidc?: (bearer: string) => Promise<OidcIdentity>): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer (\S+)$/i.exec(header);
    if (match && oidc && looksLikeJwt(match[1]!)) {
      res.locals.account = await accountOfOidc(store, await oidc(match[1]!));
      next();
      return;
    }
    if (!match || !API_KEY_PATTERN.test(match[1]!)) {
      throw new GatewayError('unauthorized', 'Authorization: missing or malformed API key (expected Bearer vg_…)', { field: 'Authorization' });
    }
    const account = await store.findAccountByKeyHash(hashApiKey(match[1]!));
    if (!account) throw new GatewayError('unauthorized', 'Authorization: unknown API key', { field: 'Authorization' });
    res.locals.account = account;
    next();
  };
}

/**
 * Middleware: only the listed roles may pass; others get 403 `forbidden`.
 *
 * @example
 * mountOperation(router, 'runQuery', requireRole('researcher'), handler);
 */
export function requireRole(...roles: Role[]): RequestHandler {
  return (_req, res, next) => {
    const account = accountOf(res);
    if (!roles.includes(account.role)) {
      throw new GatewayError('forbidden', `this operation needs the role ${roles.join(' or ')}; the account is ${account.role}`);
    }
    next();
  };
}
