import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

/**
 * A real HTTP server on 127.0.0.1 that records every request and answers with
 * `respond` (200 "ok" by default): the stand-in for Slack or a user's webhook endpoint.
 */
export async function startReceiver(
  respond: (request: ReceivedRequest, response: ServerResponse, count: number) => void = (_r, response) => response.end('ok'),
) {
  const requests: ReceivedRequest[] = [];
  const receiver = { requests, respond };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
      requests.push(request);
      receiver.respond(request, res, requests.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}`,
    json: (i: number) => JSON.parse(requests[i]!.body.toString('utf8')) as Record<string, any>,
    // Keep-alive sockets (fetch's) would hold close() open for seconds: ended with it.
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}
