import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { faultProxy, type ContractDestination } from '../../src/testing/index.js';
import { s3ClientFor, type Radosgw } from './radosgw.js';
import { consumeWithKcat, type MockCluster } from './mock-cluster.js';

/** `<job id>:<error text>` of a forwarded Firecrawl body. */
export const eventOfBody = (body: string): string => {
  const event = JSON.parse(body) as { id: string; error: string };
  return `${event.id}:${event.error}`;
};

// Kafka protocol numbers the mock cluster injects (errors APIKEY COUNT CODE).
const PRODUCE = 0;
const REQUEST_TIMED_OUT = 7;
const MESSAGE_TOO_LARGE = 10;
let topics = 0;

/**
 * The Kafka sink's destination: a topic of its own on a librdkafka mock cluster, read back
 * with kcat. Faults are the cluster's own: every broker down (refuse), one produce error
 * (retriable once, MESSAGE_TOO_LARGE for good), a round trip of `ms` (slow down). A broker
 * cannot tell a request the client gave up on, so there is no `abandoned()`.
 */
export function kafkaDestination(cluster: MockCluster): ContractDestination {
  const topic = `relay.contract.${process.pid}.${++topics}`;
  return {
    options: { brokers: cluster.brokers, topic, connection_timeout_ms: 500, request_timeout_ms: 2000 },
    received: () => {
      try {
        return consumeWithKcat(cluster.brokers, topic).map((m) => eventOfBody(m.payload ?? '{}'));
      } catch {
        return []; // no such topic yet: nothing written
      }
    },
    refuse: () => cluster.command('down -1'),
    refuseOnce: () => cluster.command(`errors ${PRODUCE} 1 ${REQUEST_TIMED_OUT}`),
    refusePermanently: () => cluster.command(`errors ${PRODUCE} 1 ${MESSAGE_TOO_LARGE}`),
    slowDown: (ms) => cluster.command(`rtt -1 ${ms}`),
    restore: async () => {
      await cluster.command('up -1');
      await cluster.command('rtt -1 0');
    },
    close: async () => {
      await cluster.command('up -1');
      await cluster.command('rtt -1 0');
    },
  };
}

let buckets = 0;

/**
 * The S3 sink's destination: a bucket of its own on a real radosgw, behind the kit's fault
 * proxy (radosgw cannot refuse on demand). What arrived: the objects radosgw accepted, in
 * the order it accepted them, read from the PUT bodies (the sink's json format: the event).
 */
export async function s3Destination(rgw: Radosgw): Promise<ContractDestination> {
  const bucket = `relay-contract-${process.pid}-${++buckets}`;
  await s3ClientFor(rgw).send(new CreateBucketCommand({ Bucket: bucket }));
  return faultProxy({
    target: rgw.endpoint,
    options: (url) => ({
      bucket,
      endpoint: url,
      force_path_style: true,
      access_key_id: rgw.accessKeyId,
      secret_access_key: rgw.secretAccessKey,
      format: 'json',
      event_key: '{{id}}/{{delivery_id}}.json',
    }),
    permanentStatus: 403,
    refusal: (status) => ({
      contentType: 'application/xml',
      body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${status === 403 ? 'AccessDenied' : 'SlowDown'}</Code><Message>refused by the fault proxy</Message></Error>`,
    }),
    // A PUT body may come aws-chunked (a checksum trailer): the JSON is between its braces.
    eventsOf: ({ method, body }) => (method === 'PUT' && body.includes('{') ? [eventOfBody(body.slice(body.indexOf('{'), body.lastIndexOf('}') + 1))] : []),
  });
}

type WriteCallback = (err?: Error | null) => void;

/**
 * The stdout sink's destination: the process's own standard output, its `write` wrapped
 * while the test runs. Refusing fails the write as a closed pipe does (EPIPE) — the only
 * way a standard output refuses. A write to a pipe cannot be aborted once handed to Node,
 * so there is no slowDown (the slow-write cases are skipped, by name); nor refuseJob
 * (the stdout sink writes a batch at once).
 */
export function stdoutDestination(): ContractDestination {
  const original = process.stdout.write;
  const accepted: string[] = [];
  let mode: 'ok' | 'refuse' | 'refuse-once' = 'ok';
  const events = (text: string): string[] | null => {
    try {
      return text.split('\n').filter(Boolean).map(eventOfBody);
    } catch {
      return null; // not the sink's: someone else's output
    }
  };
  process.stdout.write = function (this: NodeJS.WriteStream, chunk: unknown, encoding?: unknown, callback?: unknown) {
    const done = (typeof encoding === 'function' ? encoding : callback) as WriteCallback | undefined;
    const written = events(String(chunk));
    if (!written) return original.call(this, chunk as string, encoding as BufferEncoding, callback as WriteCallback);
    if (mode !== 'ok') {
      if (mode === 'refuse-once') mode = 'ok';
      setImmediate(() => done?.(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })));
      return false;
    }
    accepted.push(...written);
    setImmediate(() => done?.());
    return true;
  } as typeof process.stdout.write;
  return {
    options: { format: 'event' },
    received: () => accepted,
    refuse: () => void (mode = 'refuse'),
    refuseOnce: () => void (mode = 'refuse-once'),
    restore: () => void (mode = 'ok'),
    close: async () => {
      process.stdout.write = original;
    },
  };
}
