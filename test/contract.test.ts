import { fileURLToPath } from 'node:url';
import { loadPlugins } from '../src/plugins/load-plugins.js';
import { builtinSinks } from '../src/sinks/registry.js';
import { fileDestination, httpDestination } from './contract/destinations.js';
import { sinkContract } from './contract/sink-contract.js';

const PLUGINS = fileURLToPath(new URL('../plugins/', import.meta.url));
const jobOfEvent = (body: string): string => (JSON.parse(body) as { id: string }).id;

sinkContract({ name: 'file (built in)', type: 'file', registry: builtinSinks, destination: fileDestination, slowable: false });

sinkContract({
  name: 'webhook (built in)',
  type: 'webhook',
  registry: builtinSinks,
  destination: () => httpDestination((url) => `url: ${url}\nsignature: { scheme: firecrawl, secret: s }`, jobOfEvent, 410),
});

sinkContract({
  name: 'slack (built in)',
  type: 'slack',
  registry: builtinSinks,
  destination: () => httpDestination((url) => `url: ${url}`, (body) => /job (\S+?):/.exec((JSON.parse(body) as { text: string }).text)?.[1] ?? '?'),
});

sinkContract({
  name: 'discord (plugins/discord.ts)',
  type: 'discord',
  registry: () => loadPlugins(PLUGINS, builtinSinks()),
  destination: () =>
    httpDestination(
      (url) => `url: ${url}`,
      (body) => /job (\S+)$/.exec((JSON.parse(body) as { embeds: Array<{ title: string }> }).embeds[0]!.title)?.[1] ?? '?',
    ),
});
