import { fileURLToPath } from 'node:url';
import { loadPlugins } from '../src/plugins/load-plugins.js';
import { builtinSinks } from '../src/sinks/registry.js';
import { fileDestination, httpDestination } from './contract/destinations.js';
import { sinkContract } from './contract/sink-contract.js';

const PLUGINS = fileURLToPath(new URL('../plugins/', import.meta.url));
/** `<job id>:<error text>` of a forwarded Firecrawl body. */
const eventOfBody = (body: string): string => {
  const event = JSON.parse(body) as { id: string; error: string };
  return `${event.id}:${event.error}`;
};

sinkContract({ name: 'file (built in)', type: 'file', registry: builtinSinks, destination: fileDestination, slowable: false });

sinkContract({
  name: 'webhook (built in)',
  type: 'webhook',
  registry: builtinSinks,
  destination: () => httpDestination((url) => `url: ${url}\nsignature: { scheme: firecrawl, secret: s }`, eventOfBody, 410),
});

sinkContract({
  name: 'slack (built in)',
  type: 'slack',
  registry: builtinSinks,
  destination: () =>
    httpDestination(
      (url) => `url: ${url}`,
      (body) => {
        const [, job, error] = /job (\S+?): (.*)$/.exec((JSON.parse(body) as { text: string }).text) ?? [];
        return `${job ?? '?'}:${error ?? '?'}`;
      },
    ),
});

sinkContract({
  name: 'discord (plugins/discord.ts)',
  type: 'discord',
  registry: () => loadPlugins(PLUGINS, builtinSinks()),
  destination: () =>
    httpDestination(
      (url) => `url: ${url}`,
      (body) => {
        const embed = (JSON.parse(body) as { embeds: Array<{ title: string; description: string }> }).embeds[0]!;
        return `${/job (\S+)$/.exec(embed.title)?.[1] ?? '?'}:${embed.description}`;
      },
    ),
});
