import { afterEach, describe, expect, it } from 'vitest';
import { RelayError } from '../errors.js';
import { configYaml, tempDir, testConfig } from '../../test/helpers/relay.js';
import { deadLetterIds, dlq } from './dlq.js';

let cleanup = (): void => {};
afterEach(() => cleanup());

// Issue 12 follow-up: `dlq replay --sink X` to a disabled sink put letters back that the
// relay parked again within 60 s.
describe('dlq replay --sink', () => {
  it('refuses a disabled sink, naming it and why, before opening the queue', async () => {
    const tmp = tempDir('relay-dlq-cli-');
    cleanup = tmp.cleanup;
    const config = testConfig(configYaml(tmp.dir, '\nsinks:\n  on: { type: stdout }\n  off: { type: stdout, enabled: false }\nroutes: [{ name: all, to: [on] }]\n'));
    const out: string[] = [];
    const replay = dlq(config, { action: 'replay', ids: [], filter: { sink: 'off' }, all: false }, (line) => out.push(line));
    await expect(replay).rejects.toThrow(RelayError);
    await expect(replay).rejects.toMatchObject({ code: 'RELAY_ERR_QUEUE_REPLAY_SINK_UNAVAILABLE' });
    await expect(replay).rejects.toThrow('sink "off": it is disabled (enabled: false)');
    expect(out).toEqual([]);
  });
});

// Issue 17 (trial): `dlq show 4x` exited 0 saying nothing, `dlq drop abc` said it "needs ids".
describe('dlq ids', () => {
  it('are whole numbers; anything else is refused, naming what was expected and what was got', () => {
    expect(deadLetterIds('show', ['4', '12'])).toEqual([4, 12]);
    expect(() => deadLetterIds('show', ['4x'])).toThrow('expected dlq show ids as whole numbers (the first column of dlq list), got "4x"');
    expect(() => deadLetterIds('drop', ['abc', '2', '-1'])).toThrow(expect.objectContaining({ code: 'RELAY_ERR_CLI_USAGE', message: expect.stringContaining('got "abc", "-1"') }));
  });
});
