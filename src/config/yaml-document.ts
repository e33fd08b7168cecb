import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import type { ErrorCode } from '../errors.js';
import type { ConfigIssue, KeyPath } from './config-error.js';
import { formatKeyPath, issueMessage } from './config-error.js';
import { nonPlainValues } from './non-plain-values.js';
import { unresolvedAliases } from './unresolved-aliases.js';

/**
 * What a YAML syntax error says, without the text it quotes: a scalar in a broken line
 * may be a secret. The line and column say where to look.
 */
export function yamlMessage(code: string, message: string): string {
  switch (code) {
    case 'BAD_DQ_ESCAPE':
      return 'invalid escape sequence in a double-quoted string';
    case 'TAG_RESOLVE_FAILED':
      return 'unknown tag (a value starting with "!" must be quoted)';
    case 'BAD_PROP_ORDER':
    case 'UNEXPECTED_TOKEN':
      return /^Unexpected [a-z-]+ at node end$/.test(message) ? message : 'unexpected text here (not shown: it may hold a secret)';
    default:
      // yaml's other messages are fixed sentences (the codes above are those that quote).
      return message.split('\n')[0] ?? message;
  }
}

/** The one issue standing for the syntax errors after the first one's line: where they start, how many. */
function followingErrors(file: string, after: ReadonlyArray<{ line: number; column: number }>, firstLineText: string): ConfigIssue {
  const { line, column } = after[0]!;
  const count = after.length === 1 ? '1 more YAML syntax error' : `${after.length} more YAML syntax errors`;
  // `${` in a flow map or list is YAML's `{`: the usual slip behind a cascade like this one.
  const hint = /[{[][^}\]]*\$\{/.test(firstLineText) ? '; a ${VAR} inside { } or [ ] is read as YAML there: write that map or list one item per line' : '';
  const message = `${count} from here on, not listed: they most likely follow from the one${after.length === 1 ? '' : 's'} above (fix that line and check again)${hint}`;
  return { code: 'RELAY_ERR_CONFIG_YAML', file, line, column, path: '(yaml)', message };
}

/**
 * A parsed YAML file that remembers where each key stands, so that any problem found
 * later (schema, routing, sinks) can be reported as file:line:column with its key path.
 */
export class YamlSource {
  readonly doc: Document;
  private readonly lines = new LineCounter();
  readonly issues: ConfigIssue[] = [];

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false });
    let firstLine: number | undefined;
    const after: Array<{ line: number; column: number }> = [];
    for (const error of this.doc.errors) {
      const { line, col } = this.lines.linePos(error.pos[0]);
      const duplicate = error.code === 'DUPLICATE_KEY';
      // One slip (`{ port: ${PORT} }`) derails the parser for the rest of the file: the
      // syntax errors on the first one's line are what to fix, the others are counted.
      if (!duplicate && firstLine !== undefined && line !== firstLine) {
        after.push({ line, column: col });
        continue;
      }
      if (!duplicate) firstLine = line;
      this.issues.push({
        code: duplicate ? 'RELAY_ERR_CONFIG_DUPLICATE' : 'RELAY_ERR_CONFIG_YAML',
        file,
        line,
        column: col,
        path: '(yaml)',
        message: duplicate ? 'a key is written twice in the same map' : yamlMessage(error.code, error.message),
      });
    }
    if (after.length > 0) this.issues.push(followingErrors(file, after, text.split('\n')[firstLine! - 1] ?? ''));
    if (this.doc.errors.length > 0) return;
    for (const { line, column } of unresolvedAliases(this.doc, this.lines)) {
      const message = 'an alias (*name) with no anchor (&name) set before it; a value starting with "*" must be quoted (not shown: it may hold a secret)';
      this.issues.push({ code: 'RELAY_ERR_CONFIG_YAML', file, line, column, path: '(yaml)', message });
    }
    for (const { path, tag } of nonPlainValues(this.doc)) {
      this.report('RELAY_ERR_CONFIG_SCHEMA', path, [
        `expected a string, number, boolean, list or map, got a ${tag} value (not shown: it may hold a secret); write it as a plain string`,
      ]);
    }
  }

  /** The node at `path`, or the nearest ancestor that exists in the file. */
  private nodeAt(path: KeyPath, key: boolean): Node | undefined {
    let node: unknown = this.doc.contents;
    for (let i = 0; i < path.length; i++) {
      const part = path[i];
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(part));
        if (!pair) return node;
        const last = i === path.length - 1;
        if (last && key && isScalar(pair.key)) return pair.key;
        node = pair.value ?? pair.key;
      } else if (isSeq(node) && typeof part === 'number' && node.items[part]) {
        node = node.items[part];
      } else {
        return node as Node | undefined;
      }
    }
    return node as Node | undefined;
  }

  /** 1-based line and column of `path` (of its key when `key` is true). */
  position(path: KeyPath, key = false): { line: number; column: number } {
    const node = this.nodeAt(path, key);
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  issue(code: ErrorCode, path: KeyPath, args: readonly unknown[], options?: { key?: boolean }): ConfigIssue {
    const { line, column } = this.position(path, options?.key ?? false);
    return { code, file: this.file, line, column, path: formatKeyPath(path), message: issueMessage(code, args) };
  }

  /** Records an issue; returns it too, for callers that collect warnings apart. */
  report(code: ErrorCode, path: KeyPath, args: readonly unknown[], options?: { key?: boolean }): ConfigIssue {
    const issue = this.issue(code, path, args, options);
    this.issues.push(issue);
    return issue;
  }
}
