import type { OptionProblem } from '../plugin-api/index.js';

/**
 * A sink's URL is a credential (a Slack hook's path, a token in a query): an error
 * message that quotes it (undici's "Failed to parse URL from …") has it cut out, and
 * any other URL in the text with it.
 */
export function withoutUrls(message: string, url: string): string {
  return message.split(url).join('<url>').replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>');
}

/**
 * Refuses at check time a URL `new URL()` cannot parse, by its length only, and one with
 * `user:password@`: fetch refuses to send it (the Slack sink retried forever) and undici
 * drops them silently (the webhook sink posted without credentials).
 */
export function unusableUrl(url: string, path: string[] = ['url']): OptionProblem[] {
  // Not URL.parse: Node 20 before 20.18 lacks it.
  const parsed = URL.canParse(url) ? new URL(url) : null;
  if (parsed === null) {
    return [{ path, message: `expected a URL that can be parsed, got a string of ${url.length} characters (not shown: it may hold a secret)` }];
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return [
      {
        path,
        message:
          'expected a URL without user:password@, got one with credentials (not shown); they would not be sent: ' +
          'give them as a header instead, headers: { authorization: "Basic ${BASIC_AUTH}" } on a webhook sink',
      },
    ];
  }
  return [];
}
