import type { OptionProblem } from '../plugin-api/index.js';

/**
 * A sink's URL is a credential (a Slack hook's path, a token in a query): an error
 * message that quotes it (undici's "Failed to parse URL from …") has it cut out, and
 * any other URL in the text with it.
 */
export function withoutUrls(message: string, url: string): string {
  return message.split(url).join('<url>').replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>');
}

/** Refuses at check time a URL `new URL()` cannot parse, by its length only. */
export function unparsableUrl(url: string, path: string[] = ['url']): OptionProblem[] {
  if (URL.canParse(url)) return [];
  return [{ path, message: `expected a URL that can be parsed, got a string of ${url.length} characters (not shown: it may hold a secret)` }];
}
