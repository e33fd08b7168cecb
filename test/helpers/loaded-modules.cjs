// Preloaded with `node --require` by test/cli.test.ts: on exit, prints the CommonJS modules
// the process loaded (kafkajs, the AWS SDK, fastify… are CommonJS) on standard error.
const { writeSync } = require('node:fs');
process.on('exit', () => writeSync(2, `\nLOADED ${JSON.stringify(Object.keys(require.cache))}\n`));
