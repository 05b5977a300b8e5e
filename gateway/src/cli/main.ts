#!/usr/bin/env node
/**
 * `veilgate` — the command line of the data space. Each command lives in ./commands;
 * this file only dispatches. Exit status: 0 ok, 1 failure, 2 usage error.
 */
import { VeilgateError } from '@veilgate/sdk';
import { runDemo } from './commands/demo.ts';
import { runHub, runNode } from './commands/servers.ts';
import { runKeys } from './commands/keys.ts';
import { runQueryCommand } from './commands/query.ts';
import { runAccounts } from './commands/accounts.ts';
import { runAudit } from './commands/audit.ts';
import { runBalance, runCredits, runDatasetSetting, runUsage } from './commands/metering.ts';
import { runConsent, runDecision, runGrants, runIdentity, runRequest, runRequests } from './commands/access.ts';
import { runOperator } from './commands/operator.ts';
import { commandUsage, UsageError, wantsHelp } from './usage.ts';

const USAGE = `veilgate — trusted data space for health data

usage:
  veilgate demo [--patients N] [--hospitals N] [--dir DIR] [--port P]
                                   generate cohorts, start hub + nodes, write DIR/demo.json
  veilgate hub --config FILE       run a hub from its configuration (written by demo)
  veilgate node --config FILE      run an institution node from its configuration
  veilgate keys generate [--out FILE]
                                   make a BFV key pair (secret key stays in FILE)
  veilgate keys register --key FILE [--hub URL] [--api-key KEY]
  veilgate identity generate [--out FILE]
                                   an Ed25519 identity key; consent tokens are bound to it (DPoP)
  veilgate request --datasets A,B --elements E,F [--operations …] [--purpose DUO:0000006]
                   --justification TEXT --identity FILE [--days N] [--budget X] [--quota N]
  veilgate requests [--state submitted|active|denied|withdrawn|expired|revoked]
  veilgate grants                  consent tokens in force (researchers)
  veilgate approve ID [--operator-key FILE]
                                   (operators) signed with your key — important datasets need two distinct operators
  veilgate deny ID --reason TEXT [--operator-key FILE]
                                   (operators) --operator-key defaults to the demo's file for you (demo.json)
  veilgate operator keygen [--out FILE] [--account ID]
                                   an operator's Ed25519 key; prints the public key for the node to enrol
  veilgate operator enroll --node-config FILE --account ID (--public-key X | --key-file FILE)
                                   enrol an operator's key at a node (out of band; restart the node)
  veilgate revoke ID --reason TEXT (operators) — refused from the next query on
  veilgate consent import --dataset ID --file consent.csv
                                   (operators) subject,purpose,status,recorded_at; any size,
                                   sent in batches, applied all at once at the end
  veilgate balance                 credits and each grant's privacy budget (researchers)
  veilgate credits top-up --account ID --amount N      (admins)
  veilgate price --dataset ID --price N                (operators) credits per query
  veilgate privacy --dataset ID (--on [--rho R] | --off) (operators) differential privacy
  veilgate usage [--from D] [--to D] [--format table|csv|json] [--role researcher|admin|auditor]
  veilgate keys rotate --node-config FILE
                                   add a new consent-token signing key to a node (old tokens keep verifying)
  veilgate query (--file Q.json | --json '{…}') --key FILE --identity FILE [--purpose DUO:…] [--hub URL] [--api-key KEY] [--format table|json]
  veilgate accounts create --name NAME --role ROLE [--node ID] [--hub URL] [--api-key ADMIN_KEY]
  veilgate audit verify [--checkpoint FILE] [--log-key KEY] [--quorum K] [--max-witness-age S] [--pin-witnesses] [--hub URL] [--api-key AUDITOR_KEY]
                                   check the whole log and a quorum of pinned witnesses' fresh cosignatures; keeps the
                                   checkpoint in FILE (default .veilgate/audit-checkpoint.json) to prove the log only grew
                                   next time; exit 1 on any problem
  veilgate audit trace ENTRY       walk an entry (log index or query id) back to the approvals it rests on

--hub and --api-key default to $VEILGATE_HUB and $VEILGATE_API_KEY, then to .veilgate/demo.json.`;

const commands: Record<string, (args: string[]) => Promise<void>> = {
  demo: runDemo,
  hub: runHub,
  node: runNode,
  keys: runKeys,
  query: runQueryCommand,
  accounts: runAccounts,
  audit: runAudit,
  identity: runIdentity,
  request: runRequest,
  requests: runRequests,
  approve: (args) => runDecision('approve', args),
  deny: (args) => runDecision('deny', args),
  revoke: (args) => runDecision('revoke', args),
  grants: runGrants,
  consent: runConsent,
  balance: runBalance,
  credits: runCredits,
  price: (args) => runDatasetSetting('price', args),
  privacy: (args) => runDatasetSetting('privacy', args),
  usage: runUsage,
  operator: runOperator,
};

const [command, ...rest] = process.argv.slice(2);
if (!command || command === 'help' || command === '--help' || command === '-h') {
  console.log(USAGE);
  process.exit(command ? 0 : 2);
}
const run = commands[command];
if (!run) {
  console.error(`veilgate: unknown command '${command}'\n\n${USAGE}`);
  process.exit(2);
}
// `veilgate <command> --help` / `-h`: that command's usage, exit 0 (issue 11).
if (wantsHelp(rest)) {
  console.log(`usage:\n${commandUsage(USAGE, command)}\n\n--hub and --api-key default to $VEILGATE_HUB and $VEILGATE_API_KEY, then to .veilgate/demo.json.`);
  process.exit(0);
}
try {
  await run(rest);
} catch (err) {
  if (err instanceof UsageError) {
    console.error(`veilgate ${command}: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (err instanceof VeilgateError) {
    console.error(`veilgate ${command}: ${err.code}: ${err.message}`);
    process.exit(1);
  }
  console.error(`veilgate ${command}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
