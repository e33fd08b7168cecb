import { describe, expect, expectTypeOf, it } from 'vitest';
import { builtinSinks } from '../sinks/registry.js';
import { parseConfig } from '../config/load.js';
import { defineSink, Enum, Type } from './index.js';

// Issue 17 item 5: `configSchema: {}` compiled beside any options type. These lines are
// checked by `npm run typecheck`: each @ts-expect-error must meet an error.
describe('defineSink derives the options type from configSchema', () => {
  it('gives create the options of the schema, defaults included', () => {
    const sink = defineSink({
      type: 'pages_db',
      configSchema: Type.Object(
        { path: Type.String(), table: Type.String({ default: 'pages' }), mode: Enum(['append', 'upsert'], { default: 'upsert' }), note: Type.Optional(Type.String()) },
        { additionalProperties: false },
      ),
      create(options) {
        expectTypeOf(options).toEqualTypeOf<{ path: string; table: string; mode: 'append' | 'upsert'; note?: string }>();
        return { async deliver() {} };
      },
    });
    const registry = new Map(builtinSinks()).set(sink.type, sink);
    const yaml = `sources: { s: { path: /w, auth: none } }\nsinks: { db: { type: pages_db, path: ./p.db } }\nroutes: [{ name: all, to: [db] }]\n`;
    expect(parseConfig(yaml, 'relay.config.yaml', { registry }).sinks[0]!.options).toEqual({ path: './p.db', table: 'pages', mode: 'upsert' });
  });

  it('refuses a schema that is not a TypeBox schema, or options that do not match it (type errors)', () => {
    // @ts-expect-error an empty object is no schema: the options type cannot come from it
    defineSink({ type: 'a', configSchema: {}, create: (_options: { label: string }) => ({ async deliver() {} }) });
    // @ts-expect-error the options type is derived, not given
    defineSink<{ label: string }>({ type: 'b', configSchema: {}, create: () => ({ async deliver() {} }) });
    defineSink({
      type: 'c',
      configSchema: Type.Object({ label: Type.String() }),
      // @ts-expect-error create reads an option the schema does not declare
      create: (options) => ({ async deliver() { void options.lable.length; } }),
    });
    defineSink({
      type: 'd',
      configSchema: Type.Object({ label: Type.String() }),
      // @ts-expect-error create declares an option the schema does not give (timeout_ms)
      create: (_options: { label: string; timeout_ms: number }) => ({ async deliver() {} }),
    });
    defineSink({
      type: 'e',
      configSchema: Type.Object({ label: Type.String() }),
      // @ts-expect-error check declares an option the schema does not give (timeout_ms)
      check: (_options: { label: string; timeout_ms: number }) => [],
      create: () => ({ async deliver() {} }),
    });
    expect(true).toBe(true);
  });
});
