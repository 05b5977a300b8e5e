/** Shared argument handling of the CLI commands. */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { VeilgateClient } from '@veilgate/sdk';

/** A command line that does not fit the command: exit status 2 with the usage text. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * parseArgs that turns its errors into `UsageError`.
 *
 * @example
 * const { values } = parseCommand(args, { config: { type: 'string' } });
 */
export function parseCommand<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/** The hub URL and API key: flags, then environment, then .veilgate/demo.json (researcher). */
export function hubCredentials(values: { hub?: string | undefined; 'api-key'?: string | undefined }, role: 'researcher' | 'admin' | 'auditor' = 'researcher'): { hubUrl: string; apiKey: string; log?: { origin: string; publicKey: string } } {
  let demo: { hubUrl?: string; accounts?: Record<string, unknown>; log?: { origin: string; publicKey: string } } = {};
  const demoPath = process.env.VEILGATE_DEMO ?? '.veilgate/demo.json';
  if (existsSync(demoPath)) demo = JSON.parse(readFileSync(demoPath, 'utf8')) as typeof demo;
  const hubUrl = values.hub ?? process.env.VEILGATE_HUB ?? demo.hubUrl;
  const apiKey = values['api-key'] ?? process.env.VEILGATE_API_KEY ?? (demo.accounts?.[role] as string | undefined);
  // (Operators pass --api-key: the demo lists two per institution in demo.json.)
  if (!hubUrl) throw new UsageError('no hub: pass --hub URL or set VEILGATE_HUB');
  if (!apiKey) throw new UsageError('no API key: pass --api-key KEY or set VEILGATE_API_KEY');
  // The demo's pinned log identity applies only to the demo's own hub.
  return { hubUrl, apiKey, ...(demo.log && hubUrl === demo.hubUrl ? { log: demo.log } : {}) };
}

/** The --hub / --api-key options every networked command takes. */
export const CONNECTION_OPTIONS = { hub: { type: 'string' }, 'api-key': { type: 'string' } } as const;

/**
 * A client for the hub named by the flags, the environment or demo.json.
 *
 * @example
 * const c = hubClient(values, 'admin');
 */
export function hubClient(values: { hub?: string | undefined; 'api-key'?: string | undefined }, role: 'researcher' | 'admin' | 'auditor' = 'researcher'): VeilgateClient {
  const { hubUrl, apiKey } = hubCredentials(values, role);
  return new VeilgateClient({ baseUrl: hubUrl, apiKey });
}

/** True when the command line asks for help (`--help` or `-h` before any `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/**
 * The lines of the usage text that describe `command`: each `veilgate <command> …` line with
 * its continuation lines (indented further, not starting another command).
 *
 * @example
 * commandUsage(USAGE, 'audit'); // "  veilgate audit verify …\n  veilgate audit trace ENTRY …"
 */
export function commandUsage(usage: string, command: string): string {
  const out: string[] = [];
  let inCommand = false;
  for (const line of usage.split('\n')) {
    const starts = /^\s{2}veilgate (\S+)/.exec(line);
    if (starts) inCommand = starts[1] === command;
    else if (!/^\s{3,}\S/.test(line)) inCommand = false;
    if (inCommand) out.push(line);
  }
  return out.join('\n');
}
