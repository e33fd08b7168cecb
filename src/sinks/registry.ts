import type { SinkRegistry } from '../config/load.js';
import type { SinkDefinition } from '../plugin-api/types.js';
import file from './file/index.js';
import kafka from './kafka/index.js';
import s3 from './s3/index.js';
import slack from './slack/index.js';
import stdout from './stdout/index.js';
import webhook from './webhook/index.js';

/** The sinks that ship with the relay; plugins add theirs to a copy of this map. */
export function builtinSinks(): SinkRegistry {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return new Map<string, SinkDefinition<any>>([
    [file.type, file],
    [kafka.type, kafka],
    [s3.type, s3],
    [slack.type, slack],
    [stdout.type, stdout],
    [webhook.type, webhook],
  ]);
}
