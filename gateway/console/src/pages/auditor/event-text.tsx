/**
 * How the auditor pages put log events, trace relations and verification problems into
 * words, in the reader's language, from structured data only (event fields, relations read
 * from the entries, problem codes), never by matching English text. Events hold ids and hashes only (gateway/src/audit/
 * events.ts); hashes and key ids are shown as short prefixes, with the full value on hover.
 */
import { Fragment } from 'react';
import { useTranslation } from 'react-i18next';
import messages from '../../i18n/auditor.ts';
import type { LogProblem } from '@veilgate/sdk';
import { shortHash, type AuditEvent } from './audit-data.ts';
import type { Relation } from './trace-links.ts';

type TypeKey = keyof typeof messages.en.types;
type FieldKey = keyof typeof messages.en.fields;
type RoleKey = 'researcher' | 'operator' | 'auditor' | 'admin';

/** The translation key of an event type (`query.completed` → `queryCompleted`), if known. */
function typeKey(type: unknown): TypeKey | undefined {
  if (typeof type !== 'string') return undefined;
  const key = type.replace(/[._](\w)/g, (_, c: string) => c.toUpperCase());
  return key in messages.en.types ? (key as TypeKey) : undefined;
}

/** The event type as an identifier, with its name in the reader's language below. */
export function EventType(props: { type: unknown; inline?: boolean }) {
  const { t } = useTranslation('auditor');
  const key = typeKey(props.type);
  const name = key ? t(`types.${key}`) : undefined;
  return (
    <>
      <code className="nowrap">{String(props.type)}</code>
      {name ? props.inline ? <span className="muted small"> · {name}</span> : <div className="muted small">{name}</div> : null}
    </>
  );
}


/** One labelled fact of a summary: plain text, an identifier, or a hash (shortened). */
interface Fact {
  field: FieldKey;
  value: string;
  kind: 'text' | 'id' | 'hash';
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);
const list = (v: unknown): string | undefined => (Array.isArray(v) && v.length > 0 ? v.map(String).join(', ') : undefined);

function facts(e: AuditEvent, t: (key: string, options?: Record<string, unknown>) => string, roleName: (role: string) => string): Fact[] {
  const out: Fact[] = [];
  const add = (field: FieldKey, value: string | undefined, kind: Fact['kind'] = 'id') => {
    if (value !== undefined) out.push({ field, value, kind });
  };
  switch (e.type) {
    case 'account.created':
      add('account', str(e.account));
      add('role', typeof e.role === 'string' ? roleName(e.role) : undefined, 'text');
      add('node', str(e.node));
      break;
    case 'key.registered':
      add('account', str(e.account));
      add('key', str(e.keyId), 'hash');
      break;
    case 'access.requested':
      add('researcher', str(e.account));
      add('request', str(e.requestId));
      add('datasets', list(e.datasets));
      add('purpose', str(e.purpose));
      break;
    case 'access.withdrawn':
      add('request', str(e.requestId));
      break;
    case 'access.approved':
    case 'access.denied':
      add('request', str(e.requestId));
      add('node', str(e.node));
      add('operator', str(e.operator));
      add('reason', str(e.reason), 'text');
      break;
    case 'token.issued':
      add('request', str(e.requestId));
      add('node', str(e.node));
      add('token', str(e.jti), 'hash');
      add('expires', str(e.expiresAt), 'text');
      break;
    case 'access.revoked':
      add('request', str(e.requestId));
      add('node', str(e.node));
      add('operator', str(e.operator));
      add('reason', str(e.reason), 'text');
      break;
    case 'consent.imported':
      add('node', str(e.node));
      add('dataset', str(e.dataset));
      add('records', str(e.records), 'text');
      add('operator', str(e.operator));
      break;
    case 'query.accepted': {
      add('query', str(e.queryId));
      add('researcher', str(e.account));
      add('datasets', list(e.datasets));
      add('key', str(e.keyId), 'hash');
      const reserved = e.reserved as { rho?: number; credits?: number } | undefined;
      if (reserved) add('reserved', t('values.reserved', { credits: reserved.credits ?? 0, rho: reserved.rho ?? 0 }), 'text');
      break;
    }
    case 'query.completed': {
      add('query', str(e.queryId));
      const contributions = e.contributions as { node?: string }[] | undefined;
      add('nodes', list(contributions?.map((c) => c.node)));
      add('result', str(e.resultSha256), 'hash');
      if (typeof e.groupsLeftOut === 'number' && e.groupsLeftOut > 0) add('leftOut', String(e.groupsLeftOut), 'text');
      break;
    }
    case 'query.failed':
      add('query', str(e.queryId));
      add('errorCode', str(e.errorCode));
      add('node', str(e.node));
      break;
    case 'credits.topped_up':
      add('researcher', str(e.account));
      add('amount', str(e.amount), 'text');
      add('admin', str(e.admin));
      break;
    case 'price.set':
      add('dataset', str(e.dataset));
      add('price', str(e.pricePerQuery), 'text');
      add('operator', str(e.operator));
      break;
    case 'privacy.set':
      add('dataset', str(e.dataset));
      add(
        'privacy',
        e.differentialPrivacy ? (typeof e.defaultRho === 'number' ? t('values.dpOn', { rho: e.defaultRho }) : t('values.dpOnNoRho')) : t('values.dpOff'),
        'text',
      );
      add('operator', str(e.operator));
      break;
    default:
      // An event this console does not know: its id-like fields, never anything else.
      for (const [k, field] of [['account', 'account'], ['requestId', 'request'], ['queryId', 'query'], ['node', 'node'], ['dataset', 'dataset']] as const) add(field, str(e[k]));
  }
  return out;
}

