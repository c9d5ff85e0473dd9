import type { FastifyInstance } from 'fastify';
import Type, { type Static, type TSchema, type TUnsafe } from 'typebox';
import { schemas as jobSchemas } from '../jobs/index.js';
import { HoldRequest } from '../queues/hold.js';
import { type ErrorBody as ProblemInput, problem } from './errors.js';
import {
  AccountItem,
  AccountList,
  BatchResult,
  DeadLetterItem,
  DeadLetterPage,
  EnqueueResult,
  EntriesPage,
  ErrorBody,
  HealthStatus,
  HoldResult,
  Issue,
  JobState,
  JobsPage,
  JobView,
  LedgerEntry,
  RedriveBody,
  RedriveResult,
  ResumeResult,
  SummaryResult,
} from './schemas.js';

/**
 * The named schemas of the API: each is added to Fastify (`addSchema`, `$id` = its name), routes point
 * at it with `ref(schema)`, and @fastify/swagger lists it under `components.schemas` in /openapi.json.
 */

type Json = Record<string, unknown>;

const VVTOOL_SEND_EXAMPLE = {
  account: 'vv1',
  tid: '4011223344556677889',
  shop_id: 'shop-1',
  out_sid: 'YT1234567890',
  company_code: 'YTO',
};
const DAMAIJIA_DELIVERY_EXAMPLE = {
  account: 'dm1',
  seller_nick: 'example-shop',
  order_no: 'DM20260101000001',
  wp_code: 'ZTO',
  waybill_no: '7300012345678',
};
const DAMAIJIA_SYNC_EXAMPLE = { account: 'dm1', orderSns: 'DM20260101000001', ownerId: 'owner-1' };
const SHIP_JOB_ID = 'vvtool.vv1.4011223344556677889.all.YT1234567890';
const PAGE_END = { next: null };

const JOB_VIEW_EXAMPLE = {
  id: SHIP_JOB_ID,
  queue: 'ship',
  name: 'vvtool.send',
  state: 'completed',
  attemptsMade: 1,
  result: { ok: true },
  lastError: null,
};
const DEAD_LETTER_EXAMPLE = {
  id: SHIP_JOB_ID,
  queue: 'ship',
  name: 'vvtool.send',
  account: 'vv1',
  data: VVTOOL_SEND_EXAMPLE,
  code: 614,
  message: '物流订单状态不为新建状态,无需发货处理',
  reason: 'the provider refused it (code 614): retrying cannot help',
  attemptsMade: 1,
  failedAt: '2026-01-01T08:00:00.000Z',
};
const LEDGER_ENTRY_EXAMPLE = {
  id: '1767254400000-0',
  at: '2026-01-01T08:00:00.000Z',
  account: 'vv1',
  provider: 'vvtool',
  operation: 'vvtool.send',
  shop: 'shop-1',
  order: '4011223344556677889',
  jobId: SHIP_JOB_ID,
  attempt: 1,
  amount: 1,
  status: 'charged',
};
const ACCOUNT_EXAMPLE = {
  id: 'vv1',
  provider: 'vvtool',
  ratePerSecond: 10,
  state: 'held',
  reason: 'the token was refused (code 401)',
  code: 401,
  since: '2026-01-01T08:00:00.000Z',
  backlog: 3,
};

interface Component {
  readonly schema: TSchema;
  /** Example values, each one valid against the schema (a test checks it). */
  readonly examples?: readonly unknown[];
}

