import { describe } from 'vitest';
import { kafkaToolsMissing } from './mock-cluster.js';

export { consumeWithKcat, startMockCluster, type ConsumedMessage, type MockCluster } from './mock-cluster.js';

/**
 * A describe() that needs the Kafka mock cluster: under CI=true it always runs (and fails
 * if the tools are missing); elsewhere it skips, loudly, when they are.
 */
export function describeWithKafka(name: string, body: () => void): void {
  const why = kafkaToolsMissing();
  if (why && process.env.CI !== 'true') {
    console.warn(`\n!!! SKIPPED "${name}": ${why} (apt-get install kcat librdkafka-dev gcc; CI never skips)\n`);
    describe.skip(name, body);
    return;
  }
  describe(name, body);
}
