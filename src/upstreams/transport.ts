import { randomUUID } from 'node:crypto';
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP, type Socket } from 'node:net';
import { urlToHttpOptions } from 'node:url';
import type { Provider, Secret } from '../config/index.js';
import { statusHidesCharge } from './charge.js';
import { DeadlineError, describeFailure } from './failures.js';
import type { UpstreamReply } from './types.js';
import { currentWireCall, LATE_AT_WIRE, type WireCall } from './wire-check.js';

/** What a provider's body says, read by that provider's client. */
export interface BodyReading {
  /** null when the body is not the document's JSON. */
  readonly code: number | null;
  readonly message: string;
  /** What the body says was charged (0 if it says nothing); null when its charge field is unreadable. */
  readonly charge: number | null;
}

export type BodyReader = (body: unknown) => BodyReading;

/** A POST's body: JSON (damaijia), or text fields sent as multipart/form-data (vv-tool). */
export type Payload =
  | { readonly kind: 'json'; readonly value: unknown }
  | { readonly kind: 'form'; readonly fields: Readonly<Record<string, string>> };

/** One POST: its body and the Authorization value. */
export interface PostRequest {
  readonly url: string;
  readonly token: Secret;
  readonly authorization: (token: string) => string;
  readonly payload: Payload;
}

export type Post = ((request: PostRequest) => Promise<UpstreamReply>) & {
  /**
   * Opens the spare connection to `url`'s origin now, if the pool has none and no idle one, so that
   * the first call there finds it ready (see keepSpares). Sends nothing.
   */
  preconnect(url: string): void;
};

export interface PostOptions {
  /** The connection pool (tests); else one kept-alive pool per client and scheme. */
  readonly agent?: HttpAgent;
}

/** `raw` keeps this much of a body for the record. */
export const RAW_LIMIT_BYTES = 4096;
/**
 * The most of an answer read: far more than any answer the upstreams document (a few hundred bytes
 * per trade). A longer one is not read on, and answers as an unreadable body (charge unknown).
 */
export const BODY_LIMIT_BYTES = 1024 * 1024;
const REDACTED = '[redacted]';
// Non-streaming decode is stateless, so one decoder serves every call; it drops a UTF-8 BOM as fetch's text() did.
const decoder = new TextDecoder();
/** An idle kept-alive connection is closed after this (undici's default), or sooner if the server says so. */
const IDLE_SOCKET_MS = 4_000;

/**
 * The HTTP half shared by both clients: POST over node:http(s) with a keep-alive pool, read the body
 * once, never throw for upstream trouble. Lean on purpose (fetch and ky cost CPU per call): no
 * retries (BullMQ owns them; the one resend is a kept-alive connection found dead before anything
 * was written), no redirects followed, every status an answer, one deadline for connect, answer and
 * body together.
 */
export function createPost(
  provider: Provider,
  timeoutMs: number,
  read: BodyReader,
  options: PostOptions = {},
): Post {
  const pool = new Pool(options.agent);

  const send = (request: PostRequest) => {
    // Read now, before anything awaits: the call scope lasts only for its send's synchronous run (wire-check.ts).
    const call = currentWireCall();
    return post(pool, request, call, provider, timeoutMs, read);
  };
  return Object.assign(send, { preconnect: (url: string) => pool.preconnect(url) });
}

