import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import type { ErrorCode } from '../errors.js';
import type { ConfigIssue, KeyPath } from './config-error.js';
import { formatKeyPath, issueMessage } from './config-error.js';

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
    for (const error of this.doc.errors) {
      const { line, col } = this.lines.linePos(error.pos[0]);
      const duplicate = error.code === 'DUPLICATE_KEY';
      this.issues.push({
        code: duplicate ? 'RELAY_ERR_CONFIG_DUPLICATE' : 'RELAY_ERR_CONFIG_YAML',
        file,
        line,
        column: col,
        path: '(yaml)',
        message: duplicate ? 'a key is written twice in the same map' : error.message.split('\n')[0] ?? error.message,
      });
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
