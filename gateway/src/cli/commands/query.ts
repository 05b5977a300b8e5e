/** `veilgate query`: run an encrypted aggregate query and print the decrypted result. */
import { readFileSync } from 'node:fs';
import { VeilgateClient, importIdentity, importKeyPair, type GroupResult, type Query, type QueryProgress } from '@veilgate/sdk';
import { hubCredentials, parseCommand, UsageError } from '../usage.ts';

function formatValue(v: number | null): string {
  if (v === null) return '—';
  return Number.isInteger(v) ? String(v) : v.toFixed(3);
}

/**
 * Renders decoded groups as an aligned text table: one row per group, one column per
 * statistic (histograms as `count|count|…`).
 */
export function formatGroups(groups: GroupResult[]): string {
  if (groups.length === 0) return '(no groups)';
  const first = groups[0]!;
  const header = [...Object.keys(first.key), ...first.aggregates.map((a) => (a.op === 'count' ? 'count' : `${a.op}(${a.element})`)), 'left out at'];
  const rows = groups.map((g) => [
    ...Object.values(g.key),
    ...g.aggregates.map((a) => (a.op === 'histogram' ? a.bins.map((b) => b.count).join('|') : formatValue(a.value))),
    g.excludedAt.map((e) => e.node).join(',') || '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** `veilgate query (--file F | --json J) --key FILE --identity FILE [--purpose DUO:…] [--format table|json]` */
export async function runQueryCommand(args: string[]): Promise<void> {
  const { values } = parseCommand(args, {
    file: { type: 'string' }, json: { type: 'string' }, key: { type: 'string' }, identity: { type: 'string' }, purpose: { type: 'string' },
    hub: { type: 'string' }, 'api-key': { type: 'string' }, format: { type: 'string', default: 'table' },
  });
  if (!values.key) throw new UsageError('--key FILE is required (veilgate keys generate)');
  if (!values.identity) throw new UsageError('--identity FILE is required (veilgate identity generate)');
  if (!values.file === !values.json) throw new UsageError('pass exactly one of --file Q.json or --json \'{…}\'');
  if (values.format !== 'table' && values.format !== 'json') throw new UsageError('--format must be table or json');
  let query: Query;
  try {
    query = JSON.parse(values.json ?? readFileSync(values.file!, 'utf8')) as Query;
  } catch {
    throw new UsageError('the query is not valid JSON');
  }
  const keys = importKeyPair(readFileSync(values.key, 'utf8'));
  const { hubUrl, apiKey } = hubCredentials(values);
  const identity = await importIdentity(readFileSync(values.identity, 'utf8'));
  // On a terminal, progress goes to stderr as the institutions answer (stdout stays the result).
  const onProgress = process.stderr.isTTY
    ? (p: QueryProgress) => {
        if (p.phase === 'fan-out') process.stderr.write(`asking ${p.nodes.length} institutions (${p.nodes.join(', ')}) …\n`);
        else if (p.phase === 'contributed') process.stderr.write(`  ${p.done}/${p.total} ${p.node} contributed (${p.ms} ms)\n`);
        else if (p.phase === 'decrypting' && p.done === 0) process.stderr.write(`decrypting ${p.total} ciphertext${p.total === 1 ? '' : 's'} …\n`);
      }
    : undefined;
  const outcome = await new VeilgateClient({ baseUrl: hubUrl, apiKey }).query(query, { keys, identity, ...(values.purpose ? { purpose: values.purpose } : {}), ...(onProgress ? { onProgress } : {}) });
  if (values.format === 'json') {
    console.log(JSON.stringify({ queryId: outcome.queryId, groups: outcome.groups, timings: outcome.timings }, null, 2));
  } else {
    console.log(formatGroups(outcome.groups));
    console.log(`\nquery ${outcome.queryId} · ${outcome.contributions.length} institutions · ${outcome.timings.totalMs.toFixed(0)} ms at the hub`);
  }
}
