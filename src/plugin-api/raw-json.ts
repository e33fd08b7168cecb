/**
 * The received JSON object on one line, with `_relay` added textually before its closing
 * brace. The sender's bytes are kept (numbers such as 1e999 or integers beyond 2^53,
 * key order, escapes), which a parse and re-serialise would change. JSON allows raw line
 * breaks only between tokens, so turning them into spaces keeps it valid on one line.
 * A `_relay` the sender sent stays, and ours comes last: JSON readers keep the last one.
 * `raw` carries no BOM: the ingress strips it, and toEvent the one an older queue kept.
 */
export function rawWithRelay(raw: Buffer | string, relayFields: Record<string, unknown>): string {
  const text = (typeof raw === 'string' ? raw : raw.toString('utf8')).replace(/[\r\n]+/g, ' ').trimEnd();
  const close = text.length - 1;
  if (text[close] !== '}') throw new TypeError('expected the body of a JSON object');
  const empty = /^\s*\{\s*$/.test(text.slice(0, close));
  return `${text.slice(0, close).trimEnd()}${empty ? '' : ','}"_relay":${JSON.stringify(relayFields)}}`;
}

/** The received bytes on one line (stdout's `format: event`). */
export function rawLine(raw: Buffer | string): string {
  return (typeof raw === 'string' ? raw : raw.toString('utf8')).replace(/[\r\n]+/g, ' ').trim();
}
