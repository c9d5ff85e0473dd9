/**
 * A small client of the service's HTTP API (docs/api.md), as any other service would
 * use it: JSON over HTTP with the bearer key. The demo sends all its traffic through it.
 */
import type { BatchJob } from './plan.js';

export interface EnqueueAnswer {
  readonly id: string;
  readonly state: string;
  readonly duplicate: boolean;
}

export interface JobAnswer {
  readonly id: string;
  readonly queue: string;
  readonly name: string | null;
  readonly state: string;
  readonly attemptsMade: number;
  readonly result: { readonly result?: string; readonly charge?: number } | null;
  readonly lastError: string | null;
}

export interface AccountAnswer {
  readonly id: string;
  readonly provider: string;
  readonly state: 'active' | 'held';
  readonly reason: string | null;
  readonly since: string | null;
}

export interface DeadLetterAnswer {
  readonly id: string;
  readonly account: string;
  readonly code: number | null;
  readonly reason: string;
}

export interface LedgerGroup {
  readonly key: string;
  readonly total: number;
  readonly calls: number;
  readonly unknown: number;
}

export interface LedgerSummaryAnswer {
  readonly total: number;
  readonly calls: number;
  readonly unknown: number;
  readonly groups: readonly LedgerGroup[];
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  constructor(what: string, status: number, body: string) {
    super(`${what} answered ${status}: ${body.slice(0, 300)}`);
    this.status = status;
  }
}

/** Every request gives up after this long: the demo is bounded in time. */
const REQUEST_TIMEOUT_MS = 15_000;

export interface ServiceApi {
  readonly url: string;
  batch(jobs: readonly BatchJob[]): Promise<EnqueueAnswer[]>;
  ship(job: Omit<BatchJob, 'type'>): Promise<EnqueueAnswer>;
  job(id: string): Promise<JobAnswer | null>;
  accounts(): Promise<AccountAnswer[]>;
  resume(account: string): Promise<{ id: string; state: string; released?: number }>;
  deadLetters(query?: { account?: string }): Promise<DeadLetterAnswer[]>;
  redrive(
    ids: readonly string[],
    patch: Record<string, string>,
  ): Promise<{ redriven: number; ids: string[] }>;
  ledgerByAccount(): Promise<LedgerSummaryAnswer>;
  metrics(): Promise<string>;
  ready(): Promise<boolean>;
  /** GET /admin/queues with basic auth: the status Bull Board answers. */
  board(user: string, password: string): Promise<number>;
}

export function serviceApi(url: string, apiKey: string): ServiceApi {
  const base = url.replace(/\/+$/, '');
  const request = async (method: string, path: string, body?: unknown): Promise<Response> => {
    const headers: Record<string, string> = { authorization: `Bearer ${apiKey}` };
    const init: RequestInit = { method, headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(`${base}${path}`, init);
  };
  const json = async <T>(method: string, path: string, body?: unknown, ok = [200, 202]): Promise<T> => {
    const res = await request(method, path, body);
    const text = await res.text();
    // The error names the route, never the key.
    if (!ok.includes(res.status)) throw new ApiError(`${method} ${path}`, res.status, text);
    return JSON.parse(text) as T;
  };

  return {
    url: base,
    batch: async (jobs) => (await json<{ jobs: EnqueueAnswer[] }>('POST', '/v1/batch', { jobs })).jobs,
    ship: (job) => json<EnqueueAnswer>('POST', '/v1/ship', job),
    async job(id) {
      const res = await request('GET', `/v1/jobs/${encodeURIComponent(id)}`);
      const text = await res.text();
      if (res.status === 404) return null;
      if (res.status !== 200) throw new ApiError('GET /v1/jobs/:id', res.status, text);
      return JSON.parse(text) as JobAnswer;
    },
    accounts: async () => (await json<{ items: AccountAnswer[] }>('GET', '/v1/accounts')).items,
    resume: (account) => json('POST', `/v1/accounts/${encodeURIComponent(account)}/resume`),
    async deadLetters(query = {}) {
      const search = query.account === undefined ? '' : `&account=${encodeURIComponent(query.account)}`;
      return (await json<{ items: DeadLetterAnswer[] }>('GET', `/v1/dead-letter?limit=1000${search}`)).items;
    },
    redrive: (ids, patch) => json('POST', '/v1/dead-letter/redrive', { ids, patch }),
    ledgerByAccount: () => json<LedgerSummaryAnswer>('GET', '/v1/ledger/summary?groupBy=account'),
    async metrics() {
      const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      const text = await res.text();
      if (res.status !== 200) throw new ApiError('GET /metrics', res.status, text);
      return text;
    },
    async ready() {
      try {
        const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(1_000) });
        await res.body?.cancel();
        return res.status === 200;
      } catch {
        // Not listening yet (connection refused) or slow: not ready, the caller asks again.
        return false;
      }
    },
    async board(user, password) {
      const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      const res = await fetch(`${base}/admin/queues`, {
        headers: { authorization },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      await res.body?.cancel();
      return res.status;
    },
  };
}
