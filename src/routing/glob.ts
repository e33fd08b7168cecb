/** Characters an event-type glob may hold: `crawl.*`, `*.failed`, `batch_scrape.?age`. */
const TYPE_GLOB = /^[A-Za-z0-9_.*?-]+$/;

export function isValidTypeGlob(pattern: string): boolean {
  return TYPE_GLOB.test(pattern);
}

/**
 * A glob as a RegExp. `*` matches any run of characters, dots included, so `*.completed`
 * matches `monitor.check.completed` and `monitor.*` matches every monitor event.
 */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (const char of pattern) {
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else source += char.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}
