import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Relay } from '../../src/relay.js';
import { SECRET, configYaml, tempDir, testConfig, testRelay } from '../helpers/relay.js';
import { until } from '../helpers/sinks.js';
import { sampleEvent } from '../helpers/webhooks.js';
import { sign } from '../../src/ingress/verify.js';

/** 32 MiB: the body limit, what an idle connection declares to hold the most room. */
const DECLARED = 33_554_432;
const LOOKS_SIGNED = `sha256=${'ab'.repeat(32)}`;

let relay: Relay;
let cleanup: () => void;
let port: number;
const sockets: Socket[] = [];

async function start(server = ''): Promise<void> {
  const tmp = tempDir('relay-slow-');
  cleanup = tmp.cleanup;
  relay = await testRelay(testConfig(configYaml(tmp.dir, `${server}\nsinks: { out: { type: stdout, format: summary } }\nroutes: [{ name: all, to: [out] }]\n`)));
  await relay.listen(0);
  port = (relay.app.server.address() as { port: number }).port;
}

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await relay.close();
  cleanup();
});

const inflight = async (): Promise<number> => (await relay.metrics.ingressInflightBytes.get()).values[0]?.value ?? 0;

/**
 * A raw connection from `localAddress` that sends `head` (request line and headers, or
 * part of them) and then nothing. `answer` is the status line it got, or 'closed'.
 */
function stall(head: string, localAddress = '127.0.0.1', allowHalfOpen = false): { answer: Promise<string> } {
  const socket = connect({ host: '127.0.0.1', port, localAddress, allowHalfOpen });
  sockets.push(socket);
  let text = '';
  const answer = new Promise<string>((resolve) => {
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (text.includes('\r\n\r\n')) resolve(`${text.split('\r\n')[0]} ${/"code":"([A-Z_]+)"/.exec(text)?.[1] ?? ''}`.trim());
    });
    socket.on('close', () => resolve(text ? text.split('\r\n')[0]! : 'closed'));
    socket.on('error', () => {});
  });
  socket.write(head);
  return { answer };
}

const stalledPost = (signature: string | null, localAddress?: string) =>
  stall(
    [
      'POST /webhooks/firecrawl HTTP/1.1',
      'Host: relay',
      'Content-Type: application/json',
      `Content-Length: ${DECLARED}`,
      ...(signature === null ? [] : [`X-Firecrawl-Signature: ${signature}`]),
      '',
      '{',
    ].join('\r\n'),
    localAddress,
  );

/** A POST declaring 256 KiB that sends `bytes` of its body from `localAddress`, then stalls. */
const partialPost = (bytes: number, localAddress: string) =>
  stall(
    ['POST /webhooks/firecrawl HTTP/1.1', 'Host: relay', 'Content-Type: application/json', 'Content-Length: 262144', `X-Firecrawl-Signature: ${LOOKS_SIGNED}`, '', ' '.repeat(bytes)].join('\r\n'),
    localAddress,
  );

