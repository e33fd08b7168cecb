import { Ajv } from 'ajv';
import type { FastifySchema } from 'fastify';

// RFC 3339 as `toISOString()` writes it (offset or Z; seconds and fractions optional).
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * The admin routes' validator. Unlike Fastify's default it refuses unknown properties
 * instead of removing them: a drop of `{ "sink": "s3", "jb": "x" }` must fail, not drop
 * every dead letter of s3. Query strings are coerced (`?limit=5` is a number).
 */
const ajv = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
ajv.addFormat('date-time', { type: 'string', validate: (value: string) => DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)) });

export const adminValidator = ({ schema }: { schema: FastifySchema }) => ajv.compile(schema as object);
