import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SourceAuth, SourceConfig } from '../config/types.js';
import { RelayError } from '../errors.js';

export const SIGNATURE_HEADER = 'x-firecrawl-signature';
const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

export type Headers = Record<string, string | string[] | undefined>;

/** Checks a request's credentials; returns the error to answer with, or null. `url` is path and query. */
export type Verifier = (headers: Headers, body: Buffer, url: string) => RelayError | null;

type TokenAuth = Extract<SourceAuth, { kind: 'token' }>;

/** A value that was sent once (a string), not at all (undefined), or more than once (null). */
function single(value: string | string[] | undefined): string | undefined | null {
  if (Array.isArray(value)) return value.length === 1 ? value[0] : null;
  return value;
}

function queryValues(url: string, name: string): string[] {
  const start = url.indexOf('?');
  return start < 0 ? [] : new URLSearchParams(url.slice(start + 1)).getAll(name);
}

/** Every token value a request carries, and where: the header when it is sent, else the query parameter. */
function presentedTokens(auth: TokenAuth, headers: Headers, url: string): { values: string[]; where: string } {
  const header = auth.header === undefined ? undefined : headers[auth.header];
  if (header !== undefined || auth.query === undefined) return { values: header === undefined ? [] : [header].flat(), where: `${auth.header} header` };
  return { values: queryValues(url, auth.query), where: `"${auth.query}" query parameter` };
}

/** `the x-relay-token header or the "token" query parameter`, for the missing-token answer. */
function tokenPlaces(auth: TokenAuth): string {
  const places = [auth.header && `the ${auth.header} header`, auth.query && `the "${auth.query}" query parameter`];
  return places.filter(Boolean).join(' or ');
}

export function sign(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Compares two byte strings in time that depends only on their lengths. */
function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The hex digest an X-Firecrawl-Signature header carries, or the error a missing or malformed one gets. */
function signatureHex(headers: Headers): string | RelayError {
  const value = single(headers[SIGNATURE_HEADER]);
  if (value === undefined) return new RelayError('RELAY_ERR_INGRESS_SIGNATURE_MISSING');
  const parsed = value === null ? null : SIGNATURE.exec(value.trim());
  if (!parsed) {
    const got = value === null ? 'the header more than once' : describeSignature(value);
    return new RelayError('RELAY_ERR_INGRESS_SIGNATURE_MALFORMED', [got]);
  }
  return parsed[1]!;
}

/**
 * Whether a request carries credentials of the shape its source wants (present and well
 * formed; not yet checked against the body or the tokens). Checked before anything is
 * reserved for the body, so a request without them costs no memory and no wait.
 */
export function credentialsShapeError(auth: SourceAuth, headers: Headers, url: string): RelayError | null {
  switch (auth.kind) {
    case 'none':
      return null;
    case 'token':
      return presentedTokens(auth, headers, url).values.length === 0
        ? new RelayError('RELAY_ERR_INGRESS_TOKEN_MISSING', [tokenPlaces(auth)])
        : null;
    case 'signature': {
      const hex = signatureHex(headers);
      return hex instanceof RelayError ? hex : null;
    }
  }
}

/** Built once per source at load: secrets and tokens are turned into buffers here. */
export function createVerifier(source: SourceConfig): Verifier {
  const { auth } = source;
  switch (auth.kind) {
    case 'none':
      return () => null;
    case 'token': {
      const tokens = auth.tokens.map((t) => Buffer.from(t));
      const places = tokenPlaces(auth);
      return (headers, _body, url) => {
        const { values, where } = presentedTokens(auth, headers, url);
        if (values.length === 0) return new RelayError('RELAY_ERR_INGRESS_TOKEN_MISSING', [places]);
        if (values.length > 1) return new RelayError('RELAY_ERR_INGRESS_TOKEN_REPEATED', [where, values.length]);
        const given = Buffer.from(values[0]!);
        // Every token is compared, so timing does not tell which one matched.
        const ok = tokens.reduce((found, token) => sameBytes(given, token) || found, false);
        return ok ? null : new RelayError('RELAY_ERR_INGRESS_TOKEN_INVALID', [where, source.name]);
      };
    }
    case 'signature': {
      const secrets = [...auth.secrets];
      return (headers, body) => {
        const hex = signatureHex(headers);
        if (hex instanceof RelayError) return hex;
        // Upper or lower case hex digits: the same bytes.
        const given = Buffer.from(hex, 'hex');
        let ok = false;
        for (const secret of secrets) {
          const expected = createHmac('sha256', secret).update(body).digest();
          ok = sameBytes(given, expected) || ok;
        }
        return ok ? null : new RelayError('RELAY_ERR_INGRESS_SIGNATURE_MISMATCH', [source.name]);
      };
    }
  }
}

/** Says what was wrong with a signature header without echoing it. */
function describeSignature(value: string): string {
  const scheme = /^([A-Za-z0-9-]{1,16})=/.exec(value)?.[1];
  if (!scheme) return `a value without a "sha256=" prefix (${value.length} characters)`;
  if (scheme.toLowerCase() !== 'sha256') return `scheme "${scheme}"`;
  return `"sha256=" followed by ${value.length - 7} characters that are not 64 hex digits`;
}