/** Name → schema. A subschema equal to another named one is written as a `$ref` to it. */
export const COMPONENTS: Readonly<Record<string, Component>> = {
  Problem: { schema: ErrorBody },
  Issue: { schema: Issue },
  VvtoolSendJob: { schema: jobSchemas['vvtool.send'], examples: [VVTOOL_SEND_EXAMPLE] },
  DamaijiaDeliveryJob: { schema: jobSchemas['damaijia.delivery'], examples: [DAMAIJIA_DELIVERY_EXAMPLE] },
  DamaijiaSyncJob: { schema: jobSchemas['damaijia.sync'], examples: [DAMAIJIA_SYNC_EXAMPLE] },
  ShipRequest: { schema: jobSchemas.shipRequest, examples: [VVTOOL_SEND_EXAMPLE, DAMAIJIA_DELIVERY_EXAMPLE] },
  BatchRequest: {
    schema: jobSchemas.batchRequest,
    examples: [
      {
        jobs: [
          { type: 'ship', ...VVTOOL_SEND_EXAMPLE },
          { type: 'sync', ...DAMAIJIA_SYNC_EXAMPLE },
        ],
      },
    ],
  },
  JobState: { schema: JobState },
  EnqueueResult: {
    schema: EnqueueResult,
    examples: [{ id: SHIP_JOB_ID, state: 'waiting', duplicate: false }],
  },
  BatchResult: { schema: BatchResult },
  Job: { schema: JobView, examples: [JOB_VIEW_EXAMPLE] },
  JobList: { schema: JobsPage, examples: [{ items: [JOB_VIEW_EXAMPLE], ...PAGE_END }] },
  DeadLetter: { schema: DeadLetterItem, examples: [DEAD_LETTER_EXAMPLE] },
  DeadLetterList: { schema: DeadLetterPage, examples: [{ items: [DEAD_LETTER_EXAMPLE], ...PAGE_END }] },
  RedriveRequest: {
    schema: RedriveBody,
    examples: [{ filter: { account: 'vv1', code: 614 }, patch: { out_sid: 'YT1234567899' } }],
  },
  RedriveResult: { schema: RedriveResult, examples: [{ redriven: 1, ids: [SHIP_JOB_ID] }] },
  LedgerSummary: {
    schema: SummaryResult,
    examples: [
      { total: 12, calls: 13, unknown: 1, groups: [{ key: 'vv1', total: 12, calls: 13, unknown: 1 }] },
    ],
  },
  LedgerEntry: { schema: LedgerEntry, examples: [LEDGER_ENTRY_EXAMPLE] },
  LedgerEntryList: { schema: EntriesPage, examples: [{ items: [LEDGER_ENTRY_EXAMPLE], ...PAGE_END }] },
  Account: { schema: AccountItem, examples: [ACCOUNT_EXAMPLE] },
  AccountList: { schema: AccountList },
  HoldRequest: { schema: HoldRequest, examples: [{ reason: 'the shop asked us to stop shipping' }] },
  HoldResult: { schema: HoldResult },
  ResumeResult: { schema: ResumeResult, examples: [{ id: 'vv1', state: 'active', released: 3 }] },
  HealthStatus: { schema: HealthStatus, examples: [{ status: 'ready', redis: 'ok' }] },
};

/** A schema's component name; the job bodies share objects (a sync request is the damaijia.sync job). */
const NAMES = new Map<TSchema, string>(
  Object.entries(COMPONENTS).map(([name, { schema }]) => [schema, name] as const),
);

/** `{ $ref: name }` to a named schema, typed as the schema it points at. */
export function ref<T extends TSchema>(schema: T): TUnsafe<Static<T>> {
  const name = NAMES.get(schema);
  if (name === undefined) throw new Error('ref(): the schema is not one of COMPONENTS');
  return Type.Unsafe<Static<T>>({ $ref: name });
}

