import { errorText, type RelayEvent } from '../../plugin-api/index.js';

/** Slack's limits: section text 3000, header 150, 50 blocks per message. */
const SECTION_MAX = 3000;
const HEADER_MAX = 150;
const BLOCKS_MAX = 50;
const DIFF_EXCERPT = 1200;
const MARKER = '… (cut)';

export interface SlackMessage {
  text: string;
  blocks: Array<Record<string, unknown>>;
}

/**
 * Cuts `text` to `max` characters with a visible marker, so Slack never refuses it; never
 * inside an escape (`&amp;` cut to `&am` would show as text and break what follows).
 */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const kept = text.slice(0, max - MARKER.length);
  const partial = /&[a-z]{0,3}$/.exec(kept);
  return `${partial ? kept.slice(0, partial.index) : kept}${MARKER}`;
}

/**
 * Slack mrkdwn treats & < > as control characters: `<!channel>` pings everyone and
 * `<https://x|text>` is a link with any label. Every value from a payload goes through here.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
const escape = escapeMrkdwn;

/**
 * A payload value placed in an operator's template: escaped, and `|` percent-encoded as
 * link() does, since the template may put it inside `<{{url}}|label>`, where a `|` in the
 * value would start a label of the payload's choosing.
 */
export function escapeTemplateValue(text: string): string {
  return escapeMrkdwn(text).replace(/\|/g, '%7C');
}

/**
 * A link the relay formats itself: only an http(s) URL, re-serialised by the URL parser
 * (which percent-encodes < > and spaces), with `|` encoded so the label stays ours.
 * Anything else is shown as inert text.
 */
export function link(url: string, label?: string): string {
  let href: string | undefined;
  try {
    const parsed = new URL(url);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') href = parsed.href.replace(/\|/g, '%7C');
  } catch {
    href = undefined;
  }
  if (href === undefined) return escape(url);
  return label === undefined ? `<${escape(href)}>` : `<${escape(href)}|${escape(label)}>`;
}

const header = (text: string) => ({ type: 'header', text: { type: 'plain_text', text: cut(text, HEADER_MAX), emoji: true } });
const section = (mrkdwn: string) => ({ type: 'section', text: { type: 'mrkdwn', text: cut(mrkdwn, SECTION_MAX) } });
const context = (mrkdwn: string) => ({ type: 'context', elements: [{ type: 'mrkdwn', text: cut(mrkdwn, SECTION_MAX) }] });

function obj(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value ? value : undefined;
}

function elements(event: RelayEvent): Record<string, unknown>[] {
  const data = event.payload.data;
  return (Array.isArray(data) ? data : [data]).map(obj);
}

function finish(text: string, blocks: Array<Record<string, unknown>>): SlackMessage {
  const kept = blocks.length <= BLOCKS_MAX ? blocks : [...blocks.slice(0, BLOCKS_MAX - 1), context(`${blocks.length - BLOCKS_MAX + 1} more blocks cut`)];
  // The fallback text is mrkdwn too (notifications show it): callers pass it unescaped.
  return { text: cut(escape(text), SECTION_MAX), blocks: kept };
}

