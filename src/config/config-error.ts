import { formatMessage, type ErrorCode } from '../errors.js';

export type KeyPath = ReadonlyArray<string | number>;

/** One problem in a config file, where it is and what was expected. */
export interface ConfigIssue {
  code: ErrorCode;
  file: string;
  line: number;
  column: number;
  /** e.g. `routes[2].to[0]` */
  path: string;
  message: string;
}

export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out || '(root)';
}

export function formatIssue(issue: ConfigIssue): string {
  return `${issue.file}:${issue.line}:${issue.column} ${issue.path}: ${issue.message} [${issue.code}]`;
}

export function issueMessage(code: ErrorCode, args: readonly unknown[]): string {
  return formatMessage(code, args);
}

/**
 * Thrown by the loader with every issue found, not just the first, and the warnings found
 * on the way: `check` shows both in one run, so fixing the errors brings no second round.
 */
export class ConfigError extends Error {
  readonly code = 'RELAY_ERR_CONFIG_INVALID' as const;
  readonly issues: readonly ConfigIssue[];
  readonly warnings: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], warnings: readonly ConfigIssue[] = []) {
    const lines = issues.map(formatIssue);
    const also = warnings.length ? `\n\nwarnings (${warnings.length}):\n${warnings.map(formatIssue).join('\n')}` : '';
    super(`invalid configuration (${issues.length} error${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}${also}`);
    this.name = 'ConfigError';
    this.issues = issues;
    this.warnings = warnings;
  }
}
