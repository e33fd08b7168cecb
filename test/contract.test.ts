import { builtinSinks } from '../src/sinks/registry.js';
import { fileDestination, httpDestination, sinkContract } from '../src/testing/index.js';

// The kit plugin authors get as firecrawl-relay/testing, run on the built-in sinks whose
// destination is a file or an HTTP endpoint; plugins/discord.test.ts runs it as an author would.
const builtin = builtinSinks();
/** `<job id>:<error text>` of a forwarded Firecrawl body. */
const eventOfBody = (body: string): string => {
  const event = JSON.parse(body) as { id: string; error: string };
  return `${event.id}:${event.error}`;
};

sinkContract({ name: 'file (built in)', sink: builtin.get('file')!, destination: fileDestination });

sinkContract({
  name: 'webhook (built in)',
  sink: builtin.get('webhook')!,
  destination: () => httpDestination({ options: (url) => ({ url, signature: { scheme: 'firecrawl', secret: 's' } }), eventOf: eventOfBody, permanentStatus: 410 }),
});

sinkContract({
  name: 'slack (built in)',
  sink: builtin.get('slack')!,
  destination: () =>
    httpDestination({
      options: (url) => ({ url }),
      eventOf: (body) => {
        const [, job, error] = /job (\S+?): (.*)$/.exec((JSON.parse(body) as { text: string }).text) ?? [];
        return `${job ?? '?'}:${error ?? '?'}`;
      },
    }),
});
