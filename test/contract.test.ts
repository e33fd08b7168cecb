import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { builtinSinks } from '../src/sinks/registry.js';
import { kafkaDestination, s3Destination, stdoutDestination } from './helpers/contract-destinations.js';
import { describeWithRadosgw, startRadosgw, type Radosgw } from './helpers/s3.js';
import { describeWithKafka, startMockCluster, type MockCluster } from './helpers/kafka.js';
import batchHttp from './fixtures/plugins/batch_http.js';
import pagesJsonl from './fixtures/plugins/pages_jsonl.js';
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

// stdout: the worker's own standard output, refused as a closed pipe refuses (EPIPE).
sinkContract({ name: 'stdout (built in)', sink: builtin.get('stdout')!, destination: async () => stdoutDestination() });

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

// A sink that reads pagesOf(event): the suite sends crawl.page events, one page each, and
// an event of three pages; a folder where the file should be refuses writes.
sinkContract({
  name: 'pages_jsonl (a pages plugin)',
  sink: pagesJsonl,
  events: 'pages',
  destination: async (dir) => {
    const file = join(dir, 'pages.jsonl');
    return {
      options: { file },
      // While refusing, a folder stands where the file goes: nothing to read.
      received: () =>
        existsSync(file) && statSync(file).isFile()
          ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((line) => {
              const page = JSON.parse(line) as { job: string; markdown: string };
              return `${page.job}:${page.markdown}`;
            })
          : [],
      refuse: () => {
        rmSync(file, { force: true, recursive: true });
        mkdirSync(file);
      },
      restore: () => rmSync(file, { recursive: true, force: true }),
      close: async () => {},
    };
  },
});

// A batch sink over HTTP: one request carries several events (httpDestination's eventsOf).
sinkContract({
  name: 'batch_http (a batch plugin)',
  sink: batchHttp,
  destination: () =>
    httpDestination({
      options: (url) => ({ url }),
      eventsOf: (body) => (JSON.parse(body) as Array<{ id: string; error: string }>).map((event) => `${event.id}:${event.error}`),
    }),
});

// Kafka: a librdkafka mock cluster (one for the file), faults injected through its own
// controls: brokers down, produce errors, a slow round trip.
describeWithKafka('kafka (built in), on a mock cluster', () => {
  let cluster: Promise<MockCluster> | undefined;
  afterAll(async () => (await cluster)?.stop());
  sinkContract({
    name: 'kafka (built in)',
    sink: builtin.get('kafka')!,
    ignoresAbort: 'kafkajs takes no signal: a produce request in flight ends at request_timeout_ms, not at the abort',
    destination: async () => kafkaDestination(await (cluster ??= startMockCluster(3))),
  });
});

// S3: a real radosgw behind the kit's fault proxy (refusals, a slow answer, one job refused).
describeWithRadosgw('s3 (built in), on radosgw', () => {
  let rgw: Promise<Radosgw> | undefined;
  afterAll(async () => (await rgw)?.stop());
  sinkContract({
    name: 's3 (built in)',
    sink: builtin.get('s3')!,
    destination: async () => s3Destination(await (rgw ??= startRadosgw())),
  });
});
