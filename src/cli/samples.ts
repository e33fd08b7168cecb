import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KNOWN_EVENT_TYPES } from '../routing/event-types.js';
import { RelayError } from '../errors.js';
import { didYouMean } from '../config/did-you-mean.js';

// samples/ sits at the package root: two levels above both src/cli and dist/cli.
const SAMPLES_DIR = fileURLToPath(new URL('../../samples/', import.meta.url));

/** A sample webhook body of `type`, as Firecrawl documents it. */
export function sample(type: string): Record<string, unknown> {
  if (!(KNOWN_EVENT_TYPES as readonly string[]).includes(type)) {
    throw new RelayError('RELAY_ERR_CLI_SAMPLE', [type, didYouMean(type, KNOWN_EVENT_TYPES), KNOWN_EVENT_TYPES.join(', ')]);
  }
  return JSON.parse(readFileSync(`${SAMPLES_DIR}${type}.json`, 'utf8')) as Record<string, unknown>;
}
