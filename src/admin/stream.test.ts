import { connect } from 'node:net';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { ADMIN_TOKEN, adminAuth, adminRelay } from '../../test/helpers/admin.js';
import { capturedLogger } from '../../test/helpers/logs.js';
import { KEEPALIVE_MS } from './stream.js';

describe('GET /admin/stream', () => {
  let close = async (): Promise<void> => {};
  afterEach(async () => {
    vi.useRealTimers();
    await close();
  });

  it('sends a keepalive comment while quiet, and asks proxies not to buffer', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const built = await adminRelay();
    close = built.close;
    const base = (await built.relay.listen(0)).replace('[::1]', '127.0.0.1');
    const response = await fetch(`${base}/admin/stream`, { headers: adminAuth });
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    expect((await reader.read()).value).toBe(': connected\n\n');
    vi.advanceTimersByTime(KEEPALIVE_MS);
    expect((await reader.read()).value).toBe(': keepalive\n\n');
    await reader.cancel();
  });

  it('ends the stream of a client that stopped reading instead of holding its notices in memory', async () => {
    const logs = capturedLogger();
    const built = await adminRelay({ logger: logs.logger });
    close = built.close;
    const { port } = new URL((await built.relay.listen(0)).replace('[::1]', '127.0.0.1'));
    const socket = connect({ host: '127.0.0.1', port: Number(port) });
    onTestFinished(() => void socket.destroy());
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`GET /admin/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n\r\n`);
    socket.pause(); // reads nothing from here on
    const ended = () => logs.lines.some((line) => line.includes('admin stream ended: the client stopped reading'));
    // Wait for the stream to be open before notices are sent.
    await vi.waitFor(() => expect(built.relay.activity.listening()).toBe(1));
    let sent = 0;
    // Before the bound, 100 000 notices (about 15 MB) would all be held for the paused client.
    while (!ended() && sent < 100_000) {
      for (let i = 0; i < 1000; i++, sent++) built.relay.activity.emit({ kind: 'received', id: sent, type: 'crawl.page', jobId: `job-${sent}`, source: 'firecrawl', at: 0 });
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(ended()).toBe(true);
    await vi.waitFor(() => expect(built.relay.activity.listening()).toBe(0));
    expect(logs.lines.filter((line) => line.includes('admin stream ended')).map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ level: 40, peer: '127.0.0.1', unsent_bytes: expect.any(Number) }),
    ]);
  });
});
