import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { MAX_BATCH_JOBS, schemas } from '../../jobs/index.js';
import type { Fulfillment } from '../../queues/service.js';
import { BadJobsCursor, type SqlJobsReader } from '../../records/jobs-reader.js';
import { answer, errorResponses, ref } from '../components.js';
import { HttpError } from '../errors.js';
import { BatchResult, EnqueueResult, JobIdParams, JobsPage, JobsQuery, JobView } from '../schemas.js';
import { parseRange } from '../time.js';
import { libraryValidatedBody } from '../validation.js';

const ACCEPTED = 'Accepted: enqueued, or the existing job with this key';
const ACCEPTED_ALL = 'Accepted: every job enqueued, or the existing job with its key';

/**
 * POST /v1/ship, /v1/sync, /v1/batch, GET /v1/jobs/:id and GET /v1/jobs. With `jobs` (the finished
 * jobs in PostgreSQL) a job no longer in Redis is answered from there, and GET /v1/jobs lists them.
 */
export const jobRoutes: FastifyPluginAsyncTypebox<{ service: Fulfillment; jobs?: SqlJobsReader }> = async (
  app,
  { service, jobs },
) => {
  app.post(
    '/ship',
    {
      validatorCompiler: libraryValidatedBody,
      schema: {
        summary: 'Enqueue one shipment',
        description:
          'The account decides the job: vvtool.send for a vvtool account, damaijia.delivery for a damaijia one. ' +
          'Enqueueing the same shipment again (same idempotency key) answers with the existing job and calls nobody.',
        tags: ['jobs'],
        body: ref(schemas.shipRequest),
        response: { 202: answer(ACCEPTED, EnqueueResult), ...errorResponses(400, 401, 413) },
      },
    },
    async (request, reply) => reply.code(202).send(await service.producer.ship(request.body)),
  );

  app.post(
    '/sync',
    {
      validatorCompiler: libraryValidatedBody,
      schema: {
        summary: 'Enqueue one order synchronisation (damaijia accounts)',
        tags: ['jobs'],
        body: ref(schemas.syncRequest),
        response: { 202: answer(ACCEPTED, EnqueueResult), ...errorResponses(400, 401, 413) },
      },
    },
    async (request, reply) => reply.code(202).send(await service.producer.sync(request.body)),
  );

  app.post(
    '/batch',
    {
      validatorCompiler: libraryValidatedBody,
      schema: {
        summary: `Enqueue up to ${MAX_BATCH_JOBS} jobs, all or nothing`,
        description:
          'Every job is validated first; if any is bad the answer is a 400 naming each one by index ' +
          "(`jobs.3.tid`) and none is enqueued. A repeat inside one batch gets the first one's id and `duplicate: true`.",
        tags: ['jobs'],
        body: ref(schemas.batchRequest),
        response: { 202: answer(ACCEPTED_ALL, BatchResult), ...errorResponses(400, 401, 413) },
      },
    },
    async (request, reply) => {
      const jobs = batchJobs(request.body);
      return reply.code(202).send({ jobs: await service.producer.batch(jobs) });
    },
  );

  app.get(
    '/jobs/:id',
    {
      schema: {
        summary: 'A job by id, wherever it is (its queue, the dead-letter queue, or finished)',
        tags: ['jobs'],
        params: JobIdParams,
        response: { 200: answer('The job', JobView), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const job = (await service.getJob(request.params.id)) ?? (await jobs?.get(request.params.id)) ?? null;
      if (!job) throw new HttpError(404, 'not found', [{ path: 'id', message: 'no job with this id' }]);
      return job;
    },
  );

  app.get(
    '/jobs',
    {
      schema: {
        summary: 'Finished jobs (completed or dead), newest first; needs the records database (DATABASE_URL)',
        tags: ['jobs'],
        querystring: JobsQuery,
        response: { 200: answer('A page of finished jobs', JobsPage), ...errorResponses(400, 401, 501) },
      },
    },
    async (request) => {
      if (!jobs) {
        throw new HttpError(501, 'not available', [
          { path: '', message: 'listing finished jobs needs the records database (DATABASE_URL)' },
        ]);
      }
      const { account, state, queue, limit, cursor } = request.query;
      try {
        return await jobs.list({
          ...parseRange(request.query),
          ...(account === undefined ? {} : { account }),
          ...(state === undefined ? {} : { state }),
          ...(queue === undefined ? {} : { queue }),
          ...(cursor === undefined ? {} : { cursor }),
          limit: limit ?? 100,
        });
      } catch (err) {
        if (err instanceof BadJobsCursor)
          throw new HttpError(400, 'invalid request', [{ path: 'cursor', message: err.message }]);
        throw err;
      }
    },
  );
};

/** The outer `{ jobs: [...] }`; the items are the producer's to check (it names them `jobs.N.field`). */
function batchJobs(body: unknown): unknown[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'invalid request', [
      { path: 'body', message: 'must be a JSON object {"jobs": [...]}' },
    ]);
  }
  const issues = Object.keys(body)
    .filter((key) => key !== 'jobs')
    .map((key) => ({ path: key, message: 'unknown field' }));
  const jobs = (body as { jobs?: unknown }).jobs;
  if (jobs === undefined) issues.push({ path: 'jobs', message: 'is required' });
  else if (!Array.isArray(jobs))
    issues.push({ path: 'jobs', message: `must be an array of at most ${MAX_BATCH_JOBS} jobs` });
  else if (jobs.length > MAX_BATCH_JOBS) {
    issues.push({
      path: 'jobs',
      message: `must hold at most ${MAX_BATCH_JOBS} jobs (got ${jobs.length}); split the batch`,
    });
  }
  if (issues.length > 0 || !Array.isArray(jobs)) throw new HttpError(400, 'invalid request', issues);
  return jobs;
}
