import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseConfig, type SinkRegistry } from '../../src/config/load.js';
import type { RelayConfig } from '../../src/config/types.js';
import type { SinkDefinition } from '../../src/plugin-api/types.js';
import { Relay } from '../../src/relay.js';
import { builtinSinks } from '../../src/sinks/registry.js';

export const SECRET = 'test-secret-1';
export const SECOND_SECRET = 'test-secret-2';

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(prefix = 'relay-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A registry of the built-in sinks plus the given test sinks. */
export function registryWith(...extra: SinkDefinition<any>[]): SinkRegistry {
  const registry = new Map(builtinSinks());
  for (const definition of extra) registry.set(definition.type, definition);
  return registry;
}

/** Minimal valid YAML around the given sinks and routes; the queue lives in `dir`. */
export function configYaml(dir: string, body: string): string {
  return `
sources:
  firecrawl:
    path: /webhooks/firecrawl
    secrets: ["${SECRET}", "${SECOND_SECRET}"]
queue:
  dir: ${join(dir, 'queue')}
${body}`;
}

export function testConfig(yaml: string, registry: SinkRegistry = builtinSinks(), env: Record<string, string> = {}): RelayConfig {
  return parseConfig(yaml, 'relay.config.yaml', { registry, env });
}

/** A relay built in-process (no listening), with a silent logger unless one is given. */
export async function testRelay(
  config: RelayConfig,
  registry: SinkRegistry = builtinSinks(),
  options: Partial<Parameters<typeof Relay.create>[0]> = {},
): Promise<Relay> {
  return Relay.create({ config, registry, logger: pino({ level: 'silent' }), ...options });
}

/**
 * Writes `relay.config.yaml` in `dir` for a child-process relay on any free port, with one
 * `archive` file sink (JSON Lines only) and one route to it. Returns the file's path.
 */
export function writeArchiveConfig(dir: string, outDir: string, retry: string): string {
  const file = join(dir, 'relay.config.yaml');
  writeFileSync(
    file,
    configYaml(
      dir,
      `
server: { port: 0 }
sinks:
  archive: { type: file, dir: "${outDir}", markdown: false, retry: ${retry} }
routes: [{ name: all, to: [archive] }]
`,
    ),
  );
  return file;
}