/** Each error answer: what its status means, and a typical problem with it. */
const ERRORS: Readonly<Record<number, { readonly text: string; readonly example: ProblemInput }>> = {
  400: {
    text: 'Invalid request: every problem named by field',
    example: {
      error: 'invalid request',
      issues: [{ path: 'tid', message: 'must be a string of 1-20 digits' }],
    },
  },
  401: {
    text: 'Missing or unknown API key',
    example: {
      error: 'unauthorized',
      issues: [
        {
          path: 'authorization',
          message:
            'is required: send "Authorization: Bearer <api key>" with a key from API_KEYS or PRODUCER_API_KEYS',
        },
      ],
    },
  },
  403: {
    text: 'A producer key (PRODUCER_API_KEYS): it may only enqueue and read jobs; nothing was done',
    example: {
      error: 'forbidden',
      issues: [
        {
          path: 'authorization',
          message: 'is a producer key (PRODUCER_API_KEYS): it may enqueue and read jobs only',
        },
      ],
    },
  },
  404: {
    text: 'Not found',
    example: { error: 'not found', issues: [{ path: 'id', message: 'no job with this id' }] },
  },
  409: {
    text: 'Conflict: the job is not in the state this needs (one issue per id); nothing was done',
    example: {
      error: 'conflict',
      issues: [
        {
          path: SHIP_JOB_ID,
          message: 'its job is still in its queue (waiting, running or retained); try again once it has left',
        },
      ],
    },
  },
  413: {
    text: 'Request body over 1 MiB',
    example: {
      error: 'request body too large',
      issues: [
        { path: 'body', message: 'must be at most 1 MiB (1048576 bytes); split a batch into smaller ones' },
      ],
    },
  },
  501: {
    text: 'Not available in this deployment',
    example: {
      error: 'not available',
      issues: [{ path: '', message: 'listing finished jobs needs the records database (DATABASE_URL)' }],
    },
  },
  503: {
    text: 'Not ready: Redis is away (nothing was done; retry after Retry-After seconds)',
    example: {
      error: 'service unavailable',
      issues: [{ path: 'redis', message: 'is not reachable; nothing was done, retry shortly' }],
    },
  },
};

/** Headers some error answers carry. */
const ERROR_HEADERS: Readonly<Record<number, Json>> = {
  401: { 'www-authenticate': { type: 'string', description: 'Bearer realm="fulfillment"' } },
  503: { 'retry-after': { type: 'string', description: 'Seconds to wait before retrying' } },
};

/** The error answers of a route: RFC 9457 problems (application/problem+json) pointing at `Problem`. */
export function errorResponses(...statuses: number[]) {
  // Every keyed (/v1) route can also answer 503 while Redis is away.
  const all = statuses.includes(401) ? [...statuses, 503] : statuses;
  const answer = (status: number) => {
    const known = ERRORS[status];
    const example = known ? { example: problem(status, known.example) } : {};
    return {
      description: known?.text ?? `Error ${status}`,
      ...(ERROR_HEADERS[status] ? { headers: ERROR_HEADERS[status] } : {}),
      content: { 'application/problem+json': { schema: ref(ErrorBody), ...example } },
    };
  };
  return Object.fromEntries(all.map((status) => [status, answer(status)]));
}

/** A success answer: the named schema, with what the status means here. */
export function answer<T extends TSchema>(description: string, schema: T) {
  return Type.Unsafe<Static<T>>({ ...ref(schema), description });
}

/** What the validator resolves a `$ref` with: name → TypeBox schema. */
export const REF_CONTEXT: Readonly<Record<string, TSchema>> = Object.fromEntries(
  Object.entries(COMPONENTS).map(([name, { schema }]) => [name, schema]),
);

/** Each component as plain JSON Schema: `$id`, its examples, and `$ref`s to the other named ones. */
export function componentSchemas(): Record<string, Json> {
  const plain = Object.entries(COMPONENTS).map(([name, { schema }]) => [name, toJson(schema)] as const);
  const byText = new Map(plain.map(([name, json]) => [JSON.stringify(json), name]));
  return Object.fromEntries(
    plain.map(([name, json]) => {
      const { examples } = COMPONENTS[name]!;
      const body = withRefs(json, byText, true) as Json;
      return [name, { $id: name, ...body, ...(examples ? { examples } : {}) }];
    }),
  );
}

/** Adds every component to the app (before any route that refers to one). */
export function addComponentSchemas(app: FastifyInstance): void {
  for (const schema of Object.values(componentSchemas())) app.addSchema(schema);
}

/** The JSON Schema alone: TypeBox's own markers and codec functions are not enumerable, so JSON drops them. */
function toJson(schema: unknown): Json {
  return JSON.parse(JSON.stringify(schema)) as Json;
}

/** `value` with every nested subschema that is, as JSON, a named component replaced by a `$ref` to it. */
function withRefs(value: unknown, byText: ReadonlyMap<string, string>, root = false): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (!root) {
    const name = byText.get(JSON.stringify(value));
    if (name !== undefined) return { $ref: name };
  }
  if (Array.isArray(value)) return value.map((item) => withRefs(item, byText));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withRefs(item, byText)]));
}
