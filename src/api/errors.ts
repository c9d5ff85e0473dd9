import type { FastifyError, FastifyReply } from 'fastify';
import { type Issue, ROOT_PATH, ValidationError } from '../jobs/index.js';
import { LedgerError } from '../ledger/index.js';
import { DeadLetterConflictError } from '../queues/dead-letter.js';
import { RedisUnavailableError } from '../queues/producer.js';

export type { Issue } from '../jobs/index.js';

/** What a route or hook says went wrong; `problem` turns it into the answer's body. */
export interface ErrorBody {
  error: string;
  issues: Issue[];
}

/**
 * The body of every 4xx and 5xx answer: an RFC 9457 problem, served as application/problem+json.
 * `error` and `issues` are extension members kept from the shape clients read before.
 */
export interface ProblemBody extends ErrorBody {
  type: string;
  title: string;
  status: number;
  detail: string;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** The problem types, by `error`: identifiers (URNs), not pages (docs/api.md lists them). */
export const PROBLEM_TYPES: Record<string, { type: string; title: string }> = {
  'invalid request': { type: 'urn:fulfillment:problem:validation', title: 'Invalid request' },
  unauthorized: { type: 'urn:fulfillment:problem:unauthorized', title: 'Unauthorized' },
  forbidden: { type: 'urn:fulfillment:problem:forbidden', title: 'Forbidden' },
  'not found': { type: 'urn:fulfillment:problem:not-found', title: 'Not found' },
  'read-only': { type: 'urn:fulfillment:problem:read-only', title: 'Read-only' },
  conflict: { type: 'urn:fulfillment:problem:conflict', title: 'Conflict' },
  'request body too large': { type: 'urn:fulfillment:problem:too-large', title: 'Request body too large' },
  'unsupported media type': {
    type: 'urn:fulfillment:problem:unsupported-media-type',
    title: 'Unsupported media type',
  },
  'service unavailable': { type: 'urn:fulfillment:problem:unavailable', title: 'Service unavailable' },
  'internal error': { type: 'urn:fulfillment:problem:internal', title: 'Internal error' },
};

/** An `error` outside the table (none today) still gets a type, `about:blank` as RFC 9457 says. */
export function problem(status: number, body: ErrorBody): ProblemBody {
  const known = PROBLEM_TYPES[body.error] ?? { type: 'about:blank', title: body.error };
  const detail =
    body.issues.length > 0
      ? body.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')
      : body.error;
  return { type: known.type, title: known.title, status, detail, ...body };
}

/** Sends a refusal as a problem: the one way every error answer leaves. */
export function sendProblem(reply: FastifyReply, status: number, body: ErrorBody): FastifyReply {
  return reply.code(status).type(PROBLEM_CONTENT_TYPE).send(problem(status, body));
}

/** A refusal with its status, thrown by routes and hooks and rendered by the error handler. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly statusCode: number;
  readonly issues: Issue[];

  constructor(statusCode: number, error: string, issues: Issue[] = []) {
    super(error);
    this.statusCode = statusCode;
    this.issues = issues;
  }
}

/** Where a whole-request problem is reported: the part of the request that holds it. */
const PART_PATH: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'params',
  headers: 'headers',
};

/** Fastify's own 4xx errors, by code, in our words. */
const FASTIFY_ERRORS: Record<string, { error: string; issue: Issue }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    error: 'request body too large',
    issue: {
      path: 'body',
      message: 'must be at most 1 MiB (1048576 bytes); split a batch into smaller ones',
    },
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    error: 'unsupported media type',
    issue: { path: 'content-type', message: 'must be application/json' },
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    error: 'invalid request',
    issue: { path: 'body', message: 'is empty, but content-type says application/json' },
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    error: 'invalid request',
    issue: { path: 'content-length', message: 'does not match the length of the body' },
  },
};

/**
 * Redis replies and client errors that mean "not now": Redis is there but cannot serve this request
 * (hung, out of memory, a replica during a failover, loading). Answered 503 with Retry-After, like a
 * Redis that is away. A write that timed out may have happened: an enqueue sent again is answered as
 * a duplicate, never enqueued twice.
 */
const REDIS_NOT_NOW: readonly { readonly prefix: string; readonly message: string }[] = [
  { prefix: 'Command timed out', message: 'did not answer in time; retry shortly' },
  { prefix: 'OOM ', message: 'is out of memory and refuses writes; retry later' },
  { prefix: 'READONLY ', message: 'is a read-only replica (a failover is under way); retry shortly' },
  { prefix: 'LOADING ', message: 'is loading its data after a restart; retry shortly' },
  { prefix: 'MASTERDOWN ', message: 'has lost its primary; retry shortly' },
  { prefix: 'BUSY ', message: 'is busy running a script; retry shortly' },
  { prefix: 'Connection is closed', message: 'closed the connection; retry shortly' },
];

function redisNotNow(err: Error): string | undefined {
  return REDIS_NOT_NOW.find(({ prefix }) => err.message.startsWith(prefix))?.message;
}

function unavailable(message: string): { status: number; body: ErrorBody } {
  return { status: 503, body: { error: 'service unavailable', issues: [{ path: 'redis', message }] } };
}

