import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AccountState } from './accounts.js';
import { TOO_MANY_REQUESTS } from './codes.js';
import { pathOf, readBody, sendJson, sendText } from './http-util.js';
import type { ParsedBody, ProviderApi, Reply } from './provider.js';
import type { SandboxState } from './state.js';
import type { CallRecord, FaultKind } from './types.js';

/** Holds a stalled socket open, then destroys it; close() must be able to end it early. */
export type Stall = (socket: Socket, ms: number) => void;
/** Runs `send` after `ms` (a slow upstream's answer); close() must be able to cancel it. */
export type Later = (send: () => void, ms: number) => void;

type Verdict = 'unknown-route' | 'auth-failed' | 'rate-limited' | 'admitted';

/**
 * One call to an upstream path. Route, auth and the rate window are decided synchronously in the
 * 'request' event, in arrival order, so each token's window sees arrival times in order; the body
 * is read afterwards.
 */
export function handleUpstreamCall(
  state: SandboxState,
  api: ProviderApi,
  req: IncomingMessage,
  res: ServerResponse,
  at: number,
  stall: Stall,
  later: Later,
): void {
  const seq = state.nextSeq();
  const operation = api.route(req.method, pathOf(req.url));
  let account: AccountState | null = null;
  let verdict: Verdict = 'unknown-route';
  if (operation !== 'unknown') {
    account = state.accounts.authenticate(api.provider, api.token(req.headers.authorization));
    verdict = account === null ? 'auth-failed' : 'admitted';
  }
  if (account !== null) {
    const inWindow = account.arrive(at);
    if (inWindow > state.ratePerSecond) {
      verdict = 'rate-limited';
      account.violations++;
      state.violation(account.label, at, inWindow);
    }
  }

  readBody(req, (body) => {
    const record: CallRecord = {
      seq,
      at,
      provider: api.provider,
      operation,
      account: account?.label ?? null,
      orderKey: null,
      fields: {},
      httpStatus: null,
      code: null,
      msg: '',
      charged: 0,
      fault: null,
      processed: false,
    };
    if (body === 'aborted') {
      record.msg = 'the client went away before its body was complete';
    } else if (body === 'too-large') {
      sendText(res, 413, 'text/plain; charset=utf-8', 'request body too large');
      record.httpStatus = 413;
      record.msg = 'request body too large';
    } else {
      const parsed = operation === 'unknown' ? null : api.parse(req.headers['content-type'], body);
      if (parsed !== null) {
        record.fields = parsed.fields;
        record.orderKey = api.orderKey(operation, parsed.fields);
      }
      const answer = (reply: Reply) => {
        const text = api.render(reply, at);
        if (state.latencyMs > 0) later(() => sendJson(res, reply.httpStatus, text), state.latencyMs);
        else sendJson(res, reply.httpStatus, text);
        note(record, reply);
        record.httpStatus = reply.httpStatus;
      };
      if (verdict === 'unknown-route') answer(api.unknownRoute());
      else if (verdict === 'auth-failed') answer(api.authFailed());
      else if (verdict === 'rate-limited') tooMany(res, api, record);
      else admitted(state, api, account!, parsed!, record, answer, { req, res, stall });
    }
    state.record(record);
  });
}

interface Wire {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly stall: Stall;
}

/** A call that passed auth and the rate window: scripted answer, fault or real processing. */
function admitted(
  state: SandboxState,
  api: ProviderApi,
  account: AccountState,
  body: ParsedBody,
  record: CallRecord,
  answer: (reply: Reply) => void,
  wire: Wire,
): void {
  const plan = state.plan(api.provider, record.orderKey);
  const process = (charge: number | null): Reply => {
    record.processed = true;
    const price = charge ?? state.price;
    return api.process({ operation: record.operation, body, account, at: record.at, price });
  };
  if (plan.kind === 'process') {
    answer(process(plan.charge));
  } else if (plan.kind === 'answer') {
    if (plan.charge > 0) account.charge(plan.charge);
    answer(api.reply(plan.code, plan.msg, plan.err, plan.charge));
  } else {
    // 'after': processed and charged, then no answer or one that cannot say so: the client cannot
    // know it was charged.
    if (plan.when === 'after') note(record, process(null));
    fault(plan.fault, api, record, wire, state.stallMs);
  }
}

function note(record: CallRecord, reply: Reply): void {
  record.code = reply.code;
  record.msg = reply.err ?? reply.msg;
  record.charged = reply.charged;
}

function tooMany(res: ServerResponse, api: ProviderApi, record: CallRecord): void {
  sendJson(res, 429, api.tooManyBody);
  record.httpStatus = 429;
  record.code = 429;
  record.msg = TOO_MANY_REQUESTS;
}

/** A server error, or a proxy in front of the upstream that lost its answer (502) or gave up on it (504). */
const SERVER_ERRORS = {
  http500: { code: 500, text: 'Internal Server Error' },
  http502: { code: 502, text: 'Bad Gateway' },
  http504: { code: 504, text: 'Gateway Timeout' },
} as const;

function fault(kind: FaultKind, api: ProviderApi, record: CallRecord, wire: Wire, stallMs: number): void {
  record.fault = kind;
  if (!record.processed) record.msg = `injected fault: ${kind}`;
  switch (kind) {
    case 'http500':
    case 'http502':
    case 'http504': {
      const status = SERVER_ERRORS[kind];
      sendText(wire.res, status.code, 'text/plain; charset=utf-8', status.text);
      record.httpStatus = status.code;
      return;
    }
    case 'http429':
      tooMany(wire.res, api, record);
      return;
    case 'garbage':
      sendText(wire.res, 200, 'text/html; charset=utf-8', '<html>oops</html>');
      record.httpStatus = 200;
      return;
    case 'reset':
      // A TCP RST, so the client sees ECONNRESET rather than a clean close.
      wire.req.socket.resetAndDestroy();
      return;
    case 'stall':
      wire.stall(wire.req.socket, stallMs);
      return;
  }
}
