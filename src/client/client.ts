import { FulfillmentError, kindOfStatus } from './errors.js';
import type { BatchItem, EnqueueResult, Issue, JobView, ShipRequest, SyncRequest } from './types.js';

/** The part of `fetch` the client uses, so a caller can pass its own (a proxy agent, a test double). */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<{
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

export interface FulfillmentClientOptions {
  /** Where the API listens, e.g. `http://fulfillment:3000` (no `/v1`). */
  baseUrl: string;
  /** A key from the service's PRODUCER_API_KEYS (or API_KEYS); sent as `Authorization: Bearer`. */
  apiKey: string;
  /** Per request, default 10 s: past it the call fails with kind `unreachable`. */
  timeoutMs?: number;
  /** Default: the global `fetch` (Node 20+). */
  fetch?: FetchLike;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The producer's side of the HTTP API: enqueue and look up jobs. Each method is one request, never
 * retried here: an enqueue is safe to repeat (the same shipment answers with the same job and
 * `duplicate: true`), a sync is not (it has no key), so the caller decides.
 */
export class FulfillmentClient {
  readonly #base: string;
  // The header only, kept private: the key never appears in an error, a log line or `inspect()`.
  readonly #authorization: string;
  readonly #timeoutMs: number;
  readonly #fetch: FetchLike;

  constructor(options: FulfillmentClientOptions) {
    const base = new URL(options.baseUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:')
      throw new TypeError(`baseUrl must be an http(s) URL, not ${base.protocol}`);
    if (!options.apiKey) throw new TypeError('apiKey is required');
    this.#base = base.href.replace(/\/+$/, '');
    this.#authorization = `Bearer ${options.apiKey}`;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#fetch = options.fetch ?? (globalThis.fetch as unknown as FetchLike);
  }

  /** POST /v1/ship: one shipment; the account's provider decides the job. */
  ship(request: ShipRequest): Promise<EnqueueResult> {
    return this.#call<EnqueueResult>('POST', '/v1/ship', request);
  }

  /** POST /v1/sync: one order synchronisation (damaijia accounts). */
  sync(request: SyncRequest): Promise<EnqueueResult> {
    return this.#call<EnqueueResult>('POST', '/v1/sync', request);
  }

  /** POST /v1/batch: up to 1,000 jobs, all validated before any is enqueued; results in input order. */
  async batch(jobs: readonly BatchItem[]): Promise<EnqueueResult[]> {
    return (await this.#call<{ jobs: EnqueueResult[] }>('POST', '/v1/batch', { jobs })).jobs;
  }

  /** GET /v1/jobs/:id: the job wherever it is, or null when there is none with this id. */
  async getJob(id: string): Promise<JobView | null> {
    try {
      return await this.#call<JobView>('GET', `/v1/jobs/${encodeURIComponent(id)}`);
    } catch (err) {
      if (err instanceof FulfillmentError && err.kind === 'not_found') return null;
      throw err;
    }
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {
      authorization: this.#authorization,
      accept: 'application/json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let answer: Awaited<ReturnType<FetchLike>>;
    let text: string;
    try {
      answer = await this.#fetch(this.#base + path, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await answer.text();
    } catch (cause) {
      throw new FulfillmentError('unreachable', `${method} ${path}: no answer (${describe(cause)})`, {
        cause,
      });
    }
    const parsed = parseJson(text);
    if (answer.status >= 200 && answer.status < 300) {
      if (parsed === undefined)
        throw new FulfillmentError('unexpected', `${method} ${path}: ${answer.status} without a JSON body`, {
          status: answer.status,
        });
      return parsed as T;
    }
    throw refusal(method, path, answer.status, parsed, answer.headers.get('retry-after'));
  }
}

/**
 * The error of a 4xx/5xx answer. Its body is `{ error, issues }`, or a problem document (`title`,
 * `detail`) that carries the same two as extension members: either is read.
 */
function refusal(
  method: string,
  path: string,
  status: number,
  body: unknown,
  retryAfter: string | null,
): FulfillmentError {
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const summary = firstString(fields.error, fields.title, fields.detail) ?? `HTTP ${status}`;
  const issues = Array.isArray(fields.issues) ? fields.issues.filter(isIssue) : [];
  const named = issues.map((issue) => `${issue.path} ${issue.message}`).join('; ');
  const seconds = retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : null;
  return new FulfillmentError(
    kindOfStatus(status),
    `${method} ${path}: ${status} ${summary}${named ? ` (${named})` : ''}`,
    { status, issues, retryAfterSeconds: status === 503 ? seconds : null },
  );
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

function firstString(...values: unknown[]): string | undefined {
  return values.find((value): value is string => typeof value === 'string' && value !== '');
}

function isIssue(value: unknown): value is Issue {
  const issue = value as Partial<Issue> | null;
  return typeof issue?.path === 'string' && typeof issue.message === 'string';
}

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause.cause as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' ? `${cause.message}: ${code}` : cause.message;
  }
  return String(cause);
}
