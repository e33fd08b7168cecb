import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { exitQuietlyOnEpipe } from './epipe.js';

// Review of issue 17, item 11: `dlq list | head -1` printed an EPIPE stack trace.
describe('stdout closed by its reader', () => {
  it('ends the process with status 0 on EPIPE, and throws any other error of the stream', () => {
    const stdout = new EventEmitter();
    const exits: number[] = [];
    exitQuietlyOnEpipe(stdout, (code) => void exits.push(code));
    stdout.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(exits).toEqual([0]);
    expect(() => stdout.emit('error', Object.assign(new Error('write EIO'), { code: 'EIO' }))).toThrow('write EIO');
    expect(exits).toEqual([0]);
  });
});
