import { NotConnectedError, PermanentError, RetryableError } from '../../plugin-api/index.js';

interface KafkaJsError extends Error {
  retriable?: boolean;
  type?: string;
  cause?: unknown;
}

const CONNECTION = /^KafkaJS(Connection|ConnectionClosed|BrokerNotFound|RequestTimeout)Error$|^KafkaJSLockTimeout$/;

/** The innermost error of kafkajs's wrappers (retries exceeded → the last real error). */
function root(error: KafkaJsError): KafkaJsError {
  let current = error;
  for (let depth = 0; depth < 5 && current.cause instanceof Error; depth++) current = current.cause as KafkaJsError;
  return current;
}

/**
 * Maps a kafkajs failure onto the relay's contract: connection trouble sends the sink
 * back to connect (readiness goes down, nothing is spent), a protocol error Kafka calls
 * non-retriable (message too large, invalid topic, not authorized) is permanent, the rest
 * is retried with backoff.
 */
export function classifyKafkaError(error: unknown): Error {
  if (!(error instanceof Error)) return new RetryableError(String(error));
  const cause = root(error as KafkaJsError);
  const message = cause === error ? error.message : `${error.message}: ${cause.message}`;
  if (CONNECTION.test(cause.name) || /ECONNREFUSED|ECONNRESET|not connected/i.test(cause.message)) {
    return new NotConnectedError(message, { cause: error });
  }
  if (cause.name === 'KafkaJSProtocolError' && cause.retriable === false) return new PermanentError(message, { cause: error });
  return new RetryableError(message, { cause: error });
}
