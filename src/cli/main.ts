#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/config-error.js';
import { sign } from '../ingress/verify.js';
import { RelayError, describeError } from '../errors.js';
import { exitQuietlyOnEpipe } from './epipe.js';

// Each command imports what it needs when it runs: `--help` and `sign` load no config
// machinery, and a config loads only the sinks it uses (src/sinks/loaders.ts).
const DEFAULT_CONFIG = 'relay.config.yaml';
const loadConfig = async (file: string, options?: { serving: boolean }) => (await import('./load.js')).loadConfig(file, options);

const USAGE = `firecrawl-relay: a durable relay for Firecrawl webhooks

usage:
  firecrawl-relay serve  [--config FILE]             run the relay (default ./${DEFAULT_CONFIG})
  firecrawl-relay check  [--config FILE]             validate the config and print what it sets up
  firecrawl-relay route  [--config FILE] EVENT.json  which routes and sinks an event would go to
  firecrawl-relay sign   --secret S FILE.json        print the X-Firecrawl-Signature header for a body
  firecrawl-relay send   --url URL [--secret S] (FILE.json | --sample TYPE) [--job-id ID]
                         [--webhook-id ID] [--header K:V]
                                                     post a signed webhook, as Firecrawl would
                                                     (a fresh webhookId each time unless pinned)
  firecrawl-relay plugin new NAME [--dir DIR | --config FILE]
                                                     write a typed sink plugin and its contract test
                                                     into DIR (default: the config's plugins folder)
  firecrawl-relay plugin test [--dir DIR | --config FILE] [FILTER…] [-- VITEST OPTIONS…]
                                                     run the plugins' tests with the relay's vitest
                                                     (after --: vitest's own, e.g. -- -t "in order")
  firecrawl-relay replay --sink S --since 24h [--type T|crawl.*] [--job J] [--url TEXT] [--all-types] [--config FILE]
                         queue stored past events (history) again for one sink: those
                         its routes take now, every type with --all-types
  firecrawl-relay dlq    (list|show|replay|drop) [IDS…] [--config FILE] [--sink S] [--type T] [--job J]
                         [--since ISO] [--all]       inspect and replay dead letters

Secrets can also come from FIRECRAWL_WEBHOOK_SECRET for sign and send.`;

