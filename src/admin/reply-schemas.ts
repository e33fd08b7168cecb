import { Type, type TSchema } from '@sinclair/typebox';

/** Every admin error answer: `RelayError.toJSON()`. */
export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ pattern: '^RELAY_ERR_', description: 'stable, listed in docs/errors.md' }),
      message: Type.String({ description: 'what was expected, what was got, and where' }),
    }),
  },
  { additionalProperties: false },
);

export const errorReplies = { '4xx': ErrorBody, '5xx': ErrorBody } as const;

/** A route's answers: `ok` for 200, the error body otherwise. Used to serialise and for the OpenAPI document. */
export const replies = <T extends TSchema>(ok: T) => ({ 200: ok, ...errorReplies });

/** `type: [X, null]`: written once for the many nullable fields. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
