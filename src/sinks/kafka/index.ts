import { Kafka, Partitioners, logLevel, type CompressionTypes, type Message, type PartitionMetadata } from 'kafkajs';
import { defineSink, PermanentError, type WriteResult } from '../../plugin-api/index.js';
import { classifyKafkaError } from './errors.js';
import { compileKafkaTemplates, messagesOf, type TopicMessage } from './messages.js';
import { KAFKA_OPTIONS_SCHEMA, type KafkaSinkOptions } from './options.js';

/** kafkajs's own retries stay short: the relay retries with its backoff and keeps the events queued. */
const CLIENT_RETRY = { retries: 3, initialRetryTime: 100, maxRetryTime: 2000 };
const GZIP = 1 as CompressionTypes;

export default defineSink({
  type: 'kafka',
  configSchema: KAFKA_OPTIONS_SCHEMA,
  check: (options) => compileKafkaTemplates(options).problems,
  create(options, ctx) {
    const { templates } = compileKafkaTemplates(options);
    const ssl = typeof options.ssl === 'boolean'
      ? options.ssl
      : { ca: options.ssl.ca, cert: options.ssl.cert, key: options.ssl.key, rejectUnauthorized: options.ssl.reject_unauthorized ?? true };
    const kafka = new Kafka({
      clientId: options.client_id,
      brokers: options.brokers,
      ssl,
      ...(options.sasl ? { sasl: { ...options.sasl } as never } : {}),
      connectionTimeout: options.connection_timeout_ms,
      requestTimeout: options.request_timeout_ms,
      retry: CLIENT_RETRY,
      logLevel: logLevel.WARN,
      // The relay reports failures once per batch; kafkajs's own lines go to debug.
      logCreator: () => ({ namespace, log }) => ctx.logger.debug({ namespace, error: log.error }, `kafkajs: ${log.message}`),
    });
    const producer = kafka.producer({
      allowAutoTopicCreation: true,
      idempotent: false,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: CLIENT_RETRY,
    });
    const admin = kafka.admin({ retry: CLIENT_RETRY });
    const partitioner = Partitioners.DefaultPartitioner();
    const partitions = new Map<string, PartitionMetadata[]>();

    async function partitionsOf(topics: string[]): Promise<void> {
      const unknown = topics.filter((t) => !partitions.has(t));
      if (unknown.length === 0) return;
      const { topics: found } = await admin.fetchTopicMetadata({ topics: unknown });
      for (const topic of found) partitions.set(topic.name, topic.partitions);
    }

    /** Messages grouped by the broker that leads their partition: one sendBatch each. */
    function byLeader(messages: Array<{ index: number } & TopicMessage>): Map<number, typeof messages> {
      const groups = new Map<number, typeof messages>();
      for (const entry of messages) {
        const partitionMetadata = partitions.get(entry.topic) ?? [];
        const partition = partitioner({ topic: entry.topic, partitionMetadata, message: entry.message });
        const leader = partitionMetadata.find((p) => p.partitionId === partition)?.leader ?? -1;
        entry.message.partition = partition;
        const group = groups.get(leader) ?? [];
        group.push(entry);
        groups.set(leader, group);
      }
      return groups;
    }

    return {
      async connect() {
        try {
          await producer.connect();
          await admin.connect();
        } catch (err) {
          throw classifyKafkaError(err);
        }
      },

      // Batch-native: one produce request per partition leader keeps each partition's order.
      async write(batch, signal): Promise<WriteResult> {
        const failed = new Map<number, unknown>();
        const pending: Array<{ index: number } & TopicMessage> = [];
        batch.forEach((event, index) => {
          try {
            for (const m of messagesOf(event, options, templates)) pending.push({ index, ...m });
          } catch (err) {
            // A template that does not resolve for this event will not on a retry either.
            failed.set(index, new PermanentError((err as Error).message));
          }
        });
        if (pending.length === 0) return { failed: [...failed].map(([index, error]) => ({ index, error })) };

        // kafkajs takes no signal: a produce request in flight ends by request_timeout_ms.
        signal.throwIfAborted();
        try {
          await partitionsOf([...new Set(pending.map((m) => m.topic))]);
        } catch (err) {
          throw classifyKafkaError(err);
        }

        signal.throwIfAborted();
        const sends = [...byLeader(pending).values()].map(async (group) => {
          const topicMessages = new Map<string, Message[]>();
          for (const { topic, message } of group) topicMessages.set(topic, [...(topicMessages.get(topic) ?? []), message]);
          try {
            await producer.sendBatch({
              topicMessages: [...topicMessages].map(([topic, messages]) => ({ topic, messages })),
              acks: options.acks,
              timeout: options.request_timeout_ms,
              ...(options.compression === 'gzip' ? { compression: GZIP } : {}),
            });
          } catch (err) {
            // Leaders may have moved: look them up again before the retry.
            for (const topic of topicMessages.keys()) partitions.delete(topic);
            const error = classifyKafkaError(err);
            for (const { index } of group) if (!failed.has(index)) failed.set(index, error);
          }
        });
        await Promise.all(sends);
        ctx.logger.debug({ count: batch.length, messages: pending.length, failed: failed.size }, 'batch produced');
        return { failed: [...failed].map(([index, error]) => ({ index, error })) };
      },

      async healthcheck() {
        await admin.describeCluster();
      },

      async close() {
        await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
      },
    };
  },
});
