/** `veilgate hub` and `veilgate node`: run one server from its configuration file. */
import { loadDictionary } from '../../datasets/dictionary.ts';
import { readConfig, startHub, startNode, type HubConfig, type NodeConfig } from '../../server/config.ts';
import { parseCommand, UsageError } from '../usage.ts';

function stopOnSignal(close: () => Promise<void>): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void close().then(() => process.exit(0));
    });
  }
}

/** `veilgate hub --config FILE [--port P]` */
export async function runHub(args: string[]): Promise<void> {
  const { values } = parseCommand(args, { config: { type: 'string' }, port: { type: 'string' } });
  if (!values.config) throw new UsageError('--config FILE is required');
  const config = readConfig<HubConfig>(values.config);
  if (values.port) config.port = Number(values.port);
  const hub = await startHub(config, loadDictionary());
  console.log(`hub ${config.id} listening on ${hub.url} (${config.nodes.length} nodes)`);
  stopOnSignal(hub.close);
}

/** `veilgate node --config FILE [--port P]` */
export async function runNode(args: string[]): Promise<void> {
  const { values } = parseCommand(args, { config: { type: 'string' }, port: { type: 'string' } });
  if (!values.config) throw new UsageError('--config FILE is required');
  const config = readConfig<NodeConfig>(values.config);
  if (values.port) config.port = Number(values.port);
  const node = await startNode(config, loadDictionary());
  console.log(`node ${config.id} (${config.institution}) listening on ${node.url}: ${[...node.engine.datasets.keys()].join(', ')}`);
  stopOnSignal(node.close);
}
