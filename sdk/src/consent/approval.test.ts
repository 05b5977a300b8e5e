/**
 * Operators' signed decisions: the signature checked independently with @noble/curves over
 * the JWS signing input (RFC 7515 §5.2), every forged, re-targeted, stale or re-keyed statement
 * refused, and the content comparison finding every field a replay could change.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { base64urlnopad } from '@scure/base';
import fc from 'fast-check';
import { SignJWT, exportJWK, generateSecret } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  decisionContentOf, decisionDifference, decodeDecisionUnverified, exportOperatorKey, generateOperatorKey, importOperatorKey,
  signDecision, verifyDecision, type DecisionContent, type OperatorKey, type OperatorKeyPair,
} from './approval.ts';
import { isConsentError } from './errors.ts';

const content: DecisionContent = {
  request: 'ar_1', decision: 'approve', operator: 'acct_op1', node: 'hosp-a', researcher: 'acct_r1',
  identityJkt: 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k', datasets: ['hosp-a.cohort'], elements: ['age', 'sex'],
  operations: ['count', 'mean'], purpose: 'DUO:0000006', privacyBudget: 0.5, queryQuota: 100, durationDays: 30,
};

async function keyOf(pair: OperatorKeyPair): Promise<OperatorKey> {
  return importOperatorKey(exportOperatorKey(pair));
}

const enrolledAs = (pair: OperatorKeyPair, account = content.operator) => (kid: string) => (kid === pair.kid ? { account, publicJwk: pair.publicJwk } : undefined);

function refusedWith(field?: string) {
  return (e: unknown) => {
    expect(isConsentError(e, 'approval_invalid')).toBe(true);
    if (field !== undefined) expect((e as { field?: string }).field).toBe(field);
    return true;
  };
}

describe('signDecision / verifyDecision', () => {
  it('signs a JWS whose Ed25519 signature verifies independently, over exactly the content', async () => {
    const pair = await generateOperatorKey();
    const statement = await signDecision(content, await keyOf(pair), { now: 1_700_000_000, jti: 'j1' });
    const [h, p, sig] = statement.split('.') as [string, string, string];
    // RFC 7515 §5.2: the signature is over ASCII(header '.' payload); RFC 8032 Ed25519.
    expect(ed25519.verify(base64urlnopad.decode(sig), new TextEncoder().encode(`${h}.${p}`), base64urlnopad.decode(pair.publicJwk.x))).toBe(true);
    expect(JSON.parse(new TextDecoder().decode(base64urlnopad.decode(h)))).toEqual({ alg: 'EdDSA', typ: 'vg-approval+jwt', kid: pair.kid });
    expect(JSON.parse(new TextDecoder().decode(base64urlnopad.decode(p)))).toEqual({
      iss: 'acct_op1', aud: 'hosp-a', sub: 'acct_r1', request: 'ar_1', decision: 'approve', jti: 'j1', iat: 1_700_000_000,
      vg_scope: { datasets: ['hosp-a.cohort'], elements: ['age', 'sex'], operations: ['count', 'mean'], purpose: 'DUO:0000006', budget: 0.5, quota: 100 },
      duration_days: 30, cnf: { jkt: content.identityJkt },
    });
    const verified = await verifyDecision(statement, { operators: enrolledAs(pair), audience: 'hosp-a', now: 1_700_000_100 });
    expect(decisionDifference(verified, content)).toBeUndefined();
    expect(verified).toMatchObject({ kid: pair.kid, jti: 'j1', iat: 1_700_000_000 });
  });

  it('refuses a statement by a key the node did not enrol, even a well-formed one', async () => {
    const [enrolled, stranger] = await Promise.all([generateOperatorKey(), generateOperatorKey()]);
    const statement = await signDecision(content, await keyOf(stranger));
    await expect(verifyDecision(statement, { operators: enrolledAs(enrolled), audience: 'hosp-a' })).rejects.toSatisfy(refusedWith('kid'));
  });

  it('refuses a statement whose header names an enrolled kid but is signed by another key', async () => {
    const [enrolled, stranger] = await Promise.all([generateOperatorKey(), generateOperatorKey()]);
    const statement = await signDecision(content, { ...(await keyOf(stranger)), kid: enrolled.kid });
    await expect(verifyDecision(statement, { operators: enrolledAs(enrolled), audience: 'hosp-a' })).rejects.toSatisfy(refusedWith('signature'));
  });

  it('refuses any change to the signed payload', async () => {
    const pair = await generateOperatorKey();
    const [h, , sig] = (await signDecision(content, await keyOf(pair))).split('.') as [string, string, string];
    const wider = await signDecision({ ...content, privacyBudget: 2 }, await keyOf(await generateOperatorKey()));
    const forged = `${h}.${wider.split('.')[1]}.${sig}`;
    await expect(verifyDecision(forged, { operators: enrolledAs(pair), audience: 'hosp-a' })).rejects.toSatisfy(refusedWith('signature'));
  });

  it('a key speaks only for the account it was enrolled for', async () => {
    const pair = await generateOperatorKey();
    const statement = await signDecision({ ...content, operator: 'acct_op2' }, await keyOf(pair));
    await expect(verifyDecision(statement, { operators: enrolledAs(pair, 'acct_op1'), audience: 'hosp-a' })).rejects.toSatisfy(refusedWith('iss'));
  });

  it('refuses a statement for another node', async () => {
    const pair = await generateOperatorKey();
    const statement = await signDecision({ ...content, node: 'hosp-b' }, await keyOf(pair));
    await expect(verifyDecision(statement, { operators: enrolledAs(pair), audience: 'hosp-a' })).rejects.toSatisfy(refusedWith('aud'));
  });

  it('refuses stale and future statements', async () => {
    const pair = await generateOperatorKey();
    const statement = await signDecision(content, await keyOf(pair), { now: 1_700_000_000 });
    await expect(verifyDecision(statement, { operators: enrolledAs(pair), audience: 'hosp-a', now: 1_700_000_000 + 31 * 86_400 })).rejects.toSatisfy(refusedWith('iat'));
    await expect(verifyDecision(statement, { operators: enrolledAs(pair), audience: 'hosp-a', now: 1_700_000_000 - 3600 })).rejects.toSatisfy(refusedWith('iat'));
  });

  it.each([
    ['alg none', { alg: 'none', typ: 'vg-approval+jwt' }],
    ['alg HS256', { alg: 'HS256', typ: 'vg-approval+jwt' }],
    ['another typ', { alg: 'EdDSA', typ: 'vg-consent+jwt' }],
  ])('refuses %s', async (_name, header) => {
    const pair = await generateOperatorKey();
    const signed = header.alg === 'HS256'
      ? await new SignJWT({ iss: 'acct_op1' }).setProtectedHeader({ ...header, kid: pair.kid }).sign(await generateSecret('HS256'))
      : await signDecision(content, await keyOf(pair));
    const [, p, s] = signed.split('.') as [string, string, string];
    const h = base64urlnopad.encode(new TextEncoder().encode(JSON.stringify({ ...header, kid: pair.kid })));
    await expect(verifyDecision(`${h}.${p}.${header.alg === 'none' ? '' : s}`, { operators: enrolledAs(pair), audience: 'hosp-a' })).rejects.toSatisfy(refusedWith());
  });

  it.each([['not a JWS', 'abc'], ['garbage segments', 'a.b.c'], ['too long', `${'a'.repeat(20_000)}.b.c`]])('a malformed statement (%s) is approval_invalid', (_n, s) => {
    expect(() => decodeDecisionUnverified(s)).toThrow(expect.objectContaining({ code: 'approval_invalid' }));
  });
});

describe('decisionDifference', () => {
  it.each<[keyof DecisionContent, unknown]>([
    ['request', 'ar_2'], ['decision', 'deny'], ['operator', 'acct_op2'], ['node', 'hosp-b'], ['researcher', 'acct_r2'],
    ['identityJkt', 'x'.repeat(43)], ['datasets', ['hosp-a.cohort', 'hosp-a.other']], ['elements', ['age']], ['operations', ['count']],
    ['purpose', 'DUO:0000007'], ['privacyBudget', 0.6], ['queryQuota', 101], ['durationDays', 31], ['reason', 'because'],
  ])('finds a change of %s', (field, value) => {
    expect(decisionDifference({ ...content, [field]: value }, content)).toBe(field);
  });

  it('finds any single change, by property', () => {
    fc.assert(fc.property(fc.constantFrom('datasets', 'elements', 'operations') , fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 4 }), (field, items) => {
      const changed = { ...content, [field]: items };
      const same = JSON.stringify(items) === JSON.stringify(content[field]);
      expect(decisionDifference(changed, content)).toBe(same ? undefined : field);
    }));
  });

  it('decisionContentOf takes the operator institution\'s datasets from the request', () => {
    const request = { ...content, id: 'ar_1', decisions: [{ node: 'hosp-a', datasets: ['hosp-a.cohort'] }, { node: 'hosp-b', datasets: ['hosp-b.x'] }] };
    expect(decisionDifference(decisionContentOf(request, { operator: 'acct_op1', node: 'hosp-a', decision: 'approve' }), content)).toBeUndefined();
    expect(() => decisionContentOf(request, { operator: 'acct_op1', node: 'hosp-c', decision: 'approve' })).toThrow(TypeError);
  });
});

describe('operator key files', () => {
  it('round-trip into a non-extractable key that signs', async () => {
    const pair = await generateOperatorKey();
    const key = await importOperatorKey(exportOperatorKey(pair, { account: 'acct_op1' }));
    expect(key).toMatchObject({ kid: pair.kid, account: 'acct_op1', publicJwk: pair.publicJwk });
    expect((key.privateKey as CryptoKey).extractable).toBe(false);
    await expect(exportJWK(key.privateKey as CryptoKey)).rejects.toThrow();
    await expect(verifyDecision(await signDecision(content, key), { operators: enrolledAs(pair), audience: 'hosp-a' })).resolves.toBeDefined();
  });

  it('refuse a file whose private key is not its public key, without naming key material', async () => {
    const [a, b] = await Promise.all([generateOperatorKey(), generateOperatorKey()]);
    const file = JSON.parse(exportOperatorKey(a)) as { privateJwk: { x: string; d: string } };
    file.privateJwk.x = b.publicJwk.x;
    const err = (await importOperatorKey(JSON.stringify(file)).then(() => undefined, (e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).not.toContain(a.privateJwk.d);
    await expect(importOperatorKey('{"v":1,"type":"veilgate-identity"}')).rejects.toThrow(TypeError);
  });
});
