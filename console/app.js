// The operator console: plain ES module, no framework. Every piece of data is put in the
// page as text (textContent / createTextNode), never as markup: payloads are untrusted.

const TOKEN_KEY = 'relay-admin-token';
const view = document.getElementById('view');
const nav = document.getElementById('nav');
const login = document.getElementById('login');
const live = document.getElementById('live');
let stream = null;
let refreshTimer = null;

/** Builds an element; strings and numbers become text nodes. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'class') node.className = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const badge = (text) => el('span', { class: `badge ${text}` }, text);
const time = (iso) => (iso ? new Date(iso).toLocaleString() : '');
const ago = (ms) => (ms === null ? '—' : ms < 60_000 ? `${Math.round(ms / 1000)} s` : ms < 3_600_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3_600_000).toFixed(1)} h`);
const bytes = (n) => (n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : n < 1 << 30 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / (1 << 30)).toFixed(2)} GiB`);

class Unauthorized extends Error {}

/** The admin API with the token as a bearer header (never in a URL). */
async function api(path, options = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY) ?? '';
  const response = await fetch(path, {
    ...options,
    headers: { authorization: `Bearer ${token}`, ...(options.body ? { 'content-type': 'application/json' } : {}) },
  });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) throw new Unauthorized(body.error?.message ?? 'unauthorized');
  if (!response.ok) throw new Error(body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${response.status}`);
  return body;
}

/** Waits `ms`, or less when `signal` aborts. */
const pause = (ms, signal) => new Promise((resolve) => {
  const timer = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
});

/** Waits between attempts to reopen a dropped stream: quick at first, then every 10 s at most. */
const RECONNECT_MS = [500, 1000, 2000, 5000, 10_000];

/** What the header says of the stream: live, reconnecting, or nothing (this page does not listen). */
function liveState(state) {
  live.textContent = state;
  live.className = `badge ${state}`;
  live.hidden = state === '';
}

/** Reads one opened stream until it ends, passing each notice on. */
async function readNotices(response, onNotice) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const chunk = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = chunk.split('\n').find((line) => line.startsWith('data: '));
      if (data) onNotice(JSON.parse(data.slice(6)));
    }
  }
}

/**
 * Reads /admin/stream (server-sent events) with fetch, so the token stays in a header. A
 * stream that drops (relay restarted, proxy timeout) is reopened with backoff; once it is
 * back, `onNotice` hears `{ kind: 'reconnected' }` so the page reloads what it missed.
 */
function listen(onNotice) {
  stopListening();
  const controller = new AbortController();
  const { signal } = controller;
  stream = controller;
  (async () => {
    for (let failures = 0; !signal.aborted; failures++) {
      try {
        const response = await fetch('/admin/stream', { headers: { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) ?? ''}` }, signal });
        // Another token now (the relay restarted with a new one): the page's next call shows the login.
        if (response.status === 401) return void route();
        if (response.ok && response.body) {
          liveState('live');
          if (failures > 0) onNotice({ kind: 'reconnected' });
          failures = 0;
          await readNotices(response, onNotice);
        }
      } catch {
        // Aborted on navigation (the loop ends), or the relay is away: try again below.
      }
      if (signal.aborted) return;
      liveState('reconnecting');
      const wait = RECONNECT_MS[Math.min(failures, RECONNECT_MS.length - 1)];
      await pause(wait / 2 + Math.random() * (wait / 2), signal);
    }
  })();
}

function stopListening() {
  stream?.abort();
  stream = null;
  liveState('');
}

/** Runs a background refresh; a relay away for a moment keeps what is shown, a refused token shows the login. */
function quietly(refresh) {
  return () => void refresh().catch((err) => {
    if (err instanceof Unauthorized) void route();
  });
}

/**
 * A page's actions (replay, pause, send…): what fails is shown on the page in an alert, never
 * swallowed; a refused token shows the login. `guard(fn)` wraps a handler.
 */
function actionErrors() {
  const alert = el('p', { class: 'error', role: 'alert', id: 'action-error' });
  const guard = (fn) => (...args) => {
    alert.textContent = '';
    return Promise.resolve().then(() => fn(...args)).catch((err) => {
      if (err instanceof Unauthorized) return void route();
      alert.textContent = String(err.message ?? err);
    });
  };
  return { alert, guard };
}

