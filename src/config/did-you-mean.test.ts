import { describe, expect, it } from 'vitest';
import { closest } from './did-you-mean.js';

describe('closest', () => {
  it.each([
    ['archvie', ['archive', 'console'], 'archive'],
    ['timeout', ['url', 'headers', 'timeout_ms'], 'timeout_ms'],
    ['rotues', ['server', 'sources', 'routes'], 'routes'],
    ['mach', ['name', 'match', 'to'], 'match'],
    ['stdot', ['file', 'stdout', 'slack'], 'stdout'],
    ['kafka_pagse', ['kafka_pages', 'kafka_events'], 'kafka_pages'],
  ])('%s -> %s', (name, candidates, expected) => {
    expect(closest(name, candidates)).toBe(expected);
  });

  it.each([
    ['nope', ['archive', 'console']],
    ['xy', ['ab', 'cd']],
    ['archive', ['archive']],
  ])('%s has no close candidate', (name, candidates) => {
    expect(closest(name, candidates)).toBeUndefined();
  });
});
