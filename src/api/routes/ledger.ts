import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Fulfillment } from '../../queues/service.js';
import type { LedgerReader } from '../../records/ledger-reader.js';
import { answer, errorResponses, ref } from '../components.js';
import { EntriesPage, EntriesQuery, SummaryQuery, SummaryResult } from '../schemas.js';
import { parseRange } from '../time.js';

/**
 * GET /v1/ledger/summary and GET /v1/ledger/entries (JSON pages, or the whole range as CSV), read from
 * `ledger` (PostgreSQL, when the records live there) or else the service's Redis ledger.
 */
export const ledgerRoutes: FastifyPluginAsyncTypebox<{
  service: Fulfillment;
  ledger?: LedgerReader;
}> = async (app, { service, ledger: reader }) => {
  const ledger: LedgerReader = reader ?? service.ledger;
  app.get(
    '/ledger/summary',
    {
      schema: {
        summary: 'Coupons spent: totals, optionally grouped by account, shop, operation or day (UTC)',
        tags: ['ledger'],
        querystring: SummaryQuery,
        response: { 200: answer('The totals', SummaryResult), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const { groupBy } = request.query;
      const summary = await ledger.summary({
        ...parseRange(request.query),
        ...(groupBy ? { groupBy } : {}),
      });
      return { ...summary, groups: [...summary.groups] };
    },
  );

  app.get(
    '/ledger/entries',
    {
      schema: {
        summary: 'Ledger entries in time order: JSON pages, or the whole range as CSV (format=csv)',
        description:
          'With format=csv the answer is streamed as text/csv and `limit` / `cursor` do not apply.',
        tags: ['ledger'],
        querystring: EntriesQuery,
        response: {
          200: {
            description: 'A page of entries, or CSV',
            content: {
              'application/json': { schema: ref(EntriesPage) },
              // Streamed, never serialised: the schema says string, the handler sends a stream.
              'text/csv': {
                schema: Type.Unsafe<Readable>(
                  Type.String({ description: 'A header line, then one line per entry (CRLF)' }),
                ),
              },
            },
          },
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request, reply) => {
      const range = parseRange(request.query);
      const { format, limit, cursor } = request.query;
      if (format === 'csv') {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="ledger.csv"')
          .send(Readable.from(ledger.csv(range)));
      }
      return reply.type('application/json').send(
        await ledger.entries({
          ...range,
          ...(limit === undefined ? {} : { limit }),
          ...(cursor === undefined ? {} : { cursor }),
        }),
      );
    },
  );
};