async function post(
  pool: Pool,
  { url, token, authorization, payload }: PostRequest,
  call: WireCall | undefined,
  provider: Provider,
  timeoutMs: number,
  read: BodyReader,
): Promise<UpstreamReply> {
  const secret = token.reveal();
  const started = performance.now();
  const target = pool.target(url);
  const { contentType, body } = encode(payload);
  const headers = {
    'content-type': contentType,
    'content-length': body.length,
    authorization: authorization(secret),
    // As fetch sent them (it also asked for gzip; this transport does not, so answers come plain).
    accept: '*/*',
    'user-agent': 'node',
  };
  const deadline = started + timeoutMs;
  let result = await exchange(target, headers, body, call, deadline);
  if (!result.ok && result.stale) {
    // A kept-alive connection the server had closed, found before anything was written: the request
    // never left, so it goes once more, on a new connection (its idle siblings are likely dead too).
    pool.dropIdle(target);
    result = await exchange(target, headers, body, call, deadline);
  }
  const durationMs = () => performance.now() - started;
  if (!result.ok) {
    const { failure, sent, message } = describeFailure(result.error, timeoutMs, result.written);
    return {
      answered: false,
      provider,
      failure,
      sent,
      message: scrub(message, secret),
      durationMs: durationMs(),
    };
  }

  // An upstream may echo the token back (e.g. "invalid token …"): scrub before anything is kept.
  const clean = scrub(result.text, secret);
  const parsed = parseJson(clean);
  const { code, message, charge } = read(parsed);
  const status = result.status;
  const chargeKnown =
    charge !== null && !statusHidesCharge(status) && !(status >= 200 && status < 300 && code === null);
  return {
    answered: true,
    provider,
    httpStatus: status,
    code,
    message,
    charge: chargeKnown ? charge : 0,
    chargeKnown,
    body: parsed,
    raw: cut(clean, RAW_LIMIT_BYTES),
    durationMs: durationMs(),
  };
}

/** Where a URL's requests go: its request options (pool included), worked out once. */
interface Target {
  readonly options: RequestOptions;
  readonly send: typeof httpRequest;
  readonly agent: HttpAgent;
}

/**
 * One client's connections: a keep-alive agent per scheme, no cap on sockets per origin (as undici's
 * default: the worker has up to ~100 calls in flight, none should queue for a socket), the most
 * recently used idle socket first.
 */
class Pool {
  readonly #targets = new Map<string, Target>();
  readonly #agents = new Map<string, HttpAgent>();
  readonly #given: HttpAgent | undefined;

  constructor(agent?: HttpAgent) {
    this.#given = agent;
    if (agent) keepSpares(agent);
  }

  target(url: string): Target {
    let target = this.#targets.get(url);
    if (target === undefined) {
      const parsed = new URL(url);
      const https = parsed.protocol === 'https:';
      const agent = this.#given ?? this.#agent(https);
      target = {
        options: { ...urlToHttpOptions(parsed), method: 'POST', agent },
        send: https ? httpsRequest : httpRequest,
        agent,
      };
      this.#targets.set(url, target);
    }
    return target;
  }

  /** Opens the spare to `url`'s origin ahead of its first call (see keepSpares). */
  preconnect(url: string): void {
    const { agent, options } = this.target(url);
    const https = agent instanceof HttpsAgent;
    // The options the agent would connect with for a request to this target (http's createSocket).
    // (`options` is the agent's own, as createSocket spreads them: not in @types/node.)
    const agentOptions = (agent as unknown as { options?: object }).options;
    // ClientRequest names the host `host` (URL options give `hostname`).
    const host = String(options.hostname ?? options.host ?? 'localhost');
    const connectOptions: Record<string, unknown> = { ...options, ...agentOptions, host, keepAlive: true };
    if (https && connectOptions.servername === undefined) connectOptions.servername = isIP(host) ? '' : host;
    const key = agent.getName(connectOptions as Parameters<HttpAgent['getName']>[0]);
    if ((agent.freeSockets[key]?.length ?? 0) > 0) return;
    preconnectSpare.get(agent)?.(key, { ...connectOptions, _agentKey: key, encoding: null });
  }

  /**
   * Destroys the target's pool's idle connections, so that its next request opens a new one. All of
   * the pool's, not by origin: a client talks to one upstream, and the agent's own name for an origin
   * (host, port, options) is not worth rebuilding here.
   */
  dropIdle(target: Target): void {
    for (const sockets of Object.values(target.agent.freeSockets)) {
      for (const socket of sockets ?? []) socket.destroy();
    }
  }

  #agent(https: boolean): HttpAgent {
    const scheme = https ? 'https:' : 'http:';
    let agent = this.#agents.get(scheme);
    if (agent === undefined) {
      const options = { keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: 'lifo' as const };
      agent = https ? new HttpsAgent(options) : new HttpAgent(options);
      keepSpares(agent);
      this.#agents.set(scheme, agent);
    }
    return agent;
  }
}

