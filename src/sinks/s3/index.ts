import { HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { defineSink, PermanentError } from '../../plugin-api/index.js';
import { movedOptions } from '../moved-options.js';
import { compileS3Templates, objectsOf, type S3Object } from './objects.js';
import { S3_OPTIONS_SCHEMA, type S3SinkOptions } from './options.js';
import { classifyS3Error } from './s3-errors.js';

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
        let statusCode: number | undefined;
        for (const object of objects) {
          try {
            statusCode = (await put(object, signal)).$metadata.httpStatusCode;
          } catch (err) {
            throw classifyS3Error(err, options.bucket);
          }
        }
        ctx.logger.debug({ objects: objects.length }, 'objects written');
        // The last PUT's status, as the webhook sink records its receiver's answer.
        return statusCode === undefined ? undefined : { statusCode };
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
