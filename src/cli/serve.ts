import { describeQueue } from '../queue/describe-queue.js';
import { createLogger, stderrDestination } from '../logger.js';
import { RelayMetrics } from '../metrics.js';
import { Relay } from '../relay.js';
import { ConfigError, formatIssue } from '../config/config-error.js';
import type { Logger } from 'pino';
import type { RelayConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import { loadConfig } from './load.js';
import { handleShutdownSignals } from './shutdown.js';

function warnAbout(config: RelayConfig, logger: Logger): void {
  for (const warning of config.warnings) logger.warn({ where: formatIssue(warning) }, 'config warning');
  for (const source of config.sources) {
    if (source.auth.kind === 'none') {
      logger.warn({ source: source.name, path: source.path }, 'source accepts webhooks without any authentication (auth: none)');
    }
  }
}

/**
 * `firecrawl-relay serve`: runs until SIGTERM or SIGINT, then drains and exits (see
 * shutdown.ts for the deadline and a second signal).
 * SIGHUP reloads the config file: an invalid one is refused (every error logged) and
 * the relay keeps running on the config it has.
 */
export async function serve(file: string): Promise<void> {
  const { config, registry, ignoredPluginFiles } = await loadConfig(file);
  const destination = stderrDestination();
  const logger = createLogger(process.env.RELAY_LOG_LEVEL ?? config.log.level, destination);
  warnAbout(config, logger);
  for (const ignored of ignoredPluginFiles) logger.debug({ file: ignored }, 'plugins folder: module ignored');
  const metrics = new RelayMetrics({ processMetrics: true });
  metrics.observeLogDrops(() => destination.droppedLines);
  const relay = await Relay.create({ config, registry, logger, metrics });
  const address = await relay.listen();
  // Before "relay listening" goes out (log lines leave at once): whoever waits for it may
  // signal straight away, and an unhandled SIGTERM would kill the relay without a drain.
  const shutdown = handleShutdownSignals({ relay, logger, destination });
  logger.info(
    { address, sources: config.sources.map((s) => s.path), sinks: config.sinks.map((s) => s.name), queue: describeQueue(config.queue) },
    'relay listening',
  );

  process.on('SIGHUP', () => {
    if (shutdown.isStopping()) return;
    logger.info({ file }, 'reloading config');
    loadConfig(file)
      .then(async ({ config: next, registry: nextRegistry }) => {
        warnAbout(next, logger);
        // Old sinks get as long to stop and close as a shutdown would give them.
        const result = await relay.reload(next, nextRegistry, next.server.shutdown_timeout_ms);
        if (result.needsRestart.length) logger.warn({ settings: result.needsRestart }, 'changed settings take effect after a restart');
        logger.info({ added: result.added, changed: result.changed, removed: result.removed }, 'config reloaded');
      })
      .catch((err: unknown) => {
        if (err instanceof ConfigError) {
          for (const issue of err.issues) logger.error({ code: issue.code, where: formatIssue(issue) }, 'config error');
          logger.error({ errors: err.issues.length }, 'config reload refused: still running on the previous config');
        } else logger.error({ err: describeError(err) }, 'config reload failed: still running on the previous config');
      });
  });
}
