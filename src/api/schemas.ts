import Type, { type TSchema } from 'typebox';
import { ACCOUNT_ID_PATTERN } from '../config/index.js';
import { MAX_KEY_LENGTH } from '../jobs/index.js';
import { MAX_PAGE_LIMIT } from '../ledger/index.js';
import { PROBLEM_TYPES } from './errors.js';

/** Request and answer schemas of the HTTP API beside the job bodies (those live in src/jobs). */

export const Issue = Type.Object(
  {
    path: Type.String({ description: 'The field, dotted: "tid", "jobs.3.tid", "limit", "body"' }),
    message: Type.String({ description: 'What is wrong with it, for a person' }),
  },
  { additionalProperties: false },
);

export const ErrorBody = Type.Object(
  {
    type: Type.String({
      description: 'The problem type, a URN (an identifier, not a page); the list is in docs/api.md',
      examples: Object.values(PROBLEM_TYPES).map(({ type }) => type),
    }),
    title: Type.String({ description: 'The short summary of the problem type' }),
    status: Type.Integer({ description: 'The HTTP status of this answer' }),
    detail: Type.String({ description: 'This occurrence, for a person: the issues in one line' }),
    error: Type.String({ description: 'Kept from the shape before problem details: a short word' }),
    issues: Type.Array(Issue),
  },
  {
    title: 'Problem',
    description:
      'Every 4xx and 5xx answer, as application/problem+json (RFC 9457): what went wrong, ' +
      'and each problem by field',
  },
);

const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const JobState = Type.Union(
  [
    Type.Literal('waiting'),
    Type.Literal('active'),
    Type.Literal('delayed'),
    Type.Literal('completed'),
    Type.Literal('failed'),
    Type.Literal('dead'),
  ],
  { description: 'waiting, active, delayed, completed, failed or dead' },
);

export const EnqueueResult = Type.Object({
  id: Type.String({ description: 'The job id: its idempotency key (a generated id for a sync)' }),
  state: JobState,
  duplicate: Type.Boolean({
    description: 'True when a job with this key existed already: nothing new was enqueued',
  }),
});

export const BatchResult = Type.Object({
  jobs: Type.Array(EnqueueResult, { description: 'One result per job, in input order' }),
});

export const JobView = Type.Object({
  id: Type.String(),
  queue: Type.Union([Type.Literal('ship'), Type.Literal('sync'), Type.Literal('dead-letter')]),
  name: nullable(Type.String({ description: 'vvtool.send, damaijia.delivery or damaijia.sync' })),
  state: JobState,
  attemptsMade: Type.Integer({ minimum: 0 }),
  result: Type.Unknown({ description: 'What a completed job returned (null until then)' }),
  lastError: nullable(Type.String({ description: 'The last failure, or the dead-letter reason' })),
});

export const JobIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: MAX_KEY_LENGTH }) });
export const AccountIdParams = Type.Object({
  id: Type.String({ pattern: ACCOUNT_ID_PATTERN.source, description: 'A configured account id' }),
});

const WorkQueue = Type.Union([Type.Literal('ship'), Type.Literal('sync')]);
const accountFilter = Type.String({ pattern: ACCOUNT_ID_PATTERN.source, description: 'Only this account' });
const codeFilter = Type.Integer({ description: 'Only jobs that died with this provider code' });

export const Limit = Type.Integer({
  minimum: 1,
  maximum: MAX_PAGE_LIMIT,
  default: 100,
  description: `Items per page (default 100, at most ${MAX_PAGE_LIMIT})`,
});
export const Cursor = Type.String({
  minLength: 1,
  maxLength: 1024,
  description: 'The `next` of the previous page (opaque)',
});

export const DeadLetterQuery = Type.Object({
  account: Type.Optional(accountFilter),
  code: Type.Optional(codeFilter),
  queue: Type.Optional(WorkQueue),
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Cursor),
});

export const DeadLetterItem = Type.Object({
  id: Type.String({ description: "The job's own id (its idempotency key)" }),
  queue: WorkQueue,
  name: Type.String(),
  account: Type.String(),
  data: Type.Record(Type.String(), Type.Unknown(), { description: 'The job payload, as it was enqueued' }),
  code: nullable(Type.Integer({ description: "The provider's code (null for a transport failure)" })),
  message: Type.String({ description: "The provider's message" }),
  reason: Type.String({ description: 'Why it died, for a person' }),
  attemptsMade: Type.Integer({ minimum: 0 }),
  failedAt: Type.String({ format: 'date-time' }),
});

export const DeadLetterPage = Type.Object({
  items: Type.Array(DeadLetterItem),
  next: nullable(Type.String()),
});

