import { describe, expect, it } from 'vitest';
import { compileTemplate, type Template } from '../../plugin-api/index.js';
import { relayEvent, sampleEvent } from '../../../test/helpers/webhooks.js';
import { cut, escapeMrkdwn, escapeTemplateValue, link, slackMessage } from './blocks.js';

const PHISH = '<https://evil.example/a|Your account is locked>';
const STATUSES = ['changed', 'new', 'removed', 'error'];

/** Every mrkdwn string of a message: the fallback text and each block's text. */
function mrkdwnOf(message: { text: string; blocks: Array<Record<string, any>> }): string[] {
  const texts = [message.text];
  for (const block of message.blocks) {
    if (block.type === 'header') continue; // plain_text: Slack renders no markup there
    if (block.text?.text) texts.push(block.text.text);
    for (const element of block.elements ?? []) texts.push(element.text);
  }
  return texts;
}

/** The `<…>` sequences Slack would render as links or mentions. */
const live = (text: string): string[] => text.match(/<[^<>]*>/g) ?? [];

describe('slack text built from payload values', () => {
  it('turns a crafted link and <!channel> in a monitored page into inert text', () => {
    const base = sampleEvent('monitor.page');
    const page = (base.data as Array<Record<string, any>>)[0]!;
    const event = relayEvent({
      ...base,
      data: [
        {
          ...page,
          monitorId: '<!here>',
          error: `<!channel> ${PHISH}`,
          judgment: { ...page.judgment, confidence: '<!channel>', reason: PHISH, meaningfulChanges: [{ before: '<!channel>', after: PHISH, reason: '&lt;' }] },
          diff: { text: `+ ${PHISH}\n+ <!channel>` },
        },
      ],
    });
    const message = slackMessage(event, STATUSES)!;
    const links = mrkdwnOf(message).flatMap(live);
    // The one link left is the relay's own: the page URL with the relay's label.
    expect(links).toEqual(['<https://example.com/blog|Open the page>']);
    expect(mrkdwnOf(message).join('\n')).toContain('&lt;!channel&gt;');
    expect(mrkdwnOf(message).join('\n')).toContain('&amp;lt;');
  });

  it('never links a page URL that could carry its own label or markup', () => {
    const base = sampleEvent('monitor.page');
    const page = (base.data as Array<Record<string, any>>)[0]!;
    for (const url of [PHISH, 'https://evil.example/a|Your account is locked', 'javascript:alert(1)', 'https://a.example/<!channel>']) {
      const message = slackMessage(relayEvent({ ...base, data: [{ ...page, url }] }), STATUSES)!;
      const links = mrkdwnOf(message).flatMap(live);
      for (const l of links) expect(l).toMatch(/^<https?:\/\/[^|<>]*\|Open the page>$/);
    }
  });

  it('escapes the error, URLs and job id of a failed job', () => {
    const event = relayEvent({
      success: false,
      type: 'crawl.failed',
      id: 'job-<!channel>',
      error: PHISH,
      data: [{ metadata: { url: 'https://evil.example/a|Your account is locked', sourceURL: 'x' } }],
    });
    const message = slackMessage(event, STATUSES)!;
    for (const text of mrkdwnOf(message)) {
      for (const l of live(text)) expect(l).toBe('<https://evil.example/a%7CYour%20account%20is%20locked>');
    }
    expect(message.text).toContain('&lt;https://evil.example/a|Your account is locked&gt;');
  });

  it('escapes page URLs and titles of an alerted page', () => {
    const event = relayEvent({ success: true, type: 'crawl.page', id: 'j', data: [{ metadata: { url: PHISH, title: '<!channel>', statusCode: 500 } }] });
    const message = slackMessage(event, STATUSES)!;
    expect(mrkdwnOf(message).flatMap(live)).toEqual([]);
  });

  it('escapes the values a custom template takes from the payload, not the template text', () => {
    const template = compileTemplate('*{{type}}* <https://ops.example|runbook> {{metadata.team}}', 'event', escapeMrkdwn) as Template;
    const event = relayEvent({ success: true, type: 'crawl.completed', id: 'j', data: [], metadata: { team: `<!channel> ${PHISH}` } });
    const text = template.renderOrThrow({ event });
    expect(live(text)).toEqual(['<https://ops.example|runbook>']);
  });

  it('keeps the label of a template link its own when a value holds "|"', () => {
    const template = compileTemplate('<{{data.0.metadata.url}}|Open the page>', 'event', escapeTemplateValue) as Template;
    const event = relayEvent({ success: true, type: 'crawl.page', id: 'j', data: [{ metadata: { url: 'https://evil.example/x|Your account is locked' } }] });
    expect(live(template.renderOrThrow({ event }))).toEqual(['<https://evil.example/x%7CYour account is locked|Open the page>']);
  });

  it('escapes a diff before cutting it: the excerpt keeps its closing fence and no half escape', () => {
    const base = sampleEvent('monitor.page');
    const page = (base.data as Array<Record<string, any>>)[0]!;
    const event = relayEvent({ ...base, data: [{ ...page, status: 'changed', diff: { text: `+ ${'<&>'.repeat(1000)}` } }] });
    const diff = slackMessage(event, STATUSES)!.blocks.map((b) => (b as any).text?.text as string | undefined).find((t) => t?.startsWith('```'))!;
    expect(diff.endsWith('… (cut)```')).toBe(true);
    expect(diff.length).toBeLessThanOrEqual(3000);
    expect(diff.slice(3, -'… (cut)```'.length)).toMatch(/^\+ (&lt;&amp;&gt;)+(&lt;|&lt;&amp;)?$/);
  });

  it('never cuts inside an escape', () => {
    expect(cut('ab&amp;cd', 10)).toBe('ab&amp;cd');
    expect(cut(`${'x'.repeat(10)}&amp;${'y'.repeat(10)}`, 20)).toBe(`${'x'.repeat(10)}… (cut)`);
  });

  it('formats links only from http(s) URLs', () => {
    expect(link('https://example.com/a b?q=<x>&y|z', 'open')).toBe('<https://example.com/a%20b?q=%3Cx%3E&amp;y%7Cz|open>');
    expect(link('ftp://example.com/')).toBe('ftp://example.com/');
    expect(link('not a url <!channel>')).toBe('not a url &lt;!channel&gt;');
  });
});