/** "1 event", "2 events". */
const count = (n, noun) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** Calls `fn` at most once per `ms`, at the end of a burst. */
function debounce(fn, ms) {
  let timer = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, ms);
  };
}

function show(...children) {
  view.replaceChildren(...children.filter((child) => child !== null && child !== undefined));
}

/** Bumped by each navigation: a page still loading when the reader moved on must not draw over the next one. */
let generation = 0;

/** `show` for the page being opened now; a no-op once another navigation has begun. */
function renderer() {
  const mine = generation;
  return (...children) => {
    if (mine === generation) show(...children);
  };
}

// ---- Overview ---------------------------------------------------------------------------

/** Delivered (green) and failed (red) per minute over the last hour, as SVG bars. */
function chart(points) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('viewBox', '0 0 60 20');
  svg.setAttribute('preserveAspectRatio', 'none');
  const now = Date.now();
  const max = Math.max(1, ...points.map((p) => p.delivered + p.failed));
  for (const p of points) {
    const x = 59 - Math.floor((now - Date.parse(p.minute)) / 60_000);
    if (x < 0) continue;
    const ok = (p.delivered / max) * 20;
    const ko = (p.failed / max) * 20;
    for (const [cls, h, y] of [['ok', ok, 20 - ok], ['ko', ko, 20 - ok - ko]]) {
      if (h <= 0) continue;
      const rect = document.createElementNS(ns, 'rect');
      rect.setAttribute('class', cls);
      rect.setAttribute('x', String(x));
      rect.setAttribute('y', String(y));
      rect.setAttribute('width', '0.9');
      rect.setAttribute('height', String(h));
      svg.append(rect);
    }
  }
  const title = document.createElementNS(ns, 'title');
  title.textContent = 'delivered (green) and failed (red) per minute, last hour';
  svg.append(title);
  return svg;
}

async function overview() {
  const render = renderer();
  const data = await api('/admin/overview');
  const used = data.queue.used_bytes;
  render(
    el('h1', {}, 'Overview'),
    el('h2', {}, 'Sinks'),
    el('div', { class: 'cards' }, data.sinks.map((s) => el('div', { class: 'card', 'data-sink': s.name },
      el('div', {}, el('strong', {}, s.name), ' ', el('span', { class: 'muted' }, s.type), ' ', badge(s.state)),
      el('div', {}, `pending ${s.pending}, oldest ${ago(s.oldest_pending_age_ms)}, dead letters ${s.dead_letters}`),
      s.error ? el('div', { class: 'error' }, s.error) : null,
      chart(data.activity.filter((a) => a.sink === s.name)),
    ))),
    el('h2', {}, 'Queue'),
    el('div', {}, `${bytes(used)} of ${bytes(data.queue.max_bytes)}`),
    el('div', { class: 'bar' }, el('div', { style: null, 'data-fill': String(Math.min(100, Math.round((used / data.queue.max_bytes) * 100))) })),
    el('h2', {}, 'Events received per type (since start)'),
    el('div', { class: 'table-wrap' }, el('table', {}, el('tr', {}, el('th', {}, 'type'), el('th', {}, 'received')),
      Object.entries(data.received_by_type).map(([type, n]) => el('tr', {}, el('td', {}, type), el('td', {}, n))))),
    data.history ? null : el('p', { class: 'muted' }, 'History is off: delivered events are not kept.'),
  );
  // Widths set from script: the CSP allows no inline style attribute.
  for (const fill of view.querySelectorAll('[data-fill]')) fill.style.width = `${fill.dataset.fill}%`;
  listen(debounce(() => route(), 2000));
}

// ---- Events -----------------------------------------------------------------------------

const pad = (n) => String(n).padStart(2, '0');

/**
 * A datetime-local input holds local wall time ("2026-11-20T10:00") and no zone; the API and
 * the page's URL hold ISO 8601 in UTC ("2026-11-20T04:30:00.000Z"). Converted explicitly both
 * ways, so a filter survives a reload in any time zone.
 */
