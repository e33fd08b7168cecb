import type { RelayEvent, Sink, SinkDefinition } from '../plugin-api/types.js';

const views = new WeakMap<object, object>();

const refuse = (what: string) => (): never => {
  throw new TypeError(`Cannot ${what} a property of event.payload: it is shared by every sink and read-only (copy it first: structuredClone(event.payload))`);
};

/**
 * A read-only view of a (deep-frozen) payload whose writes throw a TypeError in any mode.
 * Writing to a frozen object fails silently in sloppy code, and tsx loads a plugin as
 * sloppy CommonJS where no package.json says "type": "module" (/etc/relay/plugins).
 * A proxy of the frozen object itself may not hand out views of its children (a frozen
 * property must read as itself), so each view stands on an empty shadow of the same kind.
 */
export function readOnlyView<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  const known = views.get(value);
  if (known) return known as T;
  const real = value as object;
  const shadow: object = Array.isArray(real) ? new Array(real.length) : Object.create(Object.getPrototypeOf(real) as object | null);
  const view = new Proxy(shadow, {
    get: (_, key) => readOnlyView(Reflect.get(real, key)),
    has: (_, key) => Reflect.has(real, key),
    ownKeys: () => Reflect.ownKeys(real),
    getOwnPropertyDescriptor: (_, key) => {
      const found = Reflect.getOwnPropertyDescriptor(real, key);
      // An array's `length` must be described as the shadow's (non-configurable).
      if (!found || (Array.isArray(real) && key === 'length')) return found && Reflect.getOwnPropertyDescriptor(shadow, key);
      return { ...found, value: readOnlyView(found.value), configurable: true };
    },
    set: refuse('set'),
    defineProperty: refuse('define'),
    deleteProperty: refuse('delete'),
    setPrototypeOf: refuse('change the prototype of'),
  });
  views.set(real, view);
  return view as T;
}

/**
 * The event as a plugin gets it: the payload through a read-only view, and its own copy of
 * the raw bytes (built-in sinks share the stored ones; a Buffer cannot be frozen, and a
 * plugin writing into it must not reach the other sinks).
 */
const withView = (event: RelayEvent): RelayEvent => ({ ...event, payload: readOnlyView(event.payload), raw: ownCopy(event.raw) });

/** A copy in memory of its own: `Buffer.from` may take a small one from Node's shared pool, which `raw.buffer` then exposes. */
function ownCopy(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}

/** The sink with its methods bound to it (a class instance keeps its `this`), events given read-only payloads and own raw bytes. */
function readOnlySink(sink: Sink): Sink {
  const bound = (name: 'connect' | 'healthcheck' | 'close') => (typeof sink[name] === 'function' ? { [name]: sink[name].bind(sink) } : {});
  const lifecycle = { ...bound('connect'), ...bound('healthcheck'), ...bound('close') };
  if (typeof sink.deliver === 'function') {
    const deliver = sink.deliver.bind(sink);
    return { ...lifecycle, deliver: (event: RelayEvent, signal: AbortSignal) => deliver(withView(event), signal) };
  }
  if (typeof sink.write === 'function') {
    const write = sink.write.bind(sink);
    return { ...lifecycle, write: (batch: readonly RelayEvent[], signal: AbortSignal) => write(batch.map(withView), signal) };
  }
  return sink;
}

/** A plugin's definition whose sinks get read-only views of the payload (a write throws, as docs/plugins.md says) and their own raw bytes. */
export function withReadOnlyPayloads<O>(definition: SinkDefinition<O>): SinkDefinition<O> {
  const create = definition.create;
  return {
    ...definition,
    create: (options: O, ctx: Parameters<typeof create>[1]) => {
      const made = create.call(definition, options, ctx);
      return made instanceof Promise ? made.then(readOnlySink) : readOnlySink(made);
    },
  };
}
