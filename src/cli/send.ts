import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { RelayError } from '../errors.js';
import { sign } from '../ingress/verify.js';
import { sample } from './samples.js';

export interface SendOptions {
  url: string;
  secret?: string;
  file?: string;
  sample?: string;
  jobId?: string;
  /** Pins the sample's `webhookId`; by default each post gets a fresh one, as Firecrawl sends. */
  webhookId?: string;
  headers?: Record<string, string>;
}

/**
 * The body `send` posts: a file as it is (byte for byte, unless `jobId` or `webhookId` is
 * given: then its event with those set), or a sample with a fresh (or given) job id and,
 * when the sample carries a `webhookId` or one is given, a fresh (or the given) one: a fixed
 * id would make the relay take every send after the first for a duplicate.
 */
export function bodyToSend(options: Pick<SendOptions, 'file' | 'sample' | 'jobId' | 'webhookId'>): Buffer {
  if (options.file) return fileToSend(options.file, options);
  const event = sample(options.sample!);
  event.id = options.jobId ?? randomUUID();
  if (options.webhookId !== undefined) event.webhookId = options.webhookId;
  else if (event.webhookId !== undefined) event.webhookId = randomUUID();
  return Buffer.from(JSON.stringify(event));
}

function fileToSend(file: string, { jobId, webhookId }: Pick<SendOptions, 'jobId' | 'webhookId'>): Buffer {
  const bytes = readFileSync(file);
  if (jobId === undefined && webhookId === undefined) return bytes;
  let event: unknown;
  try {
    event = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new RelayError('RELAY_ERR_CLI_USAGE', [`--job-id and --webhook-id need ${file} to hold a JSON object, got: ${(err as Error).message}`]);
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new RelayError('RELAY_ERR_CLI_USAGE', [`--job-id and --webhook-id need ${file} to hold a JSON object, got ${Array.isArray(event) ? 'an array' : typeof event}`]);
  }
  const fields = event as Record<string, unknown>;
  if (jobId !== undefined) fields.id = jobId;
  if (webhookId !== undefined) fields.webhookId = webhookId;
  return Buffer.from(JSON.stringify(fields));
}

/** Posts a signed webhook as Firecrawl would; returns the relay's answer. */
export async function send(options: SendOptions): Promise<{ status: number; body: string }> {
  const body = bodyToSend(options);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'firecrawl-relay-send',
    ...options.headers,
  };
  if (options.secret !== undefined) headers['x-firecrawl-signature'] = sign(options.secret, body);
  const { status, text } = await post(new URL(options.url), headers, body);
  if (status < 200 || status > 299) throw new RelayError('RELAY_ERR_CLI_SEND', [status, text]);
  return { status, body: text };
}

/** node:http, not fetch: loading fetch's undici took more CPU than all the rest of `send`. */
function post(url: URL, headers: Record<string, string>, body: Buffer): Promise<{ status: number; text: string }> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