function localInputOf(iso) {
  const at = new Date(iso ?? '');
  if (!iso || Number.isNaN(at.getTime())) return '';
  const seconds = at.getSeconds() ? `:${pad(at.getSeconds())}` : '';
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}${seconds}`;
}

function isoOf(local) {
  const m = /^(\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(local);
  if (!m) return '';
  const at = new Date(0);
  at.setFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  at.setHours(Number(m[4]), Number(m[5]), Number(m[6] ?? 0), 0);
  return at.toISOString();
}

function filtersForm(fields, values, onSubmit) {
  const form = el('form', { class: 'filters' },
    fields.map(([name, label, type = 'text', options]) => el('label', {}, label,
      options
        ? el('select', { name }, options.map((o) => el('option', { value: o, selected: values[name] === o }, o || 'any')))
        : el('input', { name, type, value: type === 'datetime-local' ? localInputOf(values[name]) : values[name] ?? '' }))),
    el('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(form)) {
      const local = form.elements[key]?.type === 'datetime-local';
      if (value) params.set(key, local ? isoOf(String(value)) : String(value));
    }
    onSubmit(params);
  });
  return form;
}

/** A page's URL from the payload: a link only when it is http(s), always shown as its text. */
function pageUrl(url) {
  let parsed = null;
  try {
    parsed = new URL(url);
  } catch {
    // Not a URL: text only.
  }
  const web = parsed !== null && (parsed.protocol === 'http:' || parsed.protocol === 'https:');
  return web ? el('a', { href: parsed.href, rel: 'noopener noreferrer nofollow', target: '_blank' }, url) : el('span', {}, url);
}

async function events(params) {
  const render = renderer();
  const query = new URLSearchParams(params);
  const sinks = (await api('/admin/sinks')).sinks.map((s) => s.name);
  const tbody = el('tbody');
  const more = el('button', { type: 'button', hidden: true }, 'More');
  let cursor = null;
  // A job reads in the order its events came; everything else newest first.
  const job = query.get('job');
  if (job && !query.get('order')) query.set('order', 'asc');
  const row = (e) => el('tr', { 'data-event': e.id },
    el('td', {}, el('a', { href: `#/events/${e.id}` }, time(e.received_at))),
    el('td', {}, e.type, e.url ? el('div', { class: 'page-url' }, pageUrl(e.url)) : null),
    el('td', {}, el('a', { href: `#/events?job=${encodeURIComponent(e.job_id)}` }, e.job_id)),
    el('td', { class: 'hide-narrow' }, e.source),
    el('td', {}, e.outcome === 'unrouted'
      ? el('span', { class: 'badge unrouted', title: 'no route matched: the detail says why' }, 'unrouted')
      : Object.entries(e.sinks).map(([sink, outcome]) => el('span', { class: `badge ${outcome}`, title: outcome }, `${sink}: ${outcome}`))),
  );
  const load = async (append) => {
    const q = new URLSearchParams(query);
    if (append && cursor) q.set('cursor', String(cursor));
    const page = await api(`/admin/events?${q}`);
    const rows = page.events.map(row);
    if (append) tbody.append(...rows);
    else tbody.replaceChildren(...rows);
    cursor = page.next_cursor;
    more.hidden = cursor === null;
  };
  /**
   * A live notice: rows already shown (pages loaded with More too) stay. Events newer than
   * the newest shown come in at their end of the table; the first page's rows are redrawn
   * in place, so recent outcomes move on.
   */
  const update = async () => {
    const shown = [...tbody.rows].map((r) => Number(r.dataset.event));
    if (shown.length === 0) return load(false);
    const ascending = query.get('order') === 'asc';
    // A job read oldest first with pages still to load: newer events come with More.
    if (!ascending || cursor === null) {
      const newer = new URLSearchParams(query);
      newer.set('order', 'asc');
      newer.set('cursor', String(Math.max(...shown)));
      newer.set('limit', '500');
      const added = (await api(`/admin/events?${newer}`)).events.map(row);
      if (ascending) tbody.append(...added);
      else tbody.prepend(...added.reverse());
    }
    const recent = await api(`/admin/events?${query}`);
    for (const e of recent.events) tbody.querySelector(`tr[data-event="${e.id}"]`)?.replaceWith(row(e));
  };
  more.addEventListener('click', () => void load(true));
  render(
    el('h1', {}, query.get('job') ? `Job ${query.get('job')}` : 'Events'),
    filtersForm(
      [['type', 'type (crawl.* for all)'], ['url', 'page URL contains'], ['job', 'job id'], ['sink', 'sink', 'text', ['', ...sinks]], ['outcome', 'outcome', 'text', ['', 'pending', 'retrying', 'delivered', 'dead_lettered', 'dropped', 'unrouted']], ['since', 'since', 'datetime-local'], ['until', 'until', 'datetime-local']],
      Object.fromEntries(query),
      (p) => (location.hash = `#/events?${p}`),
    ),
    el('div', { class: 'table-wrap' }, el('table', { id: 'events' },
      el('thead', {}, el('tr', {}, el('th', {}, 'time'), el('th', {}, 'type'), el('th', {}, 'job'), el('th', { class: 'hide-narrow' }, 'source'), el('th', {}, 'sinks'))),
      tbody)),
    more,
  );
  await load(false);
  // Live (debounced): new arrivals added, recent outcomes redrawn; after a reconnect too
  // (what arrived meanwhile is newer than the newest shown).
  const soon = debounce(quietly(update), 300);
  listen(() => soon());
}

