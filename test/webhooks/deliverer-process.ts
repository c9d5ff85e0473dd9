// A process that runs only the event plumbing (trimmer and webhook deliverer), as every service
// process does, with the deliverer's timings from TEST_DELIVERER_OPTIONS (JSON) so that a test of
// crashes does not wait for production leases.
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log.js';
import { connectRedis } from '../../src/runtime/redis.js';
import { shutdownOnSignal } from '../../src/runtime/shutdown.js';
import { startEventDelivery } from '../../src/webhooks/index.js';

const config = loadConfig(process.env);
const log = createLogger({ level: config.logLevel, name: 'test-deliverer' });
const redis = connectRedis(config, 'test-deliverer');
const events = startEventDelivery({
  config,
  redis,
  log,
  deliverer: JSON.parse(process.env.TEST_DELIVERER_OPTIONS ?? '{}'),
});
shutdownOnSignal(
  [{ name: 'redis', close: async () => redis.quit().catch(() => redis.disconnect()) }, events],
  config.shutdownGraceMs,
  log,
);
log.info('deliverer started');
