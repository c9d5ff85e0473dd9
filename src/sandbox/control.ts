import type { IncomingMessage, ServerResponse } from 'node:http';
import { pathOf, readBody, sendJson } from './http-util.js';
import { SandboxInputError } from './input.js';
import type { SandboxState } from './state.js';
import type { CallFilter } from './types.js';

/** The control paths, for processes that run the sandbox elsewhere: all JSON, under /_sandbox/. */
export const CONTROL_PREFIX = '/_sandbox/';

type ControlAnswer = { status: number; body: unknown };

/** Serves /_sandbox/* through the same state methods as the in-process API. Not recorded, limited or faulted. */
export function handleControl(state: SandboxState, req: IncomingMessage, res: ServerResponse): void {
  readBody(req, (body) => {
    if (typeof body === 'string') {
      if (body === 'too-large') sendJson(res, 413, JSON.stringify({ error: 'request body too large' }));
      return;
    }
    let answer: ControlAnswer;
    try {
      answer = route(state, req.method ?? 'GET', req.url ?? '/', body);
    } catch (err) {
      if (!(err instanceof SandboxInputError)) throw err;
      answer = { status: 400, body: { error: err.message } };
    }
    sendJson(res, answer.status, JSON.stringify(answer.body));
  });
}

function route(state: SandboxState, method: string, target: string, raw: Buffer): ControlAnswer {
  const path = pathOf(target).slice(CONTROL_PREFIX.length);
  const ok = { status: 200, body: { ok: true } };
  const key = `${method} ${path}`;
  switch (key) {
    case 'POST script': {
      const body = object(json(raw));
      state.script(body['provider'], body['orderKey'], body['answers']);
      return ok;
    }
    case 'POST faults':
      state.setFaults(json(raw));
      return ok;
    case 'POST balance': {
      const { account, balance } = object(json(raw));
      state.setBalance(account, balance);
      return { status: 200, body: { ok: true, balance: state.balance(account) } };
    }
    case 'POST latency': {
      const { ms } = object(json(raw));
      state.setLatency(ms);
      return ok;
    }
    case 'GET calls':
      return { status: 200, body: { items: state.calls(filterOf(target)) } };
    case 'GET report':
      return { status: 200, body: state.report() };
    case 'POST reset':
      state.reset();
      return ok;
    default:
      return { status: 404, body: { error: `no control route ${method} ${CONTROL_PREFIX}${path}` } };
  }
}

/** An empty body is null (so an empty POST /_sandbox/faults clears them). */
function json(raw: Buffer): unknown {
  const text = raw.toString('utf8').trim();
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new SandboxInputError('body is not JSON');
  }
}

function object(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SandboxInputError('body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

function filterOf(target: string): CallFilter {
  const query = new URL(target, 'http://sandbox').searchParams;
  const filter: CallFilter = {};
  const account = query.get('account');
  if (account !== null && account !== '') filter.account = account;
  const since = query.get('since');
  if (since !== null && since !== '') {
    const value = Number(since);
    if (!Number.isFinite(value)) throw new SandboxInputError('since must be epoch milliseconds');
    filter.since = value;
  }
  return filter;
}