/** Per sink, where it stands with the event and every attempt. */
function deliveryCards(d) {
  const bySink = new Map();
  for (const a of d.attempts) bySink.set(a.sink, [...(bySink.get(a.sink) ?? []), a]);
  for (const sink of Object.keys(d.sinks)) if (!bySink.has(sink)) bySink.set(sink, []);
  return [...bySink].map(([sink, attempts]) => el('div', { class: 'card' },
    el('div', {}, el('strong', {}, sink), ' ', badge(d.sinks[sink] ?? 'unknown')),
    attempts.length === 0 ? el('div', { class: 'muted' }, 'no attempt yet') : el('div', { class: 'table-wrap' }, el('table', {},
      el('tr', {}, el('th', {}, 'time'), el('th', {}, 'duration'), el('th', {}, 'outcome'), el('th', {}, 'status'), el('th', {}, 'error')),
      attempts.map((a) => el('tr', {}, el('td', {}, time(a.at)), el('td', {}, `${a.duration_ms} ms`), el('td', {}, badge(a.outcome)), el('td', {}, a.status_code ?? ''), el('td', {}, a.error ?? ''))))),
  ));
}

/** Fetches the stored body with the bearer header and saves it through a Blob URL. */
async function downloadRaw(id) {
  const response = await fetch(`/admin/events/${encodeURIComponent(id)}/raw`, { headers: { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) ?? ''}` } });
  if (response.status === 401) return void route();
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const url = URL.createObjectURL(await response.blob());
  const link = el('a', { href: url, download: `event-${id}.json`, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  // The download has taken the blob by the next turn; keeping the URL would keep the bytes.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

/** The payload: whole up to 256 KiB (pages' markdown as text, collapsed JSON), else its start; always downloadable. */
function payloadSection(e) {
  const status = el('span', { id: 'download-status', class: 'error', role: 'alert' });
  const download = el('button', {
    type: 'button',
    id: 'download',
    onclick: () => void downloadRaw(e.id).catch((err) => (status.textContent = `download failed: ${err.message}`)),
  }, `Download raw JSON (${bytes(e.size)})`);
  const pages = Array.isArray(e.payload?.data) ? e.payload.data.filter((p) => p && typeof p.markdown === 'string') : [];
  return [
    el('h2', {}, 'Payload'),
    el('p', {}, download, ' ', status),
    e.truncated ? el('p', { class: 'muted', id: 'truncated' }, `Too large to show whole: the first ${bytes(new TextEncoder().encode(e.preview).length)} of ${bytes(e.size)} follow.`) : null,
    pages.length ? el('div', {}, pages.map((p, i) => el('details', {}, el('summary', {}, `page ${i + 1}: ${p.metadata?.title ?? p.metadata?.sourceURL ?? ''}`), el('pre', { class: 'markdown' }, p.markdown)))) : null,
    el('details', { id: 'payload-json' }, el('summary', {}, e.truncated ? 'JSON (start)' : 'JSON'), el('pre', { id: 'payload' }, e.truncated ? e.preview : JSON.stringify(e.payload, null, 2))),
  ];
}

/**
 * One event, fetched once. Live updates refresh its deliveries only: sections the reader
 * opened stay open, the scroll stays put, and the payload is not downloaded again.
 */
async function eventDetail(id) {
  const render = renderer();
  const e = await api(`/admin/events/${encodeURIComponent(id)}`);
  const deliveries = el('div', { id: 'attempts' });
  const showDeliveries = (d) => {
    deliveries.replaceChildren(...deliveryCards(d));
    // A settle may land before the stream is open: while something waits, look again.
    clearTimeout(refreshTimer);
    if (Object.values(d.sinks).some((o) => o === 'pending' || o === 'retrying')) refreshTimer = setTimeout(refresh, 1000);
  };
  const refresh = quietly(async () => showDeliveries(await api(`/admin/events/${encodeURIComponent(id)}/attempts`)));
  render(
    el('h1', {}, `Event ${e.id}`),
    el('p', {}, `${e.type} · job `, el('a', { href: `#/events?job=${encodeURIComponent(e.job_id)}` }, e.job_id), ` · from ${e.source} · ${time(e.received_at)}`),
    el('h2', {}, 'Routing'),
    e.outcome === 'unrouted'
      ? el('p', { id: 'unrouted' }, badge('unrouted'), ' No route matched this event: it went to no sink. The failed condition of each route is marked ✗ below.')
      : null,
    e.routing === null
      ? el('p', { class: 'muted' }, 'The stored body does not parse: no routing explanation.')
      : el('div', { id: 'routing', class: 'table-wrap' }, el('table', {},
          el('tr', {}, el('th', {}, 'route'), el('th', {}, 'to'), el('th', {}, 'result'), el('th', {}, 'conditions')),
          e.routing.map((r) => el('tr', {},
            el('td', {}, r.route),
            el('td', {}, r.to.join(', ')),
            el('td', {}, badge(r.matched ? 'matched' : 'unmatched')),
            el('td', {}, r.checks.length === 0 ? 'matches every event' : r.checks.map((c) => el('div', { class: c.passed ? '' : 'error' },
              `${c.passed ? '✓' : '✗'} ${c.condition} — got ${JSON.stringify(c.got)}`))),
          )))),
    el('p', { class: 'muted' }, 'Explained against the routes in force now.'),
    el('h2', {}, 'Deliveries'),
    deliveries,
    ...payloadSection(e),
  );
  showDeliveries(e);
  listen(debounce(refresh, 500));
}

