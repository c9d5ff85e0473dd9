import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ValidationError } from '../../jobs/index.js';
import { HoldRequest, holdRequestIssues } from '../../queues/hold.js';
import type { Fulfillment } from '../../queues/service.js';
import { logOperatorAction } from '../audit.js';
import { answer, errorResponses, ref } from '../components.js';
import { HttpError } from '../errors.js';
import { AccountIdParams, AccountList, HoldResult, ResumeResult } from '../schemas.js';
import { libraryValidatedBody } from '../validation.js';

const UNKNOWN_ACCOUNT = () =>
  new HttpError(404, 'not found', [{ path: 'id', message: 'no configured account with this id' }]);

/** GET /v1/accounts, POST /v1/accounts/:id/hold and POST /v1/accounts/:id/resume. */
export const accountRoutes: FastifyPluginAsyncTypebox<{ service: Fulfillment }> = async (
  app,
  { service },
) => {
  app.get(
    '/accounts',
    {
      schema: {
        summary: 'The configured accounts and whether each is held (never a token)',
        tags: ['accounts'],
        response: { 200: answer('The accounts', AccountList), ...errorResponses(401, 403) },
      },
    },
    async () => ({ items: await service.listAccounts() }),
  );

  app.post(
    '/accounts/:id/hold',
    {
      // The reason is checked by the service (the CLI's hold runs the same rule), naming the field.
      validatorCompiler: libraryValidatedBody,
      schema: {
        summary: 'Hold an account by hand: its jobs wait, with no calls and no attempts spent, until resumed',
        description:
          'The same as a hold the upstream causes (a rejected token, a spent balance). Holding a held ' +
          'account changes nothing and keeps its first reason.',
        tags: ['accounts'],
        params: AccountIdParams,
        body: ref(HoldRequest),
        response: {
          200: answer('Held (or already held)', HoldResult),
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const issues = holdRequestIssues(request.body);
      if (issues.length > 0) throw new ValidationError(issues);
      const { id } = request.params;
      const held = await service.holdAccount(id, request.body.reason);
      if (!held) throw UNKNOWN_ACCOUNT();
      logOperatorAction(request, 'hold', { account: id, changed: held.changed });
      return { id: held.id, state: held.state };
    },
  );

  await app.register(async (lenient) => {
    // The resume route takes no body; clients that send `content-type: application/json` with an empty
    // body (many do) must not get a 400 for it, so this context reads JSON bodies leniently and ignores them.
    lenient.removeContentTypeParser('application/json');
    lenient.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, _body, done) =>
      done(null, undefined),
    );

    lenient.withTypeProvider<TypeBoxTypeProvider>().post(
      '/accounts/:id/resume',
      {
        schema: {
          summary: 'Resume a held account: its parked jobs run again (no body)',
          tags: ['accounts'],
          params: AccountIdParams,
          response: {
            200: answer('Active again, and how many parked jobs were put back', ResumeResult),
            ...errorResponses(400, 401, 403, 404),
          },
        },
      },
      async (request) => {
        const { id } = request.params;
        const resumed = await service.resumeAccount(id);
        if (!resumed) throw UNKNOWN_ACCOUNT();
        logOperatorAction(request, 'resume', { account: id, released: resumed.released });
        return resumed;
      },
    );
  });
};