/** Connections made ahead (see keepSpares) whose connect (and TLS handshake) is done: ready as they are. */
const spareSockets = new WeakSet<Socket>();
/** Agents already keeping spares (a pool given the same agent twice must not wrap it twice). */
const keepingSpares = new WeakSet<HttpAgent>();
/** Per agent keeping spares: opens the spare for an origin (its agent key) unless there is one. */
const preconnectSpare = new WeakMap<HttpAgent, (key: string, options: object) => void>();

/**
 * Keeps one connection per origin made ahead: a request that finds no idle kept-alive connection
 * takes the spare (ready, or on its way), and the next spare is opened behind it, away from any call.
 *
 * Why: a call's request is written only if its slot still allows it once the connection is ready
 * (the wire check). A new connection to an upstream a few tens of ms away, or a TLS handshake,
 * takes longer than that allows: the call is held back and its connection closed with it. Without
 * spares the next call would open a new connection again and be held back again, for ever, and
 * nothing would ever be sent.
 *
 * A spare lives IDLE_SOCKET_MS from its opening, and again from its handshake, as an idle kept-alive
 * connection; one that expires while the agent still holds connections to its origin is replaced
 * (the origin is in use), else it is not (4 s without calls: the pool has gone cold). One that the
 * server wrote to or closed is never handed over: no answer can belong to a request not yet sent.
 */
function keepSpares(agent: HttpAgent): void {
  if (keepingSpares.has(agent)) return;
  keepingSpares.add(agent);
  // The agent's own way to connect (TCP, or TLS for an https agent), bound before it is wrapped.
  const connect = agent.createConnection.bind(agent) as (...args: unknown[]) => Socket;
  /** Per origin: the spare, and how to hand it over (its own listeners and timer removed). */
  const spares = new Map<string, { readonly socket: Socket; readonly adopt: () => void }>();

  const inUse = (key: string) =>
    (agent.sockets[key]?.length ?? 0) + (agent.freeSockets[key]?.length ?? 0) > 0;

  const openSpare = (key: string, options: object) => {
    let socket: Socket;
    try {
      socket = connect({ ...options });
    } catch {
      // Best effort: the request's own connection already stands or failed on its own.
      return;
    }
    // Not a reason to keep the process alive while it waits (as an idle kept-alive connection).
    socket.unref();
    const readyEvent = readyEventOf(socket);
    const drop = () => {
      if (spares.get(key)?.socket === socket) spares.delete(key);
      clearTimeout(idle);
      socket.destroy();
    };
    const expire = () => {
      drop();
      if (inUse(key) && !spares.has(key)) openSpare(key, options);
    };
    // Also bounds a connect that never completes (an upstream that drops connection attempts).
    let idle = setTimeout(expire, IDLE_SOCKET_MS).unref();
    const ready = () => {
      spareSockets.add(socket);
      clearTimeout(idle);
      idle = setTimeout(expire, IDLE_SOCKET_MS).unref();
    };
    const adopt = () => {
      clearTimeout(idle);
      socket.removeListener(readyEvent, ready);
      socket.removeListener('error', drop);
      socket.removeListener('close', drop);
      socket.removeListener('end', drop);
      socket.ref();
    };
    socket.once('error', drop);
    socket.once('close', drop);
    socket.once('end', drop);
    socket.once(readyEvent, ready);
    spares.set(key, { socket, adopt });
  };

  preconnectSpare.set(agent, (key, options) => {
    if (!spares.has(key)) openSpare(key, options);
  });

  agent.createConnection = ((
    options: { _agentKey?: string; host?: string; port?: number },
    ...rest: unknown[]
  ) => {
    const key = options._agentKey ?? `${options.host}:${options.port}`;
    const spare = spares.get(key);
    spares.delete(key);
    let socket: Socket;
    // Unread bytes (a server's parting "408" before it closes) or a closed side: not this request's.
    const fresh = (s: Socket) => !s.destroyed && s.writable && !s.readableEnded && s.readableLength === 0;
    if (spare && fresh(spare.socket)) {
      // Ready, or still connecting: the request waits for what is left of it (see exchange).
      spare.adopt();
      socket = spare.socket;
    } else {
      spare?.socket.destroy();
      socket = connect(options, ...rest);
    }
    // The next spare, after this request's own connection (which the server then sees first).
    openSpare(key, options);
    return socket;
  }) as HttpAgent['createConnection'];

  const destroy = agent.destroy.bind(agent);
  agent.destroy = () => {
    for (const { socket } of spares.values()) socket.destroy();
    spares.clear();
    destroy();
  };
}

