import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { Fulfillment } from '../queues/service.js';
import { basicAuth } from './auth.js';
import { type ErrorBody, sendProblem } from './errors.js';

export const BOARD_PATH = '/admin/queues';

/**
 * Bull Board at /admin/queues behind HTTP basic auth (ADMIN_USER / ADMIN_PASSWORD), showing ship, sync
 * and dead-letter, read-only unless BOARD_READ_ONLY=false. Without admin credentials it is not mounted
 * at all: a dashboard that can retry and delete jobs is never served open.
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
    if (readOnlyMode) board.addHook('onRequest', refuseEdits);
    await board.register(serverAdapter.registerPlugin(), { prefix: BOARD_PATH });
  });
  log.info({ path: BOARD_PATH, readOnly: readOnlyMode }, 'Bull Board mounted');
  return true;
}

/**
 * Read-only mode, enforced twice: each queue's adapter has Bull Board's `readOnlyMode` (its UI hides
 * the buttons, its handlers answer 405), and here every request that is not a read is refused before
 * the board sees it, so an action the board adds later, or one that skips read-only queues instead
 * of refusing (pause all), cannot slip through. Editing a job's data there could break the link
 * between its id and its idempotency key.
 */
async function refuseEdits(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  if (request.method === 'GET' || request.method === 'HEAD') return undefined;
  const body: ErrorBody = {
    error: 'read-only',
    issues: [
      {
        path: 'method',
        message:
          'Bull Board is read-only (BOARD_READ_ONLY): redrive and purge with the API or the fulfill CLI, ' +
          'or set BOARD_READ_ONLY=false to allow edits here',
      },
    ],
  };
  // Answered here rather than thrown: the board's routes have Bull Board's own error handler.
  return sendProblem(reply.header('allow', 'GET, HEAD'), 405, body);
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
