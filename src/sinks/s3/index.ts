import { HeadBucketCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { defineSink, PermanentError, RetryableError, type WriteResult } from '../../plugin-api/index.js';
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

/** Runs `work` over `items` with at most `limit` in flight. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

export default defineSink<S3SinkOptions>({
  type: 's3',
  configSchema: S3_OPTIONS_SCHEMA,
  check: (options) => compileS3Templates(options).problems,
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
      async write(batch, signal): Promise<WriteResult> {
        const failed = new Map<number, unknown>();
        const uploads: Array<{ index: number; object: S3Object }> = [];
        batch.forEach((event, index) => {
          try {
            for (const object of objectsOf(event, options, templates)) uploads.push({ index, object });
          } catch (err) {
            failed.set(index, new PermanentError((err as Error).message));
          }
        });
        await eachLimited(uploads, options.max_concurrency, async ({ index, object }) => {
          if (failed.has(index)) return;
          try {
            await put(object, signal);
          } catch (err) {
            failed.set(index, classify(err, options.bucket));
          }
        });
        ctx.logger.debug({ count: batch.length, objects: uploads.length, failed: failed.size }, 'objects written');
        return { failed: [...failed].map(([index, error]) => ({ index, error })) };
      },
      async healthcheck() {
        await client.send(new HeadBucketCommand({ Bucket: options.bucket }));
      },
      async close() {
        client.destroy();
      },
    };
  },
});
