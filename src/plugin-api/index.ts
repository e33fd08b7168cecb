/**
 * firecrawl-relay/plugin-api: the one public surface for sinks. Built-in sinks
 * (src/sinks/<type>/) are written against exactly this module, like plugins are.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import type { SinkDefinition } from './types.js';

export type {
  BatchSink,
  DeliverResult,
  DeliveryDefaults,
  EventSink,
  DeepReadonly,
  FirecrawlPayload,
  JsonSchema,
  OptionProblem,
  RetryDefaults,
  RelayEvent,
  Sink,
  SinkContext,
  SinkDefinition,
  WriteResult,
} from './types.js';
export { NotConnectedError, PermanentError, RetryableError } from './errors.js';
export { errorText } from './error-text.js';
export { webhookIdOf } from './webhook-id.js';
export {
  boundedPagesOf,
  checkPageCount,
  DEFAULT_MAX_PAGES_PER_EVENT,
  MAX_PAGES_PER_EVENT_OPTION,
  pagesOf,
  pageKey,
  pageToMarkdown,
  type Page,
} from './pages.js';
export { rawLine, rawWithRelay } from './raw-json.js';
export { decodePathSegment, encodePathSegment, MAX_SEGMENT_BYTES } from './path-segment.js';
export { parseRetryAfter } from './http.js';
export { Enum, Type, type Static, type TSchema } from './schema.js';
export { compileTemplate, TEMPLATE_VARIABLES, type Template, type TemplateInput, type TemplateScope } from './template.js';

/**
 * Declares a sink; the identity function, there for the types. The options type is derived
 * from `configSchema` (a TypeBox schema), so schema and type cannot drift apart:
 *
 *   defineSink({ type: 'pages_db', configSchema: Type.Object({ path: Type.String() }),
 *                create(options) { options.path … } })
 */
export function defineSink<const Schema extends TSchema>(
  definition: Omit<SinkDefinition<Static<Schema>>, 'configSchema'> & { readonly configSchema: Schema },
): SinkDefinition<Static<Schema>> {
  return definition;
}