/** monitor.page: one alert per page whose status is worth a person's attention. */
function monitorPage(event: RelayEvent, statuses: readonly string[]): SlackMessage | null {
  const pages = elements(event).filter((page) => statuses.includes(String(page.status)));
  if (pages.length === 0) return null;
  const blocks: Array<Record<string, unknown>> = [];
  const lines: string[] = [];
  for (const page of pages) {
    const url = str(page.url) ?? '(no url)';
    const status = String(page.status);
    const judgment = obj(page.judgment);
    lines.push(`Page ${status}: ${url}`);
    blocks.push(header(`Page ${status}: ${url}`));
    const verdict: string[] = [];
    if (judgment.meaningful !== undefined) {
      const confidence = str(judgment.confidence);
      verdict.push(`*Meaningful:* ${judgment.meaningful ? 'yes' : 'no'}${confidence ? ` (${escape(confidence)} confidence)` : ''}`);
    }
    if (str(judgment.reason)) verdict.push(`_${escape(String(judgment.reason))}_`);
    if (str(page.error)) verdict.push(`*Error:* ${escape(String(page.error))}`);
    verdict.push(str(page.url) ? link(url, 'Open the page') : escape(url));
    blocks.push(section(verdict.join('\n')));
    const changes = Array.isArray(judgment.meaningfulChanges) ? judgment.meaningfulChanges.map(obj) : [];
    for (const change of changes.slice(0, 10)) {
      const parts = [
        str(change.before) ? `*Before:* ${escape(String(change.before))}` : '',
        str(change.after) ? `*After:* ${escape(String(change.after))}` : '',
        str(change.reason) ? `_${escape(String(change.reason))}_` : '',
      ].filter(Boolean);
      if (parts.length) blocks.push(section(parts.join('\n')));
    }
    const diff = str(obj(page.diff).text);
    // Escaped, then cut: escaping can grow the text fivefold, past the section limit, whose
    // cut would drop the closing fence.
    if (diff) blocks.push(section(`\`\`\`${cut(escape(diff.replace(/```/g, "'''")), DIFF_EXCERPT)}\`\`\``));
    blocks.push(context(`monitor \`${escape(str(page.monitorId) ?? '?')}\` · check \`${escape(str(page.checkId) ?? event.jobId)}\``));
  }
  return finish(lines.join('\n'), blocks);
}

/** monitor.check.completed: one summary line of the counts. */
function monitorCheck(event: RelayEvent): SlackMessage {
  const lines = elements(event).map((check) => {
    const s = obj(check.summary);
    const n = (key: string) => Number(s[key] ?? 0);
    return `Monitor check ${str(check.status) ?? 'completed'}: ${n('totalPages')} pages, ${n('changed')} changed, ${n('new')} new, ${n('removed')} removed, ${n('same')} same, ${n('error')} errors`;
  });
  const text = lines.join('\n') + (errorText(event.payload.error) ? `\nError: ${errorText(event.payload.error)}` : '');
  return finish(text, [section(escape(text)), context(`monitor \`${escape(str(elements(event)[0]?.monitorId) ?? '?')}\` · check \`${escape(event.jobId)}\``)]);
}

/** A failed job or page: type, job id and error text. */
function failure(event: RelayEvent): SlackMessage {
  const error = errorText(event.payload.error) ?? elements(event).map((e) => str(obj(e.metadata).error) ?? str(e.error)).find(Boolean) ?? 'no error message';
  const urls = elements(event).map((e) => str(obj(e.metadata).url) ?? str(obj(e.metadata).sourceURL)).filter(Boolean);
  const title = /\.(failed|cancelled)$/.test(event.type) ? `${event.type} · job ${event.jobId}` : `${event.type} failed · job ${event.jobId}`;
  const lines = [`*${escape(event.type)}* · job \`${escape(event.jobId)}\``, `*Error:* ${escape(error)}`];
  if (urls.length) lines.push(`*URL:* ${urls.slice(0, 5).map((u) => link(u!)).join(', ')}`);
  return finish(`${title}: ${error}`, [header(title), section(lines.join('\n'))]);
}

/** A page that arrived with a status code worth an alert (routed here by a where rule). */
function page(event: RelayEvent): SlackMessage {
  const lines = elements(event).map((e) => {
    const m = obj(e.metadata);
    return `${str(m.url) ?? str(m.sourceURL) ?? '(no url)'} answered ${m.statusCode ?? '?'}${str(m.title) ? ` (${m.title})` : ''}`;
  });
  const text = `${event.type} for job ${event.jobId}:\n${lines.join('\n')}`;
  return finish(text, [section(escape(text))]);
}

/**
 * The alert for an event, or null when there is nothing a person needs to read
 * (monitor pages whose status is not in `statuses`, e.g. `same`).
 */
export function slackMessage(event: RelayEvent, statuses: readonly string[]): SlackMessage | null {
  if (event.type === 'monitor.page') return monitorPage(event, statuses);
  if (event.type === 'monitor.check.completed') return monitorCheck(event);
  if (!event.success || /\.(failed|cancelled)$/.test(event.type)) return failure(event);
  if (event.type.endsWith('.page')) return page(event);
  const text = `${event.type} · job ${event.jobId}`;
  return finish(text, [section(escape(text))]);
}
