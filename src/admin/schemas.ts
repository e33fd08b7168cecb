/** JSON schemas of the admin routes: validation, and the OpenAPI document at /admin/openapi.json. */
import { KNOWN_EVENT_TYPES } from '../routing/event-types.js';
import { errorReplies } from './reply-schemas.js';

const outcome = { type: 'string', enum: ['pending', 'retrying', 'delivered', 'dead_lettered', 'dropped'] } as const;
const eventOutcome = { type: 'string', enum: [...outcome.enum, 'unrouted'] } as const;

export const eventFilterQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    type: { type: 'string', description: 'event type, e.g. crawl.page; a trailing * matches a prefix: crawl.* is every crawl event' },
    url: { type: 'string', maxLength: 2048, description: 'page events whose URL (stored at ingress) contains this, in any case' },
    job: { type: 'string', description: 'Firecrawl job id' },
    sink: { type: 'string' },
    outcome: { ...eventOutcome, description: 'with sink: that sink’s outcome; else any sink’s; unrouted: events no route matched (kept while history is on)' },
    since: { type: 'string', format: 'date-time' },
    until: { type: 'string', format: 'date-time' },
    order: { type: 'string', enum: ['desc', 'asc'], default: 'desc', description: 'desc: newest first; asc: oldest first (a job in order)' },
    cursor: { type: 'integer', minimum: 1, description: 'the next_cursor of the previous page' },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  },
} as const;

const eventSummary = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    received_at: { type: 'string', format: 'date-time' },
    source: { type: 'string' },
    type: { type: 'string' },
    job_id: { type: 'string' },
    url: { type: ['string', 'null'], description: 'page events: the first page’s metadata.url (else sourceURL), as sent, at most 2048 characters; else null' },
    sinks: { type: 'object', additionalProperties: outcome },
    outcome: { type: ['string', 'null'], enum: ['unrouted', null], description: 'unrouted: no route matched it (no sinks; the detail’s routing says why); else null' },
  },
} as const;

export const eventListResponse = {
  200: {
    type: 'object',
    properties: {
      events: { type: 'array', items: eventSummary },
      next_cursor: { type: ['integer', 'null'], description: 'pass as cursor (same order) for the next page; null on the last' },
      history: { type: 'boolean', description: 'false: delivered events are not kept (history.retention_seconds 0, or PostgreSQL)' },
    },
  },
  ...errorReplies,
} as const;

export const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } } as const;
export const sinkParams = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } as const;

export const backfillBody = {
  type: 'object',
  additionalProperties: false,
  required: ['sink', 'since'],
  properties: {
    sink: { type: 'string' },
    since: { type: 'string', format: 'date-time' },
    until: { type: 'string', format: 'date-time' },
    type: { type: 'string', description: 'event type, or a prefix ending in *: crawl.*' },
    job: { type: 'string' },
    url: { type: 'string', maxLength: 2048, description: 'page events whose URL contains this, in any case' },
    ignore_routes: {
      type: 'boolean',
      default: false,
      description: 'false: only events the routes in force now would send to this sink; true: every event of the filter',
    },
  },
} as const;

export const testEventBody = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  // The enum is what the console's test page offers (it reads this document).
  properties: { type: { type: 'string', enum: [...KNOWN_EVENT_TYPES], description: 'a documented event type; a sample of it is accepted' } },
} as const;