/** A signed webhook sent from `localAddress` (all of 127/8 is loopback on Linux): its status and error code. */
function post(localAddress: string, id: string): Promise<string> {
  const body = JSON.stringify(sampleEvent('crawl.completed', { id }));
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, localAddress, path: '/webhooks/firecrawl', method: 'POST', headers: { 'content-type': 'application/json', 'x-firecrawl-signature': sign(SECRET, body) } },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(`${res.statusCode} ${/"code":"([A-Z_]+)"/.exec(text)?.[1] ?? ''}`.trim()));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('slow and idle senders', () => {
  // Bodies are charged as their bytes arrive, not by the Content-Length they declare (which
  // let 4 peers × 2 idle connections hold the whole 256 MiB budget): an idle one holds a byte.
  it('two idle 32 MiB uploads from each of four peers hold next to nothing: a fifth peer gets 200 at once', async () => {
    await start();
    const peers = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
    const idle = peers.flatMap((peer) => [stalledPost(LOOKS_SIGNED, peer), stalledPost(LOOKS_SIGNED, peer)]);
    await until(async () => (await inflight()) === idle.length);
    expect(await post('127.0.0.6', 'fifth-peer')).toBe('200');
    expect(await post('127.0.0.2', 'same-peer')).toBe('200');
    // The idle uploads are still open, holding the byte each sent (the body timeout cuts them).
    expect(await inflight()).toBe(idle.length);
  });

  it('refuses with 503 PEER_BUSY the chunk that would take one peer past its share, while others still get in', async () => {
    await start('server: { body_limit_bytes: 262144, max_inflight_bytes: 1048576, max_inflight_bytes_per_peer: 262144 }');
    // One upload from 127.0.0.2 sends 200 KiB and stalls: it holds that, under the share.
    const first = partialPost(204_800, '127.0.0.2');
    await until(async () => (await inflight()) === 204_800);
    // A second from the same peer is refused once its bytes would pass the 256 KiB share.
    const second = partialPost(102_400, '127.0.0.2');
    expect(await second.answer).toBe('HTTP/1.1 503 Service Unavailable RELAY_ERR_INGRESS_PEER_BUSY');
    expect(await post('127.0.0.3', 'other-peer')).toBe('200');
    expect(await inflight()).toBe(204_800);
    first.answer.catch(() => {});
  });

  // Four addresses each within their share held the whole budget, and a fifth holding
  // nothing got 503 BUSY: the global limit was applied before the per-address promise.
  it('four addresses within their share fill the budget: a fifth holding nothing still gets 200, a second from a full one gets 503', async () => {
    await start('server: { body_limit_bytes: 262144, max_inflight_bytes: 1048576, max_inflight_bytes_per_peer: 262144 }');
    const half = (peer: string) => partialPost(131_072, peer);
    const held = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'].flatMap((peer) => [half(peer), half(peer)]);
    await until(async () => (await inflight()) === 1_048_576);
    expect(await post('127.0.0.6', 'fifth-peer')).toBe('200');
    // Past the budget only an address holding nothing else gets in.
    expect(await half('127.0.0.2').answer).toBe('HTTP/1.1 503 Service Unavailable RELAY_ERR_INGRESS_BUSY');
    expect(await inflight()).toBe(1_048_576);
    for (const c of held) c.answer.catch(() => {});
  });

  it('past the budget, addresses holding nothing else share one more per-address share, no more', async () => {
    await start('server: { body_limit_bytes: 262144, max_inflight_bytes: 524288, max_inflight_bytes_per_peer: 262144 }');
    const body = (peer: string, bytes: number) => partialPost(bytes, peer);
    const held = [body('127.0.0.2', 262_144 - 1), body('127.0.0.3', 262_144 - 1)];
    await until(async () => (await inflight()) === 524_286);
    const over = [body('127.0.0.4', 200_000)];
    await until(async () => (await inflight()) === 724_286);
    // A fourth address holding nothing would take the overflow past one share: refused.
    expect(await body('127.0.0.5', 100_000).answer).toBe('HTTP/1.1 503 Service Unavailable RELAY_ERR_INGRESS_BUSY');
    expect(await inflight()).toBe(724_286);
    for (const c of [...held, ...over]) c.answer.catch(() => {});
  });

  it('refuses a request with no or a malformed signature before reserving anything for its body', async () => {
    await start();
    const missing = Array.from({ length: 8 }, () => stalledPost(null));
    const malformed = stalledPost('sha256=not-hex');
    expect(await Promise.all(missing.map((c) => c.answer))).toEqual(Array(8).fill('HTTP/1.1 401 Unauthorized RELAY_ERR_INGRESS_SIGNATURE_MISSING'));
    expect(await malformed.answer).toBe('HTTP/1.1 401 Unauthorized RELAY_ERR_INGRESS_SIGNATURE_MALFORMED');
    expect(await inflight()).toBe(0);
    expect(await post('127.0.0.1', 'same-peer')).toBe('200');
  });

  it('cuts off a body that stalls and headers that never end, gives the room back, and accepts nothing from them', async () => {
    await start('server: { headers_timeout_ms: 200, body_timeout_ms: 400 }');
    const body = stalledPost(LOOKS_SIGNED);
    const headers = stall('POST /webhooks/firecrawl HTTP/1.1\r\nHost: relay\r\nContent-Length: 10\r\nX-Fill');
    // The one byte of body it sent is what it holds, until the body timeout cuts it off.
    await until(async () => (await inflight()) === 1);
    expect(await body.answer).toBe('HTTP/1.1 408 Request Timeout RELAY_ERR_INGRESS_TIMEOUT');
    expect(await headers.answer).toBe('HTTP/1.1 408 Request Timeout RELAY_ERR_INGRESS_TIMEOUT');
    await until(async () => (await inflight()) === 0);
    expect((await relay.metrics.eventsReceived.get()).values.reduce((n, v) => n + v.value, 0)).toBe(0);
    expect(await post('127.0.0.1', 'after-timeout')).toBe('200');
  });

  // Both places src/app.ts sets it are needed: without Fastify's option the server had no
  // request timeout; without Node's, a headers timeout past 300 s threw at start.
  it('runs with the configured timeouts, even above Node\'s 300 s default', async () => {
    await start('server: { headers_timeout_ms: 400000, body_timeout_ms: 500000 }');
    expect([relay.app.server.headersTimeout, relay.app.server.requestTimeout]).toEqual([400_000, 500_000]);
  });

  /** Connections the relay's server has open now. */
  const openConnections = () => new Promise<number>((resolve, reject) => relay.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));

  it('closes the connection after a 408 even when the client keeps its side open', async () => {
    await start('server: { headers_timeout_ms: 200, body_timeout_ms: 400 }');
    // A client that never closes its side: end() alone would leave the server's socket half-open.
    const halfOpen = stall('POST /webhooks/firecrawl HTTP/1.1\r\nHost: relay\r\nContent-Length: 10\r\nX-Fill', '127.0.0.1', true);
    expect(await halfOpen.answer).toBe('HTTP/1.1 408 Request Timeout RELAY_ERR_INGRESS_TIMEOUT');
    await until(async () => (await openConnections()) === 0);
  });

  /** A raw connection from `localAddress` that sends nothing, once the server has taken it. */
  const idleConnection = (localAddress: string) =>
    new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, localAddress }, () => resolve(socket));
      sockets.push(socket);
      socket.on('error', reject);
    });
  const closedByServer = (socket: Socket) => socket.closed || socket.readableEnded;

  // One address holding every connection (idle keep-alive, or slowloris reconnecting) shut
  // the ingress for everyone: Node closed each newcomer once the total was reached.
  it('closes connections from one address past server.max_connections_per_address at once: another address still gets 200', async () => {
    await start('server: { max_connections: 16, max_connections_per_address: 4 }');
    const idle = await Promise.all(Array.from({ length: 16 }, () => idleConnection('127.0.0.2')));
    await until(async () => idle.filter(closedByServer).length === 12);
    expect(await openConnections()).toBe(4);
    expect(await post('127.0.0.1', 'other-address')).toBe('200');
  });

  it('at server.max_connections, closes the oldest idle connection so a new peer gets in', async () => {
    await start('server: { max_connections: 4, max_connections_per_address: 2 }');
    const idle: Socket[] = [];
    for (const peer of ['127.0.0.2', '127.0.0.2', '127.0.0.3', '127.0.0.3']) idle.push(await idleConnection(peer));
    await until(async () => (await openConnections()) === 4);
    expect(await post('127.0.0.1', 'new-peer')).toBe('200');
    // The oldest idle one made room; the others are still open.
    await until(async () => closedByServer(idle[0]!));
    expect(idle.slice(1).map(closedByServer)).toEqual([false, false, false]);
  });

  it('closes a connection past server.max_connections on arrival, and takes one again once another closed', async () => {
    await start('server: { max_connections: 2 }');
    const held = [stalledPost(LOOKS_SIGNED), stalledPost(LOOKS_SIGNED)];
    await until(async () => (await openConnections()) === 2);
    expect(await stall('GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n').answer).toBe('closed');
    for (const socket of sockets.splice(0)) socket.destroy();
    await Promise.all(held.map((c) => c.answer));
    await until(async () => (await openConnections()) === 0);
    expect(await post('127.0.0.1', 'after-close')).toBe('200');
  });
});