// ---- Dead letters -----------------------------------------------------------------------

/** Rows the dead-letters page shows; one more is asked for, to know whether more match. */
const DEAD_LETTER_ROWS = 100;

async function deadLetters(params) {
  const render = renderer();
  const query = new URLSearchParams(params);
  const asked = new URLSearchParams(query);
  asked.set('limit', String(DEAD_LETTER_ROWS + 1));
  const data = await api(`/admin/dead-letters?${asked}`);
  const letters = data.dead_letters.slice(0, DEAD_LETTER_ROWS);
  const more = data.dead_letters.length > DEAD_LETTER_ROWS;
  const { alert, guard } = actionErrors();
  const status = el('p', { id: 'dlq-status', role: 'status' });
  const confirmBar = el('div', { id: 'dlq-confirm', class: 'filters', hidden: true });
  const checked = () => [...view.querySelectorAll('input[data-id]:checked')].map((c) => Number(c.dataset.id));
  const act = guard(async (action, selection) => {
    if (action === 'replay') {
      listen((notice) => {
        if (notice.kind === 'replay') status.textContent = `replaying: ${notice.done} of ${notice.total}`;
      });
    }
    const result = await api(`/admin/dead-letters/${action}`, { method: 'POST', body: JSON.stringify(selection) });
    status.textContent = action === 'replay' ? `replayed ${result.replayed}` : `dropped ${result.dropped}`;
    await deadLetters(params);
    view.querySelector('#dlq-status').textContent = status.textContent;
  });
  /** A replay or drop of many: says how many first, and acts only once confirmed. */
  const confirmFirst = (action, selection, n) => {
    const verb = action === 'replay' ? 'Replay' : 'Drop';
    confirmBar.replaceChildren(
      el('span', {}, typeof n === 'number' ? `${verb} ${count(n, 'dead letter')}?` : `${verb} ${n} dead letters?`),
      el('button', { type: 'button', id: 'dlq-confirm-yes', onclick: () => { confirmBar.hidden = true; void act(action, selection); } }, verb),
      el('button', { type: 'button', onclick: () => (confirmBar.hidden = true) }, 'Cancel'),
    );
    confirmBar.hidden = false;
  };
  const filter = Object.fromEntries(query);
  const matching = Object.keys(filter).length ? filter : { all: true };
  const matchingCount = more ? `more than ${DEAD_LETTER_ROWS}` : letters.length;
  const selected = (action) => () => {
    const ids = checked();
    if (ids.length === 0) alert.textContent = 'Select dead letters first.';
    else if (action === 'drop') confirmFirst('drop', { ids }, ids.length);
    else void act(action, { ids });
  };
  render(
    el('h1', {}, 'Dead letters'),
    filtersForm([['sink', 'sink'], ['type', 'type'], ['job', 'job id']], filter, (p) => (location.hash = `#/dead-letters?${p}`)),
    el('div', { class: 'filters' },
      el('button', { type: 'button', id: 'replay-selected', onclick: selected('replay') }, 'Replay selected'),
      el('button', { type: 'button', id: 'drop-selected', onclick: selected('drop') }, 'Drop selected'),
      el('button', { type: 'button', id: 'replay-filter', onclick: () => confirmFirst('replay', matching, matchingCount) }, 'Replay all matching'),
      el('button', { type: 'button', id: 'drop-filter', onclick: () => confirmFirst('drop', matching, matchingCount) }, 'Drop all matching')),
    confirmBar,
    alert,
    status,
    el('div', { class: 'table-wrap' }, el('table', { id: 'dead-letters' },
      el('tr', {}, el('th', {}, ''), el('th', {}, 'failed'), el('th', {}, 'sink'), el('th', { class: 'hide-narrow' }, 'type'), el('th', { class: 'hide-narrow' }, 'job'), el('th', { class: 'hide-narrow' }, 'attempts'), el('th', {}, 'last error')),
      letters.map((d) => el('tr', {},
        el('td', {}, el('input', { type: 'checkbox', 'data-id': d.id, 'aria-label': `select ${d.id}` })),
        el('td', {}, el('a', { href: `#/events/${d.eventId}` }, time(new Date(d.failedAt).toISOString()))),
        el('td', {}, d.sink), el('td', { class: 'hide-narrow' }, d.type), el('td', { class: 'hide-narrow' }, d.jobId), el('td', { class: 'hide-narrow' }, d.attempts), el('td', { class: 'last-error' }, d.lastError ?? ''))))),
    more ? el('p', { id: 'dlq-more', class: 'muted' }, `The first ${DEAD_LETTER_ROWS} are shown; more match. Narrow the filter, or act on all matching.`) : null,
  );
}

