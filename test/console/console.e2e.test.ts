import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayConfig } from '../../src/config/types.js';
import type { Relay } from '../../src/relay.js';
import { startReceiver } from '../helpers/receiver.js';
import { configYaml, tempDir, testConfig, testRelay } from '../helpers/relay.js';
import { until } from '../helpers/sinks.js';
import { postSigned, sampleEvent, signedRequest } from '../helpers/webhooks.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'console-admin-token-0123456789';
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'console');
const haveChromium = existsSync(CHROMIUM);

if (!haveChromium) {
  if (process.env.CI === 'true') throw new Error(`the console tests need Chromium at ${CHROMIUM} (apt-get install chromium)`);
  console.warn(`\n!!! SKIPPING the console browser tests: no Chromium at ${CHROMIUM} (apt-get install chromium) !!!\n`);
}

describe.skipIf(!haveChromium)('operator console in a real browser', () => {
  let browser: Browser;
  let relay: Relay;
  let config: RelayConfig;
  let base: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let refuse = false;
  const cleanups: Array<() => void | Promise<void>> = [];
  /** Errors the page logged or threw, and dialogs it opened: each test ends expecting none. */
  const problems: string[] = [];

  const send = async (body: Record<string, unknown>): Promise<void> => {
    expect(await postSigned(base, JSON.stringify(body))).toBe(200);
  };

  /** A crawl.completed of `jobId` the receiver refuses (410): a dead letter once this resolves. */
  const deadLetterOf = async (jobId: string): Promise<void> => {
    refuse = true;
    await send(sampleEvent('crawl.completed', { id: jobId }));
    await until(async () => (await relay.queue.deadLetters.list({ jobId })).length === 1);
  };

  const shot = async (page: Page, name: string): Promise<void> => {
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  };

  const admin = async (method: 'GET' | 'POST', path: string): Promise<Response> =>
    fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}` } });

  const openPage = async (width = 1280, height = 800, options: BrowserContextOptions = {}): Promise<Page> => {
    const page = await browser.newPage({ ...options, viewport: { width, height } });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    return page;
  };

  const logIn = async (page: Page, token = TOKEN): Promise<void> => {
    await page.goto(`${base}/console/`);
    await page.fill('#token', token);
    await page.click('#login button[type=submit]');
    if (token === TOKEN) await page.waitForSelector('#login', { state: 'hidden' });
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    receiver = await startReceiver((_request, response) => {
      response.statusCode = refuse ? 410 : 200;
      response.end(refuse ? 'gone' : 'ok');
    });
    const tmp = tempDir('relay-console-');
    cleanups.push(tmp.cleanup, receiver.close);
    config = testConfig(
      configYaml(
        tmp.dir,
        `
admin: { token: ${TOKEN} }
sinks:
  hook: { type: webhook, url: "${receiver.url}/hook", signature: { scheme: none }, retry: { initial_delay_ms: 50, max_attempts: 3 } }
  failures: { type: file, dir: "${join(tmp.dir, 'out')}" }
routes:
  - { name: everything, to: [hook] }
  - name: failed-pages
    match: { type: crawl.page, where: [{ field: "data[*].metadata.statusCode", gte: 400 }] }
    to: [failures]
`,
      ),
    );
    relay = await testRelay(config);
    const address = await relay.listen(0);
    base = address.replace('[::1]', '127.0.0.1');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      // Playwright gives each launch a fresh temporary profile (it refuses --user-data-dir).
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await relay?.close(1000);
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('with a wrong token shows the login error and no data', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await send(sampleEvent('crawl.started', { id: 'job-wrong-token' }));
    await logIn(page, 'not-the-token');
    await expect.poll(() => page.textContent('#login-error')).toContain('not the admin token');
    expect(await page.isVisible('#login')).toBe(true);
    expect(await page.textContent('#view')).toBe('');
    expect(await page.content()).not.toContain('job-wrong-token');
    await shot(page, 'login-wrong-token');
    await page.close();
  });

  it('logs in; a signed webhook sent meanwhile appears live in Events; its detail explains routing and lists attempts', async () => {
    const page = await openPage();
    await logIn(page);
    await page.waitForSelector('.card[data-sink=hook]');
    await shot(page, 'overview');

    await page.goto(`${base}/console/#/events`);
    await page.waitForSelector('#events');
    // Sent once the stream is open, so only the live update can show it.
    await expect.poll(() => page.textContent('#live')).toBe('live');
    await send(sampleEvent('crawl.page', { id: 'job-live-1' }));
    const row = page.locator('#events tr', { hasText: 'job-live-1' });
    await row.waitFor();
    await expect.poll(() => row.textContent()).toContain('hook: delivered');
    // A page event shows its page's URL, an http(s) one as a link that takes nothing along.
    const url = row.locator('.page-url a');
    expect([await url.textContent(), await url.getAttribute('href'), await url.getAttribute('rel')]).toEqual([
      'https://example.com/page',
      'https://example.com/page',
      'noopener noreferrer nofollow',
    ]);
    await shot(page, 'events');

    await row.locator('a').first().click();
    await page.waitForSelector('#routing');
    const routing = await page.textContent('#routing');
    expect(routing).toContain('everything');
    expect(routing).toContain('failed-pages');
    expect(routing).toContain('unmatched');
    expect(routing).toContain('✗ where[0]: data[*].metadata.statusCode gte 400 — got [200]');
    const attempts = page.locator('#attempts');
    await expect.poll(() => attempts.textContent()).toContain('delivered');
    expect(await attempts.textContent()).toContain('200');
    await shot(page, 'event-detail');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a refused delivery goes to dead letters; replay delivers it once the receiver recovers', async () => {
    const page = await openPage();
    await logIn(page);
    const before = receiver.requests.length;
    await deadLetterOf('job-refused');
    await page.goto(`${base}/console/#/dead-letters`);
    const row = page.locator('#dead-letters tr', { hasText: 'job-refused' });
    await row.waitFor();
    expect(await row.textContent()).toContain('410');
    await shot(page, 'dead-letters');

    refuse = false;
    await row.locator('input[type=checkbox]').check();
    await page.click('#replay-selected');
    await expect.poll(() => page.textContent('#dlq-status')).toBe('replayed 1');
    await until(() => receiver.requests.slice(before).some((r) => r.body.toString().includes('job-refused') && !refuse) && receiver.requests.length >= before + 2);
    expect(await relay.queue.deadLetters.list({ jobId: 'job-refused' })).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows on the page why a console action failed: a replay to a sink that does not exist, after a confirm with the count', async () => {
    const page = await openPage();
    await logIn(page);
    await page.goto(`${base}/console/#/dead-letters?sink=nope`);
    await page.waitForSelector('#dead-letters');
    await page.click('#replay-filter');
    expect(await page.textContent('#dlq-confirm')).toContain('Replay 0 dead letters?');
    await page.click('#dlq-confirm-yes');
    await expect.poll(() => page.textContent('[role=alert]#action-error')).toContain('RELAY_ERR_QUEUE_REPLAY_SINK_UNAVAILABLE');
    await shot(page, 'dead-letters-error');
    // The browser logs the refused request itself: that one line, nothing else.
    expect(problems.splice(0).filter((p) => !/status of 409/.test(p))).toEqual([]);
    await page.close();
  });

  it('keeps rows loaded with More when live events arrive: new ones come on top', async () => {
    for (let i = 0; i < 55; i++) await send(sampleEvent('crawl.started', { id: `job-many-${i}` }));
    const page = await openPage();
    await logIn(page);
    await page.goto(`${base}/console/#/events`);
    await page.waitForSelector('#events tr[data-event]');
    await expect.poll(() => page.textContent('#live')).toBe('live');
    await page.click('button:has-text("More")');
    await page.locator('#events tr', { hasText: 'job-many-0' }).waitFor();
    const loaded = await page.locator('#events tr[data-event]').count();
    expect(loaded).toBeGreaterThan(55);

    await send(sampleEvent('crawl.started', { id: 'job-many-new' }));
    await page.locator('#events tr', { hasText: 'job-many-new' }).waitFor();
    await expect.poll(() => page.locator('#events tr[data-event]').count()).toBe(loaded + 1);
    expect(await page.locator('#events tr[data-event]').first().textContent()).toContain('job-many-new');
    expect(await page.locator('#events tr', { hasText: 'job-many-0' }).count()).toBe(1);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('pause makes pending grow; resume drains it', async () => {
    const page = await openPage();
    await logIn(page);
    await page.goto(`${base}/console/#/sinks`);
    const hook = page.locator('#sinks tr[data-sink=hook]');
    await hook.waitFor();
    await hook.locator('button', { hasText: 'Pause' }).click();
    await expect.poll(() => hook.textContent()).toContain('paused');
    const before = receiver.requests.length;
    for (let i = 0; i < 3; i++) await send(sampleEvent('crawl.page', { id: `job-paused-${i}` }));
    await expect.poll(() => hook.locator('td.count-pending').textContent()).toBe('3');
    expect(receiver.requests.length).toBe(before);
    await shot(page, 'sinks-paused');

    await hook.locator('button', { hasText: 'Resume' }).click();
    await until(() => receiver.requests.length === before + 3);
    await expect.poll(() => hook.locator('td.count-pending').textContent()).toBe('0');
    await shot(page, 'sinks');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('renders <script> and <!channel> in markdown and title as text, running nothing', async () => {
    const page = await openPage();
    await logIn(page);
    const evil = '<script>window.__pwned = 1; alert(1)</script><img src=x onerror="window.__pwned = 2; alert(2)"> <!channel>';
    const body = sampleEvent('crawl.page', { id: 'job-evil' });
    const data = body.data as Array<{ markdown: string; metadata: Record<string, unknown> }>;
    data[0]!.markdown = `# ${evil}`;
    data[0]!.metadata.title = evil;
    data[0]!.metadata.url = 'javascript:window.__pwned=3';
    await send(body);
    await page.goto(`${base}/console/#/events?job=job-evil`);
    const row = page.locator('#events tr', { hasText: 'job-evil' });
    await row.waitFor();
    expect(await row.locator('.page-url').textContent()).toBe('javascript:window.__pwned=3');
    expect(await row.locator('.page-url a').count()).toBe(0);
    await row.locator('a').first().click();
    await page.waitForSelector('pre.markdown', { state: 'attached' });
    await page.click('details summary');
    expect(await page.textContent('pre.markdown')).toBe(`# ${evil}`);
    expect(await page.textContent('details summary')).toContain(evil);
    expect(await page.locator('#view script, #view img').count()).toBe(0);
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
    await shot(page, 'event-evil-payload');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('sends a test event and shows where it went; backfill queues past events for one sink', async () => {
    const page = await openPage();
    await logIn(page);
    await page.goto(`${base}/console/#/test`);
    // Every documented type is offered (the list comes from the API), agent.* and monitor.* too.
    // Polled: the options arrive with the API's answer, after the page is shown.
    await expect.poll(() => page.locator('select[name=type] option').allTextContents()).toEqual(expect.arrayContaining(['batch_scrape.failed', 'agent.started', 'monitor.page']));
    await page.selectOption('select[name=type]', 'crawl.started');
    await page.click('form.filters button[type=submit]');
    await page.waitForSelector('#attempts');
    await expect.poll(() => page.textContent('#attempts')).toContain('delivered');
    await shot(page, 'test-event');

    await page.goto(`${base}/console/#/backfill`);
    await page.waitForSelector('select[name=sink]');
    await page.selectOption('select[name=sink]', 'failures');
    await page.fill('input[name=since]', '2000-01-01T00:00');
    await page.fill('input[name=job]', 'job-live-1');
    await page.click('form.filters button[type=submit]');
    // job-live-1's page answered 200: the failures sink's route (status ≥ 400) does not take it.
    await expect.poll(() => page.textContent('#backfill-progress')).toBe('0 events queued for failures');
    await page.check('input[name=ignore_routes]');
    await page.click('form.filters button[type=submit]');
    await expect.poll(() => page.textContent('#backfill-progress')).toBe('1 event queued for failures');
    await shot(page, 'backfill');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('sends one backfill for a double click: the button waits for the answer', async () => {
    const page = await openPage();
    await logIn(page);
    // Each backfill request is held until the test lets it through: the second click lands while the first runs.
    const posted: string[] = [];
    let release = (): void => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/admin/backfill', async (route) => {
      posted.push(route.request().postData() ?? '');
      await held;
      await route.continue();
    });
    await page.goto(`${base}/console/#/backfill`);
    await page.waitForSelector('select[name=sink]');
    await page.selectOption('select[name=sink]', 'failures');
    await page.fill('input[name=since]', '2000-01-01T00:00');
    await page.fill('input[name=job]', 'job-none');
    const button = page.locator('form.filters button[type=submit]');
    await button.click();
    await expect.poll(() => posted.length).toBe(1);
    expect(await button.isDisabled()).toBe(true);
    await button.click({ force: true });
    await button.dispatchEvent('click');
    release();
    await expect.poll(() => page.textContent('#backfill-progress')).toBe('0 events queued for failures');
    expect(posted).toHaveLength(1);
    expect(await button.isDisabled()).toBe(false);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('fits a phone’s width', async () => {
    const page = await openPage(390, 844);
    await logIn(page);
    await page.waitForSelector('.card[data-sink=hook]');
    await shot(page, 'phone-overview');
    await page.goto(`${base}/console/#/events`);
    await page.waitForSelector('#events tr[data-event]');
    await shot(page, 'phone-events');
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(overflow).toBeLessThanOrEqual(0);

    // The sink's buttons sit inside the screen as it opens (no sideways scroll needed), and work.
    await page.goto(`${base}/console/#/sinks`);
    const hook = page.locator('#sinks tr[data-sink=hook]');
    const inside = async (name: string): Promise<void> => {
      const box = (await hook.locator('button', { hasText: name }).boundingBox())!;
      expect([box.x >= 0, box.x + box.width <= 390]).toEqual([true, true]);
    };
    await hook.locator('button', { hasText: 'Pause' }).waitFor();
    await inside('Pause');
    await shot(page, 'phone-sinks');
    await hook.locator('button', { hasText: 'Pause' }).click();
    await expect.poll(() => hook.textContent()).toContain('paused');
    await inside('Resume');
    await hook.locator('button', { hasText: 'Resume' }).click();
    await expect.poll(() => hook.textContent()).toContain('delivering');

    // A dead letter's last error is on screen, not past its right edge.
    await deadLetterOf('job-phone-dead');
    refuse = false;
    await page.goto(`${base}/console/#/dead-letters?job=job-phone-dead`);
    const lastError = page.locator('#dead-letters td.last-error').first();
    await lastError.waitFor();
    const box = (await lastError.boundingBox())!;
    expect([box.x >= 0, box.x + box.width <= 390]).toEqual([true, true]);
    await shot(page, 'phone-dead-letters');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('keeps a time filter across a reload in a browser east of UTC, sending UTC to the API', async () => {
    const page = await openPage(1280, 800, { timezoneId: 'Asia/Kolkata' });
    const asked: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/admin/events?')) asked.push(new URL(request.url()).searchParams.get('since') ?? '');
    });
    await logIn(page);
    await page.goto(`${base}/console/#/events`);
    await page.waitForSelector('#events');
    // 10:00 in Kolkata (UTC+05:30) is 04:30 UTC.
    await page.fill('input[name=since]', '2026-11-20T10:00');
    await page.fill('input[name=until]', '2099-01-01T00:00');
    await page.click('form.filters button[type=submit]');
    await expect.poll(() => page.evaluate('location.hash')).toContain('since=2026-11-20T04%3A30%3A00.000Z');
    expect(await page.evaluate('location.hash')).toContain('until=2098-12-31T18%3A30%3A00.000Z');
    await page.reload();
    await page.waitForSelector('#events');
    expect(await page.inputValue('input[name=since]')).toBe('2026-11-20T10:00');
    expect(await page.inputValue('input[name=until]')).toBe('2099-01-01T00:00');
    expect(asked.at(-1)).toBe('2026-11-20T04:30:00.000Z');
    // Submitted again unchanged, it asks for the same instant (no shift by the zone's offset).
    await page.click('form.filters button[type=submit]');
    await expect.poll(() => asked.length).toBeGreaterThan(2);
    expect(asked.at(-1)).toBe('2026-11-20T04:30:00.000Z');
    await shot(page, 'events-time-filter');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('fetches a large payload once: a live update refreshes the deliveries only, an opened section stays open; downloads it whole', async () => {
    const page = await openPage();
    const detailFetches: string[] = [];
    page.on('request', (request) => {
      if (/\/admin\/events\/\d+$/.test(new URL(request.url()).pathname)) detailFetches.push(request.url());
    });
    await logIn(page);
    expect((await admin('POST', '/admin/sinks/hook/pause')).status).toBe(200);
    const body = sampleEvent('crawl.page', { id: 'job-large' });
    (body.data as Array<{ markdown: string }>)[0]!.markdown = '# large\n'.repeat(400_000);
    const raw = JSON.stringify(body);
    await send(body);
    const id = (await relay.queue.history.list({ jobId: 'job-large' }))[0]!.id;
    await page.goto(`${base}/console/#/events/${id}`);
    await expect.poll(() => page.textContent('#attempts')).toContain('pending');
    expect(await page.textContent('#truncated')).toContain(`of ${(raw.length / (1 << 20)).toFixed(1)} MiB`);
    await page.click('#payload-json summary');
    await page.evaluate("document.querySelector('#payload-json').dataset.opened = 'by the reader'");

    expect((await admin('POST', '/admin/sinks/hook/resume')).status).toBe(200);
    await expect.poll(() => page.textContent('#attempts')).toContain('delivered');
    expect(await page.evaluate("[document.querySelector('#payload-json').open, document.querySelector('#payload-json').dataset.opened]")).toEqual([
      true,
      'by the reader',
    ]);
    expect(detailFetches).toHaveLength(1);
    await shot(page, 'event-large-payload');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    expect(download.suggestedFilename()).toBe(`event-${id}.json`);
    expect(readFileSync((await download.path())!, 'utf8')).toBe(raw);
    expect(problems).toEqual([]);
    await page.close();
  });

  // Last: it restarts the relay the other tests share.
  it('reopens the live stream after the relay restarts (same port and data), catching up on what it missed', async () => {
    const page = await openPage();
    await logIn(page);
    await page.goto(`${base}/console/#/events`);
    await page.waitForSelector('#events');
    await expect.poll(() => page.textContent('#live')).toBe('live');

    await relay.close(1000);
    await expect.poll(() => page.textContent('#live')).toBe('reconnecting');
    await shot(page, 'events-reconnecting');
    relay = await testRelay(config);
    // Accepted before the relay listens: no stream hears of it, only the catch-up shows it.
    expect((await relay.app.inject(signedRequest(sampleEvent('crawl.started', { id: 'job-while-away' })))).statusCode).toBe(200);
    await relay.listen(Number(new URL(base).port));
    await page.locator('#events tr', { hasText: 'job-while-away' }).waitFor({ timeout: 15_000 });
    expect(await page.textContent('#live')).toBe('live');
    await send(sampleEvent('crawl.page', { id: 'job-after-restart' }));
    await page.locator('#events tr', { hasText: 'job-after-restart' }).waitFor();
    // While the relay was away, each attempt to reopen the stream failed to connect; nothing else went wrong.
    expect(problems.filter((p) => !/\/admin\/stream.*ERR_CONNECTION_REFUSED|ERR_CONNECTION_REFUSED.*\/admin\/stream|Failed to load resource: net::ERR_CONNECTION_REFUSED/.test(p))).toEqual([]);
    await page.close();
  });
});
