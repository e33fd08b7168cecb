import { errorText } from './error-text.js';
import { elementKey, pageKey, pagesOf } from './pages.js';
import { webhookIdOf } from './webhook-id.js';
import type { RelayEvent } from './types.js';

/**
 * One small template syntax for every sink: `{{type}}`, `{{id}}`, `{{metadata.team}}`,
 * `{{data.0.metadata.scrapeId}}`, with a default after `|`: `{{metadata.team | none}}`.
 * Compiled once at load; rendering is a walk over pre-split paths.
 */

/** Variables of every event. */
const EVENT_ROOTS = {
  type: 'the event type, e.g. crawl.page',
  type_group: 'the part of the type before the first dot, e.g. crawl',
  type_name: 'the part after the last dot, e.g. page',
  id: 'the job id',
  job_id: 'the job id (same as id)',
  success: 'true or false',
  webhookId: "Firecrawl's delivery id, when it sent one",
  error: 'the error of a failed event: its message, or compact JSON when the sender wrote an object',
  metadata: 'the custom metadata of the webhook config',
  data: 'the event data',
  source: 'the relay source that accepted it',
  delivery_id: "the relay's delivery id (stable across retries)",
  event_id: "the relay's event id",
  received_at: 'when the relay accepted it (ISO 8601)',
} as const;

/** Variables of one element of `data`, for sinks that write an element at a time. */
const ITEM_ROOTS = {
  item: 'the element of data',
  index: 'its position in data',
  scrapeId: 'the page scrape id (item.metadata.scrapeId)',
  url: 'the page url (item.metadata.url or sourceURL)',
  page_key: 'the scrape id, else a hash of the url: a stable file name for the page',
} as const;

export type TemplateScope = 'event' | 'item';

export interface TemplateInput {
  event: RelayEvent;
  /** The element of `data` being written, for item-scoped templates. */
  item?: unknown;
  index?: number;
}

type Part = { text: string } | { path: string[]; fallback: string | undefined; source: string };

export interface Template {
  readonly source: string;
  /** True when the template has no variables. */
  readonly constant: boolean;
  /** The rendered text, or undefined when a variable without default did not resolve. */
  render(input: TemplateInput): string | undefined;
  /** Like render, but throws an Error naming the variable that did not resolve. */
  renderOrThrow(input: TemplateInput): string;
}

const TAG = /\{\{([^{}]*)\}\}/g;
const PATH = /^[A-Za-z_$][A-Za-z0-9_$-]*(\.[A-Za-z0-9_$-]+)*$/;

function lookup(value: unknown, path: readonly string[], from: number): unknown {
  let current = value;
  for (let i = from; i < path.length; i++) {
    if (current === null || typeof current !== 'object') return undefined;
    const key = path[i]!;
    if (!Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function itemMetadata(item: unknown, key: string): unknown {
  const metadata = lookup(item, ['metadata'], 0);
  return lookup(metadata, [key], 0);
}

function resolve(path: readonly string[], input: TemplateInput): unknown {
  const { event } = input;
  const root = path[0]!;
  switch (root) {
    case 'type':
      return event.type;
    case 'type_group':
      return event.type.split('.')[0];
    case 'type_name':
      return event.type.split('.').at(-1);
    case 'id':
    case 'job_id':
      return event.jobId;
    case 'success':
      return event.success;
    case 'source':
      return event.source;
    case 'delivery_id':
      return event.deliveryId;
    case 'event_id':
      return event.eventId;
    case 'received_at':
      return event.receivedAt.toISOString();
    case 'error':
      // `{{error}}` as text whatever its JSON; `{{error.message}}` walks into an object.
      return path.length === 1 ? errorText(event.payload.error) : lookup(event.payload, path, 0);
    case 'webhookId':
      return webhookIdOf(event.payload);
    case 'metadata':
    case 'data':
      return lookup(event.payload, path, 0);
    case 'item':
      return lookup(input.item, path, 1);
    case 'index':
      return input.index;
    case 'scrapeId':
      return itemMetadata(input.item, 'scrapeId');
    case 'url':
      return itemMetadata(input.item, 'url') ?? itemMetadata(input.item, 'sourceURL') ?? lookup(input.item, ['url'], 0);
    case 'page_key': {
      if (input.index === undefined) return undefined;
      const page = pagesOf({ payload: { ...event.payload, data: [input.item] } })[0];
      return page ? pageKey({ ...page, index: input.index }, event) : elementKey(event, input.index);
    }
    default:
      return undefined;
  }
}

function scalar(value: unknown): string | undefined {
  if (typeof value === 'string') return value.length > 0 ? value : undefined;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/**
 * Compiles a template, or returns why it can never resolve: a syntax error, an unknown
 * variable, or an element variable in a template that is rendered once per event.
 * `encode`, when given, is applied to every value taken from an event (not to the
 * template's own text or defaults): a path-segment encoding for object keys, escaping
 * for Slack text, so a payload can never add structure to what the template builds.
 */
export function compileTemplate(
  source: string,
  scope: TemplateScope = 'event',
  encode?: (value: string) => string,
): Template | string {
  const parts: Part[] = [];
  let last = 0;
  for (const match of source.matchAll(TAG)) {
    if (match.index > last) parts.push({ text: source.slice(last, match.index) });
    last = match.index + match[0].length;
    const [expression = '', fallback] = match[1]!.split('|', 2).map((s) => s.trim());
    if (!PATH.test(expression)) return `expected a variable such as {{type}} or {{metadata.team | default}}, got "${match[0]}"`;
    const path = expression.split('.');
    const root = path[0]!;
    if (root in ITEM_ROOTS && scope === 'event') {
      return `{{${expression}}} can never resolve: "${root}" exists only when each element of data is written apart (split: data)`;
    }
    if (!(root in EVENT_ROOTS) && !(root in ITEM_ROOTS)) {
      const known = [...Object.keys(EVENT_ROOTS), ...(scope === 'item' ? Object.keys(ITEM_ROOTS) : [])];
      return `{{${expression}}} can never resolve: unknown variable "${root}" (known: ${known.join(', ')})`;
    }
    parts.push({ path, fallback, source: match[0] });
  }
  const rest = source.slice(last);
  const lone = rest.includes('{{') ? '{{' : rest.includes('}}') ? '}}' : undefined;
  // Where, not what: a template may sit in a header that carries a credential.
  if (lone) return `expected every "{{" closed by "}}", got a lone "${lone}" at character ${last + rest.indexOf(lone) + 1}`;
  if (rest) parts.push({ text: rest });

  const render = (input: TemplateInput): string | undefined => {
    let out = '';
    for (const part of parts) {
      if ('text' in part) out += part.text;
      else {
        const resolved = scalar(resolve(part.path, input));
        // page_key is a path segment the relay formatted already (pageKey).
        const value = resolved === undefined ? part.fallback : encode && part.path[0] !== 'page_key' ? encode(resolved) : resolved;
        if (value === undefined) return undefined;
        out += value;
      }
    }
    return out;
  };
  return {
    source,
    constant: parts.every((p) => 'text' in p),
    render,
    renderOrThrow(input) {
      const out = render(input);
      if (out !== undefined) return out;
      const missing = parts.find((p) => 'path' in p && scalar(resolve(p.path, input)) === undefined && p.fallback === undefined);
      throw new Error(`template "${source}": ${missing && 'source' in missing ? missing.source : 'a variable'} did not resolve for this event and has no default`);
    },
  };
}

/** The variables a template may use, for documentation and error messages. */
export const TEMPLATE_VARIABLES = { ...EVENT_ROOTS, ...ITEM_ROOTS };