/**
 * Turns anything a request can fail with into a status and the error shape. Returns null for a fault
 * of ours (a 5xx): the caller logs it and answers without details.
 */
export function errorReply(err: unknown): { status: number; body: ErrorBody } | null {
  if (err instanceof HttpError)
    return { status: err.statusCode, body: { error: err.message, issues: err.issues } };
  if (err instanceof DeadLetterConflictError)
    return { status: 409, body: { error: 'conflict', issues: err.issues } };
  if (err instanceof RedisUnavailableError) {
    return unavailable('is not reachable; nothing was done, retry shortly');
  }
  if (err instanceof ValidationError || (isError(err) && (err as { kind?: unknown }).kind === 'invalid')) {
    const issues = (err as ValidationError).issues.map((issue) => ({
      path: issue.path === ROOT_PATH ? 'body' : issue.path,
      message: issue.message,
    }));
    return { status: 400, body: { error: 'invalid request', issues } };
  }
  if (err instanceof LedgerError && (err.kind === 'bad_query' || err.kind === 'bad_cursor')) {
    return { status: 400, body: { error: 'invalid request', issues: [ledgerIssue(err)] } };
  }
  if (!isError(err)) return null;
  const notNow = redisNotNow(err);
  if (notNow !== undefined) return unavailable(notNow);
  const fastifyError = err as FastifyError;
  if (fastifyError.code === 'FST_ERR_HANDLER_TIMEOUT') {
    return {
      status: 503,
      body: {
        error: 'service unavailable',
        issues: [{ path: 'request', message: 'took too long (a dependency is slow); retry shortly' }],
      },
    };
  }
  if (Array.isArray(fastifyError.validation)) {
    const part = fastifyError.validationContext ?? 'body';
    return {
      status: 400,
      body: { error: 'invalid request', issues: validationIssues(fastifyError.validation, part) },
    };
  }
  const known = fastifyError.code ? FASTIFY_ERRORS[fastifyError.code] : undefined;
  const status = fastifyError.statusCode ?? 500;
  if (known) return { status, body: { error: known.error, issues: [known.issue] } };
  if (status >= 400 && status < 500) {
    return {
      status,
      body: { error: 'invalid request', issues: [{ path: 'request', message: err.message }] },
    };
  }
  return null;
}

/** The fields of a LedgerError's message ("limit must be …") become the issue's path. */
function ledgerIssue(err: LedgerError): Issue {
  if (err.kind === 'bad_cursor') return { path: 'cursor', message: 'is not a cursor this API gave out' };
  const [first, ...rest] = err.message.split(' ');
  if (first && ['from', 'to', 'limit', 'groupBy'].includes(first))
    return { path: first, message: rest.join(' ') };
  return { path: 'query', message: err.message };
}

/** An Ajv- or TypeBox-style validation error (the two share this shape). */
interface SchemaError {
  keyword?: string;
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/**
 * Schema errors as issues with dotted paths (`/jobs/3/tid` → `jobs.3.tid`), one per field and
 * problem: union branches that did not match collapse into one "must be one of …" issue.
 */
export function validationIssues(errors: readonly SchemaError[], part: string): Issue[] {
  const root = PART_PATH[part] ?? part;
  const issues = new Map<string, Issue>();
  const alternatives = new Map<string, unknown[]>();
  const unions = new Set<string>();
  const add = (path: string, message: string) => {
    const key = `${path}\u0000${message}`;
    if (!issues.has(key)) issues.set(key, { path, message });
  };
  for (const error of errors) {
    const at = dotted(error.instancePath ?? '');
    const params = error.params ?? {};
    const child = (name: string) => (at === '' ? name : `${at}.${name}`);
    switch (error.keyword) {
      case 'required': {
        const missing = params['requiredProperties'] ?? [params['missingProperty']];
        for (const name of Array.isArray(missing) ? missing : []) add(child(String(name)), 'is required');
        break;
      }
      case 'additionalProperties': {
        const extra = params['additionalProperties'] ?? [params['additionalProperty']];
        for (const name of Array.isArray(extra) ? extra : [extra]) add(child(String(name)), 'unknown field');
        break;
      }
      case 'boolean':
        // TypeBox reports `additionalProperties: false` a second time at the field; said above.
        break;
      case 'const':
        alternatives.set(at, [...(alternatives.get(at) ?? []), params['allowedValue']]);
        break;
      case 'anyOf':
        unions.add(at);
        break;
      default:
        add(at === '' ? root : at, error.message ?? 'is not valid');
    }
  }
  const result = [...issues.values()];
  for (const at of unions) {
    const allowed = alternatives.get(at);
    // Type errors inside the union's branches say less than the union itself.
    const path = at === '' ? root : at;
    const message = allowed
      ? `must be one of ${allowed.map((value) => String(value)).join(', ')}`
      : 'is not valid';
    for (let index = result.length - 1; index >= 0; index -= 1)
      if (result[index]!.path === path) result.splice(index, 1);
    result.push({ path, message });
  }
  return result.length > 0 ? result : [{ path: root, message: 'is not valid' }];
}

function dotted(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

function isError(value: unknown): value is Error {
  return value instanceof Error;
}