/** A one-line summary of an event: who and what, as labelled facts. */
export function EventSummary(props: { event: AuditEvent }) {
  const { t } = useTranslation('auditor');
  const { t: tc } = useTranslation();
  const roleName = (role: string) => (['researcher', 'operator', 'auditor', 'admin'].includes(role) ? tc(`roles.${role as RoleKey}`) : role);
  const items = facts(props.event, t as unknown as (key: string, options?: Record<string, unknown>) => string, roleName);
  return (
    <span className="small">
      {items.map((f, i) => (
        <Fragment key={`${f.field}-${i}`}>
          {i > 0 ? <span className="muted"> · </span> : null}
          <span className="muted">{t(`fields.${f.field}`)}</span>{' '}
          {f.kind === 'text' ? (
            <span>{f.value}</span>
          ) : f.kind === 'hash' ? (
            <code className="nowrap" title={f.value}>{shortHash(f.value)}</code>
          ) : (
            f.value.split(', ').map((id, j) => (
              <Fragment key={j}>
                {j > 0 ? ', ' : null}
                <code className="nowrap">{id}</code>
              </Fragment>
            ))
          )}
        </Fragment>
      ))}
    </span>
  );
}

/** A trace step's relation in the reader's language; the hub's own text only when the entries do not name it. */
export function RelationText(props: { relation: Relation | undefined; hubText: string }) {
  const { t } = useTranslation('auditor');
  const r = props.relation;
  if (!r) return <span lang="en">{props.hubText}</span>;
  return <>{r.key === 'underToken' ? t('trace.relation.underToken', { node: r.node ?? '' }) : t(`trace.relation.${r.key}`)}</>;
}

/** The translation key of each problem code the SDK reports. */
const PROBLEM_KEYS: Record<LogProblem['code'], keyof typeof messages.en.problem> = {
  checkpoint_signature: 'checkpointSignature',
  checkpoint_mismatch: 'checkpointMismatch',
  witness_signature: 'witnessSignature',
  witnesses_unpinned: 'witnessesUnpinned',
  witness_key_changed: 'witnessKeyChanged',
  witness_quorum: 'witnessQuorum',
  entries_missing: 'entriesMissing',
  entry_missing: 'entryMissing',
  entry_hash_mismatch: 'entryHashMismatch',
  entry_not_in_tree: 'entryNotInTree',
  root_mismatch: 'rootMismatch',
  log_shrank: 'logShrank',
  consistency: 'consistency',
};

/** A verification problem in the reader's language, by its code (the SDK's English message for a code this console does not know). */
export function useProblemText(): (problem: LogProblem) => string {
  const { t } = useTranslation('auditor');
  // Each code's params are the placeholders of its text (see the SDK's LogProblemCode).
  const text = t as unknown as (key: string, params: Record<string, string | number>) => string;
  return (problem: LogProblem) => {
    const key = Object.hasOwn(PROBLEM_KEYS, problem.code) ? PROBLEM_KEYS[problem.code] : undefined;
    return key ? text(`problem.${key}`, { ...problem.params }) : problem.message;
  };
}

/** A problem: its text, and the technical detail of the underlying check (English, from the SDK) where there is one. */
export function ProblemText(props: { problem: LogProblem }) {
  const text = useProblemText()(props.problem);
  const detail = props.problem.params?.detail;
  return (
    <>
      {text}
      {typeof detail === 'string' && detail ? <span className="muted small"> (<span lang="en">{detail}</span>)</span> : null}
    </>
  );
}
