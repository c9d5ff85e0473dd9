import ky, { type Options } from 'ky';
import type { Provider, Secret } from '../config/index.js';
import { statusHidesCharge } from './charge.js';
import { BodyTimeoutError, describeFailure } from './failures.js';
import type { UpstreamReply } from './types.js';
import { readyForWireChecks, wireDispatcher } from './wire-check.js';

/** What a provider's body says, read by that provider's client. */
export interface BodyReading {
  /** null when the body is not the document's JSON. */
  readonly code: number | null;
  readonly message: string;
  /** What the body says was charged (0 if it says nothing); null when its charge field is unreadable. */
  readonly charge: number | null;
}

export type BodyReader = (body: unknown) => BodyReading;

/** One POST: the body as ky sends it (`body` for FormData, `json` for JSON) and the Authorization value. */
export interface PostRequest {
  readonly url: string;
  readonly token: Secret;
  readonly authorization: (token: string) => string;
  readonly payload: Pick<Options, 'body' | 'json'>;
}

export type Post = (request: PostRequest) => Promise<UpstreamReply>;

/** `raw` keeps this much of a body for the record. */
export const RAW_LIMIT_BYTES = 4096;
const REDACTED = '[redacted]';
// Non-streaming decode is stateless, so one decoder serves every call; it drops a UTF-8 BOM as fetch's text() does.
const decoder = new TextDecoder();

/**
 * The HTTP half shared by both clients: one ky instance, POST, read the body once, never throw for
 * upstream trouble. Lean on purpose (ky costs CPU per call): no retries (BullMQ owns them), no hooks,
 * no HTTP errors (every status is an answer), keep-alive left to undici's default.
 */
export function createPost(provider: Provider, timeoutMs: number, read: BodyReader): Post {
  // Every request goes through the wire check of its call, if it has one (wire-check.ts).
  const http = ky.create({
    retry: 0,
    timeout: timeoutMs,
    throwHttpErrors: false,
    dispatcher: wireDispatcher,
  } as Options);

  return async ({ url, token, authorization, payload }) => {
    const secret = token.reveal();
    const started = performance.now();
    const failed = (err: unknown): UpstreamReply => {
      const { failure, sent, message } = describeFailure(err, timeoutMs);
      return {
        answered: false,
        provider,
        failure,
        sent,
        message: scrub(message, secret),
        durationMs: performance.now() - started,
      };
    };

    let response: Response;
    try {
      await readyForWireChecks();
      response = await http.post(url, { ...payload, headers: { authorization: authorization(secret) } });
    } catch (err) {
      return failed(err);
    }
    let text: string;
    try {
      // ky's timeout stops at the headers; the body gets what is left of the same budget.
      text = await readText(response, Math.max(1, timeoutMs - (performance.now() - started)));
    } catch (err) {
      return failed(err);
    }

    // An upstream may echo the token back (e.g. "invalid token …"): scrub before anything is kept.
    const clean = scrub(text, secret);
    const body = parseJson(clean);
    const { code, message, charge } = read(body);
    const status = response.status;
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
      body,
      raw: cut(clean, RAW_LIMIT_BYTES),
      durationMs: performance.now() - started,
    };
  };
}

/**
 * Reads the whole body, or gives up when it stalls past `ms`. A reader (not `response.text()`) so that
 * the stream can be cancelled, which makes undici drop the half-read socket instead of keeping it.
 */
async function readText(response: Response, ms: number): Promise<string> {
  const stream = response.body;
  if (stream === null) return '';
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<null>((resolve) => {
    timer = setTimeout(resolve, ms, null);
  });
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), expired]);
      if (next === null) {
        reader.cancel().catch(() => {
          // Cancelling a stream that is already erroring can reject; the socket is gone either way.
        });
        throw new BodyTimeoutError('body stalled');
      }
      if (next.done) break;
      chunks.push(next.value);
    }
  } finally {
    clearTimeout(timer);
  }
  if (chunks.length === 1) return decoder.decode(chunks[0]);
  return decoder.decode(Buffer.concat(chunks));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Not JSON: the reply says so with `body: null` and `code: null`; the outcome tables decide.
    return null;
  }
}

export function scrub(text: string, secret: string): string {
  return secret !== '' && text.includes(secret) ? text.replaceAll(secret, REDACTED) : text;
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
