import { MAX_CONCURRENCY_MOVED } from '../moved-options.js';
import { MAX_PAGES_PER_EVENT_OPTION, type JsonSchema } from '../../plugin-api/index.js';

export const DEFAULT_MARKDOWN_KEY = '{{type_group}}/{{id}}/{{page_key}}.md';
export const DEFAULT_JSON_KEY = '{{type_group}}/{{id}}/{{type_name}}-{{delivery_id}}.json';

export interface S3SinkOptions {
  bucket: string;
  /** Template of a page object's key; deterministic, so a retry overwrites instead of duplicating. */
  key: string;
  /** Template of a whole-event JSON object's key (format json, or an event without pages). */
  event_key: string;
  /** `markdown`: one object per page with front matter; `json`: one object per event. */
  format: 'markdown' | 'json';
  region: string;
  /** For S3-compatible stores (MinIO, Ceph radosgw, R2…). */
  endpoint?: string;
  force_path_style: boolean;
  /** Omit to use the AWS default chain (env, profile, instance role). */
  access_key_id?: string;
  secret_access_key?: string;
  session_token?: string;
  content_type?: string;
  /** Object metadata: name → template (event variables). Non-ASCII values are percent-encoded. */
  metadata: Record<string, string>;
  server_side_encryption?: 'AES256' | 'aws:kms';
  kms_key_id?: string;
  request_timeout_ms: number;
  /** format markdown: an event with more pages is dead-lettered instead of becoming that many objects. */
  max_pages_per_event: number;
  /** Release 0.1's; refused by `check` with where it went (`max_in_flight`). */
  max_concurrency?: number;
}


export const S3_OPTIONS_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['bucket'],
  properties: {
    max_concurrency: MAX_CONCURRENCY_MOVED,
    bucket: { type: 'string', minLength: 3, maxLength: 63 },
    key: { type: 'string', minLength: 1, default: DEFAULT_MARKDOWN_KEY },
    event_key: { type: 'string', minLength: 1, default: DEFAULT_JSON_KEY },
    format: { enum: ['markdown', 'json'], default: 'markdown' },
    region: { type: 'string', minLength: 1, default: 'us-east-1' },
    endpoint: { type: 'string', pattern: '^https?://' },
    force_path_style: { type: 'boolean', default: false },
    access_key_id: { type: 'string', minLength: 1 },
    secret_access_key: { type: 'string', minLength: 1 },
    session_token: { type: 'string', minLength: 1 },
    content_type: { type: 'string', minLength: 1 },
    metadata: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
    server_side_encryption: { enum: ['AES256', 'aws:kms'] },
    kms_key_id: { type: 'string', minLength: 1 },
    request_timeout_ms: { type: 'integer', minimum: 1, default: 60_000 },
    max_pages_per_event: MAX_PAGES_PER_EVENT_OPTION,
  },
};
