import { S3ServiceException } from '@aws-sdk/client-s3';
import { PermanentError, RetryableError } from '../../plugin-api/index.js';

/** S3 errors no retry can fix: the event is dead-lettered with the reason. */
const PERMANENT = new Set(['NoSuchBucket', 'AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidBucketName', 'EntityTooLarge', 'KMS.NotFoundException']);

/** The SDK's stand-ins when a response had no parsable error body (a bare 431, a proxy's 502). */
const NO_CODE = new Set(['Unknown', 'UnknownError']);
const MAX_MESSAGE_CHARS = 500;

/**
 * The text of an XML <Message>: the SDK hands a nested element over as an object, which
 * would print "[object Object]"; its string leaves are what a reader needs.
 */
function messageText(value: unknown): string {
  if (typeof value === 'string') return NO_CODE.has(value) ? '' : value;
  if (value === null || typeof value !== 'object') return value === undefined || value === null ? '' : String(value);
  return Object.values(value)
    .map(messageText)
    .filter((text) => text !== '')
    .join(' ');
}

/** "S3 AccessDenied (HTTP 403): Access Denied", from the status, the Code and a string Message. */
export function s3Reason(error: S3ServiceException): { reason: string; code: string | undefined; status: number | undefined } {
  const status = error.$metadata?.httpStatusCode;
  const raw = (error as { Code?: unknown }).Code ?? error.name;
  const code = typeof raw === 'string' && !NO_CODE.has(raw) ? raw : undefined;
  const message = messageText((error as { message: unknown }).message).slice(0, MAX_MESSAGE_CHARS);
  const head = `S3 ${code ?? 'error without a code'}${status ? ` (HTTP ${status})` : ''}`;
  return { reason: message ? `${head}: ${message}` : head, code, status };
}

/** A failed S3 call as the relay's retry or dead-letter error, with the HTTP status for the attempt. */
export function classifyS3Error(error: unknown, bucket: string): Error {
  if (error instanceof S3ServiceException) {
    const { reason, code, status } = s3Reason(error);
    const statusCode = status ? { statusCode: status } : {};
    if (code === 'NoSuchBucket') return new PermanentError(`bucket "${bucket}" does not exist: ${reason}`, { cause: error, ...statusCode });
    const httpStatus = status ?? 0;
    if ((code !== undefined && PERMANENT.has(code)) || (httpStatus >= 400 && httpStatus < 500 && httpStatus !== 408 && httpStatus !== 429)) {
      return new PermanentError(reason, { cause: error, ...statusCode });
    }
    return new RetryableError(reason, { cause: error, ...statusCode });
  }
  return new RetryableError(error instanceof Error ? error.message : String(error), { cause: error });
}
