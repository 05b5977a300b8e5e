/**
 * The audit-log origin of a hub or node: the first line of its checkpoints and the key name
 * its checkpoints are signed under (c2sp.org/tlog-checkpoint: a schema-less, URL-like name).
 *
 * @example
 * logOrigin('hub'); // 'veilgate/hub'
 */
export function logOrigin(id: string): string {
  return `veilgate/${id}`;
}