// ---- Sinks, test event, backfill ---------------------------------------------------------

/** The Sinks page: drawn again on each notice; the stream is opened once, when the page opens. */
async function sinks() {
  const { alert, guard } = actionErrors();
  const draw = async () => {
    const render = renderer();
    const data = await api('/admin/sinks');
    render(
      el('h1', {}, 'Sinks'),
      alert,
      el('div', { class: 'table-wrap' }, el('table', { id: 'sinks' },
        el('tr', {}, el('th', {}, 'sink'), el('th', {}, 'state'), el('th', {}, 'pending'), el('th', { class: 'hide-narrow' }, 'oldest'), el('th', {}, 'dead letters'), el('th', {}, '')),
        data.sinks.map((s) => el('tr', { 'data-sink': s.name },
          el('td', {}, s.name), el('td', {}, badge(s.state)), el('td', { class: 'count-pending' }, s.pending), el('td', { class: 'hide-narrow' }, ago(s.oldest_pending_age_ms)), el('td', {}, s.dead_letters),
          el('td', {}, el('button', {
            type: 'button',
            onclick: guard(async () => {
              await api(`/admin/sinks/${encodeURIComponent(s.name)}/${s.state === 'paused' ? 'resume' : 'pause'}`, { method: 'POST' });
              await draw();
            }),
          }, s.state === 'paused' ? 'Resume' : 'Pause')))))),
      el('p', { class: 'muted' }, 'A paused sink takes nothing from the queue; its events keep queueing.'),
    );
  };
  await draw();
  listen(debounce(quietly(draw), 500));
}

/** Sample types the relay can send: the test-event body's enum in its OpenAPI document (src/routing/event-types.ts). */
async function sampleTypes() {
  const doc = await api('/admin/openapi.json');
  return doc.paths['/admin/test-event'].post.requestBody.content['application/json'].schema.properties.type.enum;
}