/** The event after which a new socket can carry a request: its TLS handshake done, or its TCP connect. */
function readyEventOf(socket: Socket): 'secureConnect' | 'connect' {
  return 'encrypted' in socket ? 'secureConnect' : 'connect';
}

type Exchange =
  | { readonly ok: true; readonly status: number; readonly text: string }
  | {
      readonly ok: false;
      readonly error: unknown;
      /** Whether the request had been handed to its socket (`end()` called): then it may have been received. */
      readonly written: boolean;
      /** A kept-alive socket that turned out dead before anything was written: safe to send again once. */
      readonly stale: boolean;
    };

/**
 * One request and its answer, within `deadline` (performance.now() time). Nothing is written until
 * the request has a connected socket: then the call's wire check is asked, and only if it says yes
 * is the whole request handed over (`end(body)`). Never rejects.
 */
function exchange(
  target: Target,
  headers: Record<string, string | number>,
  body: Buffer,
  call: WireCall | undefined,
  deadline: number,
): Promise<Exchange> {
  return new Promise((resolve) => {
    let written = false;
    let settled = false;
    let request: ClientRequest;
    try {
      request = target.send({ ...target.options, headers });
    } catch (error) {
      // Refused before anything existed (a header value Node will not send, such as a token with a
      // line break): not sent, and an answer like any other failure rather than a rejection.
      resolve({ ok: false, error, written: false, stale: false });
      return;
    }
    const finish = (result: Exchange) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    // Every error ends the exchange; later ones (the destroy's own, a socket closing) are ignored.
    const fail = (error: unknown, stale = false) => {
      if (settled) return;
      finish({ ok: false, error, written, stale });
      request.destroy();
    };
    const timer = setTimeout(
      () => fail(new DeadlineError('deadline')),
      Math.max(1, deadline - performance.now()),
    );
    request.on('error', (err) => fail(err, request.reusedSocket && !written));
    request.once('socket', (socket: Socket) => {
      if (request.reusedSocket) return writeOn(socket);
      call?.observer?.connected();
      if (spareSockets.has(socket)) return writeOn(socket);
      const ready = 'encrypted' in socket || socket.connecting ? readyEventOf(socket) : undefined;
      if (ready === undefined) writeOn(socket);
      else socket.once(ready, () => writeOn(socket));
    });
    const writeOn = (socket: Socket) => {
      if (settled) return;
      if (socket.destroyed || socket.readableEnded || !socket.writable) {
        // A kept-alive connection the server closed while idle: safe to send once more. A new one
        // that failed at once (a connect refused synchronously): its own error follows and says
        // why; either way nothing was written, and the wire check is not asked for a dead socket.
        if (!request.reusedSocket) return;
        return fail(
          Object.assign(new Error('kept-alive connection already closed'), { code: 'ECONNRESET' }),
          true,
        );
      }
      if (call?.check && !call.check()) {
        return fail(
          Object.assign(new Error('too late for its slot at the wire: not sent'), { code: LATE_AT_WIRE }),
        );
      }
      written = true;
      if (call?.observer) call.observer.written(performance.now() - (call.checkedAt ?? performance.now()));
      request.end(body);
    };
    request.on('response', (response: IncomingMessage) => readBody(response, finish, fail));
  });
}

/** Reads the whole answer; the exchange's deadline covers it (a stalled body is a timeout). */
function readBody(
  response: IncomingMessage,
  finish: (result: Exchange) => void,
  fail: (error: unknown) => void,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  response.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= BODY_LIMIT_BYTES) {
      chunks.push(chunk);
      return;
    }
    // Not an answer the documents describe (a proxy's page, a fault): read no more of it. Its status
    // stands; its body reads as not the document's JSON, so nothing is taken from it.
    finish({
      ok: true,
      status: response.statusCode ?? 0,
      text: `[answer longer than ${BODY_LIMIT_BYTES} bytes: not read]`,
    });
    response.destroy();
  });
  response.on('end', () => {
    const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    finish({ ok: true, status: response.statusCode ?? 0, text: decoder.decode(bytes) });
  });
  response.on('error', fail);
  // Closed before its end without an error event: the connection dropped mid-answer.
  response.on('close', () => {
    if (!response.complete) fail(Object.assign(new Error('answer cut short'), { code: 'ECONNRESET' }));
  });
}

