import { HeadBucketCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { defineSink, PermanentError, RetryableError } from '../../plugin-api/index.js';
import { movedOptions } from '../moved-options.js';
import { compileS3Templates, objectsOf, type S3Object } from './objects.js';
import { S3_OPTIONS_SCHEMA, type S3SinkOptions } from './options.js';

/** S3 errors no retry can fix: the event is dead-lettered with the reason. */
const PERMANENT = new Set(['NoSuchBucket', 'AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidBucketName', 'EntityTooLarge', 'KMS.NotFoundException']);

function classify(error: unknown, bucket: string): Error {
  if (error instanceof S3ServiceException) {
    const status = error.$metadata.httpStatusCode ?? 0;
    const reason = `S3 ${error.name}${status ? ` (HTTP ${status})` : ''}: ${error.message}`;
    if (error.name === 'NoSuchBucket') return new PermanentError(`bucket "${bucket}" does not exist: ${reason}`, { cause: error });
    if (PERMANENT.has(error.name) || (status >= 400 && status < 500 && status !== 408 && status !== 429)) {
      return new PermanentError(reason, { cause: error });
    }
    return new RetryableError(reason, { cause: error });
  }
  return new RetryableError(error instanceof Error ? error.message : String(error), { cause: error });
}

export default defineSink({
  type: 's3',
  configSchema: S3_OPTIONS_SCHEMA,
  check: (options) => [...movedOptions(options), ...compileS3Templates(options).problems],
  create(options, ctx) {
    const { templates } = compileS3Templates(options);
    const client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.force_path_style,
      ...(options.access_key_id && options.secret_access_key
        ? {
            credentials: {
              accessKeyId: options.access_key_id,
              secretAccessKey: options.secret_access_key,
              ...(options.session_token ? { sessionToken: options.session_token } : {}),
            },
          }
        : {}),
      // S3-compatible stores mangle or refuse the SDK's default checksummed bodies.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // The relay retries with its own backoff; the SDK's retries stay short.
      maxAttempts: 2,
      requestHandler: { requestTimeout: options.request_timeout_ms, connectionTimeout: 5000 },
    });

    const put = (object: S3Object, signal: AbortSignal) =>
      client.send(
        new PutObjectCommand({
          Bucket: options.bucket,
          Key: object.key,
          Body: object.body,
          ContentType: object.contentType,
          Metadata: object.metadata,
          ...(options.server_side_encryption ? { ServerSideEncryption: options.server_side_encryption } : {}),
          ...(options.kms_key_id ? { SSEKMSKeyId: options.kms_key_id } : {}),
        }),
        { abortSignal: signal },
      );

    return {
      async deliver(event, signal) {
        let objects: S3Object[];
        try {
          objects = objectsOf(event, options, templates);
        } catch (err) {
          // A key template that does not resolve for this event will not on a retry either.
          throw new PermanentError((err as Error).message);
        }
        // One object after the other: the relay runs jobs side by side (max_in_flight).
        for (const object of objects) {
          try {
            await put(object, signal);
          } catch (err) {
            throw classify(err, options.bucket);
          }
        }
        ctx.logger.debug({ objects: objects.length }, 'objects written');
      },
      async healthcheck(signal) {
        await client.send(new HeadBucketCommand({ Bucket: options.bucket }), { abortSignal: signal });
      },
      async close() {
        client.destroy();
      },
    };
  },
});