async function testEvent() {
  const render = renderer();
  const types = await sampleTypes();
  const { alert, guard } = actionErrors();
  const result = el('div', { id: 'test-result', role: 'status' });
  const select = el('select', { name: 'type' }, types.map((t) => el('option', { value: t }, t)));
  const form = el('form', { class: 'filters' }, el('label', {}, 'sample type', select), el('button', { type: 'submit' }, 'Send'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void guard(async () => {
      const sent = await api('/admin/test-event', { method: 'POST', body: JSON.stringify({ type: select.value }) });
      if (sent.event_id === null) result.replaceChildren('No route matched: nothing was stored.');
      else location.hash = `#/events/${sent.event_id}`;
    })();
  });
  render(el('h1', {}, 'Send a test event'), el('p', { class: 'muted' }, 'A sample of the type is accepted as if the first source had sent it, then routed and delivered.'), form, alert, result);
}

async function backfill() {
  const render = renderer();
  const names = (await api('/admin/sinks')).sinks.map((s) => s.name);
  const { alert, guard } = actionErrors();
  const progress = el('div', { id: 'backfill-progress', role: 'status' });
  const form = el('form', { class: 'filters' },
    el('label', {}, 'sink', el('select', { name: 'sink' }, names.map((n) => el('option', { value: n }, n)))),
    el('label', {}, 'since', el('input', { name: 'since', type: 'datetime-local', required: true })),
    el('label', {}, 'until', el('input', { name: 'until', type: 'datetime-local' })),
    el('label', {}, 'type', el('input', { name: 'type' })),
    el('label', {}, 'job id', el('input', { name: 'job' })),
    el('label', {}, 'page URL contains', el('input', { name: 'url' })),
    el('label', { title: 'By default only the events the sink’s routes would send it now' }, 'every type (ignore routes)', el('input', { name: 'ignore_routes', type: 'checkbox' })),
    el('button', { type: 'submit' }, 'Backfill'));
  const submit = form.querySelector('button[type=submit]');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    // A double click would queue every event twice: one backfill at a time from this form.
    if (submit.disabled) return;
    submit.disabled = true;
    void guard(async () => {
      const body = {};
      for (const [key, value] of new FormData(form)) {
        if (!value) continue;
        body[key] = key === 'ignore_routes' ? true : key === 'since' || key === 'until' ? isoOf(String(value)) : String(value);
      }
      listen((notice) => {
        if (notice.kind === 'backfill') progress.textContent = `${notice.done} of ${notice.total} queued for ${notice.sink}`;
      });
      const result = await api('/admin/backfill', { method: 'POST', body: JSON.stringify(body) }).finally(() => {
        submit.disabled = false;
      });
      progress.textContent = `${count(result.queued, 'event')} queued for ${result.sink}`;
    })();
  });
  render(el('h1', {}, 'Backfill'), el('p', { class: 'muted' }, 'Replays stored past events (history) into one sink, oldest first: those its routes would send it now, or every type of the filter.'), form, alert, progress);
}

// ---- Routing ------------------------------------------------------------------------------

async function route() {
  const mine = ++generation;
  stopListening();
  clearTimeout(refreshTimer);
  const hash = location.hash || '#/overview';
  const [path, query = ''] = hash.slice(1).split('?');
  for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', path.startsWith(a.getAttribute('href').slice(1)));
  if (!sessionStorage.getItem(TOKEN_KEY)) return showLogin('');
  try {
    if (path === '/overview') await overview();
    else if (path === '/events') await events(query);
    else if (path.startsWith('/events/')) await eventDetail(path.slice('/events/'.length));
    else if (path === '/dead-letters') await deadLetters(query);
    else if (path === '/sinks') await sinks();
    else if (path === '/test') await testEvent();
    else if (path === '/backfill') await backfill();
    else location.hash = '#/overview';
  } catch (err) {
    if (err instanceof Unauthorized) {
      sessionStorage.removeItem(TOKEN_KEY);
      return showLogin(err.message);
    }
    if (mine === generation) show(el('p', { class: 'error', role: 'alert' }, String(err.message ?? err)));
  }
}

function showLogin(message) {
  stopListening();
  nav.hidden = true;
  login.hidden = false;
  view.replaceChildren();
  document.getElementById('login-error').textContent = message;
}

login.addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, document.getElementById('token').value);
  login.hidden = true;
  nav.hidden = false;
  void route();
});

document.getElementById('logout').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin('');
});

window.addEventListener('hashchange', () => void route());
if (sessionStorage.getItem(TOKEN_KEY)) {
  login.hidden = true;
  nav.hidden = false;
}
void route();
