import { Type, type OptionProblem } from '../plugin-api/index.js';

/**
 * Release 0.1's `max_concurrency` of the webhook and S3 sinks: accepted by their schemas
 * only so that `check` can say where it went, with its line, instead of "unknown key".
 */
export const MAX_CONCURRENCY_MOVED = Type.Integer();

export function movedOptions(options: { max_concurrency?: number }): OptionProblem[] {
  if (options.max_concurrency === undefined) return [];
  return [
    {
      path: ['max_concurrency'],
      message: `expected max_in_flight: ${options.max_concurrency} (a key every sink accepts; the relay runs the concurrency now), got max_concurrency`,
    },
  ];
}
