import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Fulfillment } from '../../queues/service.js';
import { logOperatorAction } from '../audit.js';
import { answer, errorResponses, ref } from '../components.js';
import { HttpError } from '../errors.js';
import { DeadLetterPage, DeadLetterQuery, JobIdParams, RedriveBody, RedriveResult } from '../schemas.js';

const DEFAULT_LIMIT = 100;
/** Ids named in a redrive's log line; the count is always there (a redrive moves up to 1,000). */
const LOGGED_IDS = 20;

/** GET /v1/dead-letter, POST /v1/dead-letter/redrive, DELETE /v1/dead-letter/:id. */
export const deadLetterRoutes: FastifyPluginAsyncTypebox<{ service: Fulfillment }> = async (
  app,
  { service },
) => {
  app.get(
    '/dead-letter',
    {
      schema: {
        summary: 'Dead jobs, oldest first, filtered and paged',
        tags: ['dead-letter'],
        querystring: DeadLetterQuery,
        response: { 200: answer('A page of dead jobs', DeadLetterPage), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const { account, code, queue, limit, cursor } = request.query;
      const filter = {
        ...(account === undefined ? {} : { account }),
        ...(code === undefined ? {} : { code }),
        ...(queue === undefined ? {} : { queue }),
      };
      return service.deadLetters.list(filter, limit ?? DEFAULT_LIMIT, cursor);
    },
  );

  app.post(
    '/dead-letter/redrive',
    {
      schema: {
        summary: 'Put dead jobs back on their queue, optionally patched',
        description:
          'Each job goes back under its own id (its idempotency key), even when the patch changes a field of ' +
          'that key. All or nothing: if any patched job is invalid (400), or any is no longer dead or its job is ' +
          'still in its queue (409, one issue per id), none moves. At most 1000 per call by filter.',
        tags: ['dead-letter'],
        body: ref(RedriveBody),
        response: {
          200: answer('Back on their queues', RedriveResult),
          ...errorResponses(400, 401, 403, 409, 413),
        },
      },
    },
    async (request) => {
      const { ids, filter, patch } = request.body;
      if ((ids === undefined) === (filter === undefined)) {
        throw new HttpError(400, 'invalid request', [
          {
            path: 'body',
            message: 'give either "ids" or "filter" (an empty filter {} selects every dead job)',
          },
        ]);
      }
      const result = await service.deadLetters.redrive({
        ...(ids === undefined ? {} : { ids }),
        ...(filter === undefined ? {} : { filter }),
        ...(patch === undefined ? {} : { patch }),
      });
      logOperatorAction(request, 'redrive', {
        redriven: result.redriven,
        ...(filter === undefined ? {} : { filter }),
        // The patched fields by name: the ids and values are in the jobs themselves.
        patched: patch === undefined ? [] : Object.keys(patch),
        ids: result.ids.slice(0, LOGGED_IDS),
      });
      return result;
    },
  );

  app.delete(
    '/dead-letter/:id',
    {
      schema: {
        summary: 'Purge one dead job for good (its key can then be enqueued afresh)',
        description:
          'Deletes the dead-letter entry and its dead marker together. 409 while the job is still in its queue; ' +
          'a done shipment keeps its marker (only a stale entry beside it goes).',
        tags: ['dead-letter'],
        params: JobIdParams,
        response: {
          204: { type: 'null', description: 'Purged' },
          ...errorResponses(400, 401, 403, 404, 409),
        },
      },
    },
    async (request, reply) => {
      if (!(await service.deadLetters.remove(request.params.id))) {
        throw new HttpError(404, 'not found', [{ path: 'id', message: 'no dead job with this id' }]);
      }
      logOperatorAction(request, 'dead-letter delete', { id: request.params.id });
      return reply.code(204).send(null);
    },
  );
};
