import { describeQueue } from '../queue/describe-queue.js';
import { formatIssue } from '../config/config-error.js';
import type { RelayConfig } from '../config/types.js';

function describeAuth(config: RelayConfig['sources'][number]): string {
  switch (config.auth.kind) {
    case 'signature':
      return `signature (${config.auth.secrets.length} secret${config.auth.secrets.length === 1 ? '' : 's'})`;
    case 'token': {
      const { header, query, tokens } = config.auth;
      const places = [header && `${header} header`, query && `?${query}=`].filter(Boolean).join(' or ');
      return `token in ${places} (${tokens.length})`;
    }
    case 'none':
      return 'NONE (anyone may post)';
  }
}

/** What `check` prints for a valid config: never a secret, only how many. */
export function describeConfig(config: RelayConfig, ignoredPluginFiles: readonly string[] = []): string {
  const lines = [`${config.file}: valid`, '', 'sources:'];
  for (const s of config.sources) lines.push(`  ${s.name}  POST ${s.path}  auth: ${describeAuth(s)}  dedupe: ${s.dedupe}`);
  lines.push('sinks:');
  for (const s of config.sinks) lines.push(`  ${s.name}  type: ${s.type}`);
  for (const name of config.disabledSinks) lines.push(`  ${name}  (disabled)`);
  lines.push('routes:');
  for (const r of config.routes) lines.push(`  ${r.name}  ${JSON.stringify(r.match)} -> ${r.to.join(', ')}`);
  lines.push(`queue: ${config.queue.store} ${describeQueue(config.queue)} (at most ${config.queue.max_bytes} bytes)`);
  lines.push(`listen: ${config.server.host}:${config.server.port}`);
  // Helpers beside the plugins: named, so an author sees why a sink type is missing.
  for (const ignored of ignoredPluginFiles) lines.push(`plugins: ignored ${ignored}`);
  if (config.warnings.length) {
    lines.push('', 'warnings:');
    for (const w of config.warnings) lines.push(`  ${formatIssue(w)}`);
  }
  return lines.join('\n');
}
