import { Enum, MAX_PAGES_PER_EVENT_OPTION, Type, type Static } from '../../plugin-api/index.js';
import { MAX_CONCURRENCY_MOVED } from '../moved-options.js';

export const DEFAULT_MARKDOWN_KEY = '{{type_group}}/{{id}}/{{page_key}}.md';
export const DEFAULT_JSON_KEY = '{{type_group}}/{{id}}/{{type_name}}-{{delivery_id}}.json';

const NON_EMPTY = { minLength: 1 };

/** The S3 sink's options: the schema validated at load, and (Static) their type. */
export const S3_OPTIONS_SCHEMA = Type.Object(
  {
    /** Release 0.1's; refused by `check` with where it went (`max_in_flight`). */
    max_concurrency: Type.Optional(MAX_CONCURRENCY_MOVED),
    bucket: Type.String({ minLength: 3, maxLength: 63 }),
    /** Template of a page object's key; deterministic, so a retry overwrites instead of duplicating. */
    key: Type.String({ ...NON_EMPTY, default: DEFAULT_MARKDOWN_KEY }),
    /** Template of a whole-event JSON object's key (format json, or an event without pages). */
    event_key: Type.String({ ...NON_EMPTY, default: DEFAULT_JSON_KEY }),
    /** `markdown`: one object per page with front matter; `json`: one object per event. */
    format: Enum(['markdown', 'json'], { default: 'markdown' }),
    region: Type.String({ ...NON_EMPTY, default: 'us-east-1' }),
    /** For S3-compatible stores (MinIO, Ceph radosgw, R2…). */
    endpoint: Type.Optional(Type.String({ pattern: '^https?://' })),
    force_path_style: Type.Boolean({ default: false }),
    /** Omit to use the AWS default chain (env, profile, instance role). */
    access_key_id: Type.Optional(Type.String(NON_EMPTY)),
    secret_access_key: Type.Optional(Type.String(NON_EMPTY)),
    session_token: Type.Optional(Type.String(NON_EMPTY)),
    content_type: Type.Optional(Type.String(NON_EMPTY)),
    /** Object metadata: name → template (event variables). Non-ASCII values are percent-encoded. */
    metadata: Type.Record(Type.String(), Type.String(), { default: {} }),
    server_side_encryption: Type.Optional(Enum(['AES256', 'aws:kms'])),
    kms_key_id: Type.Optional(Type.String(NON_EMPTY)),
    request_timeout_ms: Type.Integer({ minimum: 1, default: 60_000 }),
    /** format markdown: an event with more pages is dead-lettered instead of becoming that many objects. */
    max_pages_per_event: MAX_PAGES_PER_EVENT_OPTION,
  },
  { additionalProperties: false },
);

export type S3SinkOptions = Static<typeof S3_OPTIONS_SCHEMA>;
