import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from '../../src/metrics/index.js';
import type { ServiceProcess } from './service-process.js';

/**
 * A worker-only process's HTTP face: GET /metrics (Prometheus text) and GET /healthz, on METRICS_PORT
 * (`off`: none). Plain node:http, not the API's Fastify app: two routes, no keys, nothing else to
 * expose. A port already taken does not stop the worker (shipping matters more than its figures): it
 * logs a warning and serves nothing, and Prometheus shows the target down.
 */
export async function serveWorkerMetrics(proc: ServiceProcess, metrics: Metrics): Promise<void> {
  const port = proc.config.metricsPort;
  if (port === null) {
    proc.log.info('METRICS_PORT=off: no /metrics in this process');
    return;
  }
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      metrics.scrape().then(
        (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
        (err: unknown) => {
          proc.log.error({ err }, 'metrics scrape failed');
          res.writeHead(500).end();
        },
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    }
  });
  server.listen(port, '0.0.0.0');
  try {
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([err]) => Promise.reject(err)),
    ]);
  } catch (err) {
    // A warning, not an error: the worker itself is fine (several on one host with the default port).
    proc.log.warn({ err: (err as Error).message, port }, 'metrics server cannot listen: no /metrics here');
    return;
  }
  const { port: bound } = server.address() as AddressInfo;
  proc.log.info({ address: `http://0.0.0.0:${bound}` }, 'metrics listening');
  // No closer: the server stays up until the process exits, so the counts of jobs that finish during
  // the shutdown grace period can still be scraped and the healthcheck answers while the worker
  // drains. Unref'd, it never keeps the process alive by itself.
  server.unref();
}
