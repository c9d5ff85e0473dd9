import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Fulfillment } from '../../queues/service.js';
import { HttpError } from '../errors.js';
import { AccountIdParams, AccountList, errorResponses, ResumeResult } from '../schemas.js';

/** GET /v1/accounts and POST /v1/accounts/:id/resume. */
export const accountRoutes: FastifyPluginAsyncTypebox<{ service: Fulfillment }> = async (
  app,
  { service },
) => {
  // The resume route takes no body; clients that send `content-type: application/json` with an empty
  // body (many do) must not get a 400 for it, so this context reads JSON bodies leniently and ignores them.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, _body, done) =>
    done(null, undefined),
  );

  app.get(
    '/accounts',
    {
      schema: {
        summary: 'The configured accounts and whether each is held (never a token)',
        tags: ['accounts'],
        response: { 200: AccountList, ...errorResponses(401) },
      },
    },
    async () => ({ items: await service.listAccounts() }),
  );

  app.post(
    '/accounts/:id/resume',
    {
      schema: {
        summary: 'Resume a held account: its parked jobs run again (no body)',
        tags: ['accounts'],
        params: AccountIdParams,
        response: { 200: ResumeResult, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const resumed = await service.resumeAccount(request.params.id);
      if (!resumed)
        throw new HttpError(404, 'not found', [
          { path: 'id', message: 'no configured account with this id' },
        ]);
      return resumed;
    },
  );
};
