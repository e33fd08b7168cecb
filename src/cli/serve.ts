import { createLogger } from '../logger.js';
import { RelayMetrics } from '../metrics.js';
import { Relay } from '../relay.js';
import { formatIssue } from '../config/config-error.js';
import { loadConfig } from './load.js';

/** `firecrawl-relay serve`: runs until SIGTERM or SIGINT, then drains and exits 0. */
export async function serve(file: string): Promise<void> {
  const { config, registry } = await loadConfig(file);
  const logger = createLogger(process.env.RELAY_LOG_LEVEL ?? config.log.level);
  for (const warning of config.warnings) logger.warn({ where: formatIssue(warning) }, 'config warning');
  for (const source of config.sources) {
    if (source.auth.kind === 'none') {
      logger.warn({ source: source.name, path: source.path }, 'source accepts webhooks without any authentication (auth: none)');
    }
  }
  const relay = await Relay.create({
    config,
    registry,
    logger,
    metrics: new RelayMetrics({ processMetrics: true }),
  });
  const address = await relay.listen();
  logger.info(
    { address, sources: config.sources.map((s) => s.path), sinks: config.sinks.map((s) => s.name), queue: config.queue.dir },
    'relay listening',
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    relay.close().then(
      () => {
        logger.info('relay stopped');
        logger.flush();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
