import { createServer, request as forward, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpFaults } from './http-faults.js';
import type { ContractDestination } from './sink-contract.js';

const plainRefusal = (): { contentType: string; body: string } => ({ contentType: 'text/plain', body: 'refused by the fault proxy' });

export interface FaultProxyOptions {
  /** The real endpoint behind the proxy, e.g. `http://127.0.0.1:7480` (an S3 server, an API). */
  target: string;
  /** The sink's options given the proxy's URL, e.g. `(url) => ({ endpoint: url, bucket })`. */
  options: (url: string) => Record<string, unknown>;
  /**
   * `<job id>:<error text>` of the events a request that carries events delivers (`[]` for
   * any other request: a HEAD, a list). Recorded once the real endpoint answered 2xx.
   */
  eventsOf: (request: { method: string; url: string; body: string }) => string[];
  /** The status that tells the sink no retry can help (400 unless given). */
  permanentStatus?: number;
  /**
   * The body of a refusal in the endpoint's own error format, so the sink's client reads it
   * as it would the real one's (S3: `<Error><Code>AccessDenied</Code>…`); plain text unless given.
   */
  refusal?: (status: number) => { contentType: string; body: string };
}

/**
 * A fault-injecting HTTP proxy in front of a real endpoint, for a sink whose destination
 * cannot refuse or slow down on demand (S3, a database's HTTP API): every request goes
 * through to the real server unless the suite asked for a fault, which the proxy answers
 * itself (503 while refusing, `permanentStatus` once, 503 for the requests carrying a
 * refused job) or holds back (slowed down, counting the requests the sink gave up on).
 * The sink's own client, signing and retries run as in production.
 */
export async function faultProxy({ target, options, eventsOf, permanentStatus = 400, refusal = plainRefusal }: FaultProxyOptions): Promise<ContractDestination> {
  const faults = httpFaults(permanentStatus);
  const accepted: string[] = [];
  const server = createServer((req, res) => {
    faults.watch(res);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const events = eventsOf({ method: req.method ?? '', url: req.url ?? '', body: body.toString('utf8') });
      const refuse = (status: number): void => {
        const { contentType, body: text } = refusal(status);
        res.writeHead(status, { 'content-type': contentType }).end(text);
      };
      const verdict = faults.verdict(events);
      if (verdict !== 'pass') {
        if ('refuse' in verdict) return refuse(verdict.refuse);
        return void setTimeout(() => !res.destroyed && refuse(503), verdict.slowMs).unref();
      }
      pass(req, body, (status) => {
        if (status >= 200 && status < 300) accepted.push(...events);
      }, res);
    });
  });
  /** Sends the request on unchanged (its Host header too: a signature covers it) and pipes the answer back. */
  function pass(req: IncomingMessage, body: Buffer, answered: (status: number) => void, res: ServerResponse): void {
    const upstream = forward(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (answer) => {
      answered(answer.statusCode ?? 0);
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => !res.headersSent && res.writeHead(502).end());
    upstream.end(body);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    options: options(url),
    received: () => accepted,
    ...faults.controls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
