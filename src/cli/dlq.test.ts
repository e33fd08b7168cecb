import { afterEach, describe, expect, it } from 'vitest';
import { RelayError } from '../errors.js';
import { configYaml, tempDir, testConfig } from '../../test/helpers/relay.js';
import { dlq } from './dlq.js';

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
