import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { Fulfillment } from '../queues/service.js';
import { basicAuth } from './auth.js';

export const BOARD_PATH = '/admin/queues';

/**
 * Bull Board at /admin/queues behind HTTP basic auth (ADMIN_USER / ADMIN_PASSWORD), showing ship, sync
 * and dead-letter. Without admin credentials it is not mounted at all: a dashboard that can retry and
 * delete jobs is never served open.
 */
export async function mountBoard(
  app: FastifyInstance,
  options: { service: Fulfillment; config: Config; log: Logger },
): Promise<boolean> {
  const { service, config, log } = options;
  const admin = config.admin;
  if (!admin) {
    log.warn('ADMIN_USER / ADMIN_PASSWORD not set: Bull Board is not served at /admin/queues');
    return false;
  }
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  const readOnlyMode = config.boardReadOnly;
  createBullBoard({
    queues: [
      new BullMQAdapter(service.queues.ship, {
        readOnlyMode,
        description: 'Shipments (vvtool.send, damaijia.delivery)',
      }),
      new BullMQAdapter(service.queues.sync, {
        readOnlyMode,
        description: 'Order synchronisations (damaijia.sync)',
      }),
      deadLetterAdapter(service),
    ],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Fulfillment' } },
  });
  await app.register(async (board) => {
    board.addHook('onRequest', basicAuth(admin));
    await board.register(serverAdapter.registerPlugin(), { prefix: BOARD_PATH });
  });
  log.info({ path: BOARD_PATH, readOnly: readOnlyMode }, 'Bull Board mounted');
  return true;
}

/**
 * Always read-only: a redrive or purge must go through the API or CLI, which keep the job's
 * idempotency marker in step (a job deleted here would leave its key refused as dead forever).
 * Its times are shown as ISO 8601, as the API shows them, rather than epoch milliseconds.
 */
function deadLetterAdapter(service: Fulfillment): BullMQAdapter {
  const adapter = new BullMQAdapter(service.deadLetterQueue, {
    readOnlyMode: true,
    description: 'Dead jobs with their reason; redrive or purge them with the API or the fulfill CLI',
  });
  adapter.setFormatter('data', (data: unknown) => {
    if (typeof data !== 'object' || data === null) return data;
    const record = data as Record<string, unknown>;
    const iso = (value: unknown) => (typeof value === 'number' ? new Date(value).toISOString() : value);
    return { ...record, failedAt: iso(record['failedAt']), enqueuedAt: iso(record['enqueuedAt']) };
  });
  return adapter;
}