export const RedriveBody = Type.Object(
  {
    ids: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: MAX_KEY_LENGTH }), {
        minItems: 1,
        maxItems: 1000,
        description: 'These dead jobs (all must exist)',
      }),
    ),
    filter: Type.Optional(
      Type.Object(
        {
          account: Type.Optional(accountFilter),
          code: Type.Optional(codeFilter),
          queue: Type.Optional(WorkQueue),
        },
        {
          additionalProperties: false,
          description: 'Dead jobs matching all of these (at most 1000 per call)',
        },
      ),
    ),
    patch: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: 'Payload fields to change before the jobs run again (each patched job is validated)',
      }),
    ),
  },
  { additionalProperties: false, description: 'Give `ids` or `filter` (`{}` selects every dead job)' },
);

export const RedriveResult = Type.Object({
  redriven: Type.Integer({ minimum: 0 }),
  ids: Type.Array(Type.String(), {
    description: 'They keep their ids, even when the patch changes a key field',
  }),
});

const TimeBound = (description: string) =>
  Type.String({
    maxLength: 64,
    description: `${description}: ISO 8601 (UTC unless an offset is given) or epoch ms`,
  });

export const SummaryQuery = Type.Object({
  from: Type.Optional(TimeBound('Start, inclusive')),
  to: Type.Optional(TimeBound('End, exclusive')),
  groupBy: Type.Optional(
    Type.Union(
      [Type.Literal('account'), Type.Literal('shop'), Type.Literal('operation'), Type.Literal('day')],
      {
        description: 'Totals per account, shop, operation or day (UTC)',
      },
    ),
  ),
});

const Totals = {
  total: Type.Number({ description: 'Coupons charged (known amounts)' }),
  calls: Type.Integer({ description: 'Entries, charged and unknown' }),
  unknown: Type.Integer({ description: 'Entries whose charge is unknown (no answer came back)' }),
};

export const SummaryResult = Type.Object({
  ...Totals,
  groups: Type.Array(Type.Object({ key: Type.String(), ...Totals })),
});

export const JobsQuery = Type.Object({
  account: Type.Optional(accountFilter),
  state: Type.Optional(Type.Union([Type.Literal('completed'), Type.Literal('dead')])),
  queue: Type.Optional(WorkQueue),
  from: Type.Optional(TimeBound('Finished at or after')),
  to: Type.Optional(TimeBound('Finished before')),
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Cursor),
});

export const JobsPage = Type.Object({ items: Type.Array(JobView), next: nullable(Type.String()) });

export const EntriesQuery = Type.Object({
  from: Type.Optional(TimeBound('Start, inclusive')),
  to: Type.Optional(TimeBound('End, exclusive')),
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')], { default: 'json' })),
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Cursor),
});

export const LedgerEntry = Type.Object({
  id: Type.String(),
  at: Type.String({ format: 'date-time' }),
  account: Type.String(),
  provider: Type.String(),
  operation: Type.String(),
  shop: Type.String(),
  order: Type.String(),
  jobId: Type.String(),
  attempt: Type.Integer(),
  amount: nullable(Type.Number()),
  status: Type.Union([Type.Literal('charged'), Type.Literal('unknown')]),
});

export const EntriesPage = Type.Object({ items: Type.Array(LedgerEntry), next: nullable(Type.String()) });

export const AccountItem = Type.Object({
  id: Type.String(),
  provider: Type.Union([Type.Literal('vvtool'), Type.Literal('damaijia')]),
  ratePerSecond: Type.Number(),
  state: Type.Union([Type.Literal('active'), Type.Literal('held')]),
  reason: nullable(Type.String({ description: 'Why it is held' })),
  code: nullable(Type.Integer({ description: 'The provider code that held it' })),
  since: nullable(Type.String({ format: 'date-time' })),
  backlog: Type.Integer({ minimum: 0, description: 'Jobs queued or running, not yet finished' }),
});

export const AccountList = Type.Object({ items: Type.Array(AccountItem) });

export const HoldResult = Type.Object({
  id: Type.String(),
  state: Type.Literal('held'),
});

export const ResumeResult = Type.Object({
  id: Type.String(),
  state: Type.Literal('active'),
  released: Type.Integer({ description: 'Parked jobs put back to run' }),
});

/** What /healthz and /readyz answer. */
export const HealthStatus = Type.Object({
  status: Type.String(),
  redis: Type.Optional(Type.String()),
  warnings: Type.Optional(
    Type.Array(Type.String(), {
      description: 'Settings that put something at risk, e.g. a token sent over plain http to another host',
    }),
  ),
});