/** The body's bytes and content type. */
function encode(payload: Payload): { contentType: string; body: Buffer } {
  if (payload.kind === 'json') {
    return { contentType: 'application/json', body: Buffer.from(JSON.stringify(payload.value)) };
  }
  return encodeForm(payload.fields);
}

/**
 * multipart/form-data of text fields, laid out as fetch encodes a FormData (RFC 7578, WHATWG's
 * escapes): name escapes for `"`, CR and LF, line breaks in values sent as CRLF. The boundary is
 * random per request, so no value can be made to hold it. The sandbox's parser and undici's read it
 * back (test/upstreams/wire-format.test.ts).
 */
export function encodeForm(fields: Readonly<Record<string, string>>): { contentType: string; body: Buffer } {
  const boundary = `----formdata-fulfillment-${randomUUID()}`;
  let text = '';
  for (const name in fields) {
    const value = fields[name]!;
    text += `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"\r\n\r\n${crlf(value)}\r\n`;
  }
  text += `--${boundary}--\r\n`;
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.from(text) };
}

function crlf(text: string): string {
  return text.includes('\n') || text.includes('\r') ? text.replace(/\r?\n|\r/g, '\r\n') : text;
}

function escapeName(name: string): string {
  return crlf(name).replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Not JSON: the reply says so with `body: null` and `code: null`; the outcome tables decide.
    return null;
  }
}

/**
 * The text with the secret replaced, also as a JSON string would carry it (escaped, and with `/` as
 * `\/` as PHP writes it): an upstream that echoes the token inside its JSON answer must not put it
 * back into the parsed body or its message.
 */
export function scrub(text: string, secret: string): string {
  if (secret === '') return text;
  let out = text;
  for (const form of secretForms(secret)) {
    if (out.includes(form)) out = out.replaceAll(form, REDACTED);
  }
  return out;
}

/** Forms of the secrets seen lately (one per account in use), so that each reply does not build them again. */
const formsOf = new Map<string, ReadonlySet<string>>();
const FORMS_KEPT = 256;

/** The secret as it may appear inside a JSON string: as is, escaped, `/` as `\/`, non-ASCII as `\uXXXX`. */
function secretForms(secret: string): ReadonlySet<string> {
  let forms = formsOf.get(secret);
  if (forms === undefined) {
    if (formsOf.size >= FORMS_KEPT) formsOf.clear();
    forms = buildForms(secret);
    formsOf.set(secret, forms);
  }
  return forms;
}

function buildForms(secret: string): Set<string> {
  const escaped = JSON.stringify(secret).slice(1, -1);
  const forms = new Set([secret, escaped]);
  const ascii = (hex: (code: string) => string) =>
    escaped.replace(/[\u0080-\uffff]/g, (c) => `\\u${hex(c.charCodeAt(0).toString(16).padStart(4, '0'))}`);
  for (const form of [escaped, ascii((h) => h), ascii((h) => h.toUpperCase())]) {
    forms.add(form);
    forms.add(form.replaceAll('/', '\\/'));
  }
  return forms;
}

/** Cuts to at most `limit` UTF-8 bytes without splitting a character. */
export function cut(text: string, limit: number): string {
  // A UTF-16 unit is at most 3 UTF-8 bytes: short strings need no measuring.
  if (text.length * 3 <= limit || Buffer.byteLength(text) <= limit) return text;
  const head = Buffer.from(text).subarray(0, limit).toString('utf8');
  return head.endsWith('\uFFFD') ? head.replace(/\uFFFD+$/, '') : head;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates the base URL once (a bad one is a configuration bug, not an upstream failure). */
export function joinUrl(baseUrl: string, path: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  const url = `${base}${path}`;
  if (!URL.canParse(url)) throw new TypeError(`not a valid upstream base URL: ${base}`);
  return url;
}