const OPTIONS = {
  config: { type: 'string', short: 'c', default: DEFAULT_CONFIG },
  secret: { type: 'string' },
  url: { type: 'string' },
  sample: { type: 'string' },
  'job-id': { type: 'string' },
  'webhook-id': { type: 'string' },
  header: { type: 'string', multiple: true },
  sink: { type: 'string' },
  type: { type: 'string' },
  job: { type: 'string' },
  since: { type: 'string' },
  all: { type: 'boolean', default: false },
  'all-types': { type: 'boolean', default: false },
  dir: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function usage(message: string): never {
  throw new RelayError('RELAY_ERR_CLI_USAGE', [`${message}\n\n${USAGE}`]);
}

/** `serve` started: a failure from here on ends the process at once. */
let serving = false;

async function main(args: string[]): Promise<number> {
  // What follows `--` is vitest's (plugin test): not parsed here.
  const dash = args.indexOf('--');
  const argv = dash < 0 ? args : args.slice(0, dash);
  const passedOn = dash < 0 ? [] : args.slice(dash + 1);
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  if (passedOn.length > 0 && !(command === 'plugin' && rest[0] === 'test')) usage('only plugin test takes options after --');
  // A command that prints (dlq list | head -1) ends quietly when its reader goes; serve has a
  // stdout sink that handles its own stdout closing, and keeps running.
  if (command !== 'serve') exitQuietlyOnEpipe(process.stdout);
  const secret = values.secret ?? process.env.FIRECRAWL_WEBHOOK_SECRET;
  switch (command) {
    case 'serve':
      serving = true;
      await (await import('./serve.js')).serve(values.config);
      return -1; // keeps running
    case 'check': {
      const { config, ignoredPluginFiles } = await loadConfig(values.config, { serving: false });
      console.log((await import('./check.js')).describeConfig(config, ignoredPluginFiles));
      return 0;
    }
    case 'route': {
      const file = rest[0] ?? usage('route needs an EVENT.json file');
      const { config } = await loadConfig(values.config, { serving: false });
      const { payload } = (await import('../ingress/envelope.js')).parseEnvelope(readFileSync(file));
      const source = config.sources[0]?.name ?? '';
      const match = config.router.match(payload, source);
      console.log(JSON.stringify({ type: payload.type, source, routes: match.routes, sinks: match.sinks }, null, 2));
      return 0;
    }
    case 'sign': {
      const file = rest[0] ?? usage('sign needs a FILE.json');
      if (!secret) usage('sign needs --secret (or FIRECRAWL_WEBHOOK_SECRET)');
      console.log(`X-Firecrawl-Signature: ${sign(secret, readFileSync(file))}`);
      return 0;
    }
    case 'send': {
      if (!values.url) usage('send needs --url');
      if (!rest[0] && !values.sample) usage('send needs a FILE.json or --sample TYPE');
      const headers: Record<string, string> = {};
      for (const h of values.header ?? []) {
        const at = h.indexOf(':');
        if (at <= 0) usage(`--header takes NAME:VALUE, got "${h}"`);
        headers[h.slice(0, at).trim()] = h.slice(at + 1).trim();
      }
      const answer = await (await import('./send.js')).send({
        url: values.url,
        secret,
        file: rest[0],
        sample: values.sample,
        jobId: values['job-id'],
        webhookId: values['webhook-id'],
        headers,
      });
      console.log(`${answer.status} ${answer.body}`);
      return 0;
    }
    case 'plugin': {
      const [action, ...names] = rest;
      // --dir wins; else the plugins folder of --config (./plugins beside it when it does not exist yet).
      const dir = values.dir ?? (await import('./plugins-dir.js')).pluginsDirOf(values.config);
      if (action === 'test') return (await import('./plugin-test.js')).testPlugins(dir, names, passedOn);
      const [name] = names;
      if (action !== 'new' || !name) usage('plugin takes: new NAME, or test');
      for (const file of (await (await import('./plugin-new.js')).newPlugin(name, dir))) console.log(`wrote ${file}`);
      console.log(`run its contract test with: firecrawl-relay plugin test --dir ${dir}`);
      return 0;
    }
    case 'dlq': {
      const [action = 'list', ...ids] = rest;
      const since = values.since === undefined ? undefined : Date.parse(values.since);
      if (since !== undefined && Number.isNaN(since)) usage(`--since takes an ISO date, got "${values.since}"`);
      const { deadLetterIds, dlq } = await import('./dlq.js');
      const numbers = deadLetterIds(action, ids);
      await dlq(
        (await loadConfig(values.config, { serving: false })).config,
        {
          action,
          ids: numbers,
          filter: { sink: values.sink, type: values.type, jobId: values.job, since },
          all: values.all,
        },
        (line) => console.log(line),
      );
      return 0;
    }
    case 'replay': {
      if (!values.sink) usage('replay needs --sink');
      const { parseDuration, replay } = await import('./replay.js');
      const ago = values.since === undefined ? undefined : parseDuration(values.since);
      const at = values.since === undefined ? NaN : ago !== undefined ? Date.now() - ago : Date.parse(values.since);
      if (Number.isNaN(at)) usage(`replay needs --since as a duration (24h, 90m, 2d) or an ISO date, got "${values.since ?? ''}"`);
      await replay((await loadConfig(values.config, { serving: false })).config, { sink: values.sink, since: at, type: values.type, jobId: values.job, url: values.url, allTypes: values['all-types'] }, (line) => console.log(line));
      return 0;
    }
    default:
      return usage(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) console.error(err.message);
    else if (err instanceof RelayError) console.error(`${err.code}: ${err.message}`);
    else console.error(`error: ${describeError(err)}`);
    process.exitCode = err instanceof RelayError && err.code === 'RELAY_ERR_CLI_USAGE' ? 2 : 1;
    // A relay that could not start has closed its queue and sinks: a handle a plugin left
    // open must not keep the process alive.
    if (serving) process.exit();
  },
);
