import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type RequestOptions,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { urlToHttpOptions } from 'node:url';
import type { Secret } from '../config/index.js';
import type { OutboxEvent } from '../events/index.js';

/** The wire identity of an event: the same on every attempt, unique per outbox entry. */
export function webhookId(entryId: string): string {
  return `evt_${entryId}`;
}

/**
 * The body POSTed for an event: `{ type, timestamp, data }`, `timestamp` the ISO 8601 time of the
 * change. Built only from what the outbox holds, so every attempt sends the same bytes.
 */
export function webhookBody(event: OutboxEvent): string {
  return JSON.stringify({ type: event.type, timestamp: new Date(event.at).toISOString(), data: event.data });
}

/**
 * The Standard Webhooks signature of one attempt: `v1,` + base64 HMAC-SHA256 over
 * `id.timestamp.body`, keyed by the bytes the base64 after `whsec_` decodes to.
 */
export function webhookSignature(key: KeyObject, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** The signing key of a `whsec_…` secret (config checked its shape). */
export function signingKey(secret: Secret): KeyObject {
  return createSecretKey(Buffer.from(secret.reveal().replace(/^whsec_/, ''), 'base64'));
}

export type SendResult =
  | { readonly ok: true; readonly status: number }
  | { readonly ok: false; readonly error: string };

/** An idle kept-alive connection is closed after this, before a receiver's usual 5 s closes it under us. */
const IDLE_SOCKET_MS = 4_000;

/**
 * Signs and POSTs one attempt over a pool of kept-alive connections to the one URL. Only a 2xx whose
 * answer is complete within `timeoutMs` delivers. Redirects are never followed: a 3xx is a failed
 * attempt like any other non-2xx answer, so a receiver cannot point the signed body, or the retries,
 * at another host. Never throws.
 */
export class WebhookSender {
  /** Where and how every attempt goes, worked out once (host, port, path, the pool). */
  readonly #target: RequestOptions;
  readonly #key: KeyObject;
  readonly #timeoutMs: number;
  readonly #agent: HttpAgent;
  readonly #request: typeof httpRequest;

  constructor(url: string, secret: Secret, timeoutMs: number) {
    const parsed = new URL(url);
    this.#key = signingKey(secret);
    this.#timeoutMs = timeoutMs;
    const https = parsed.protocol === 'https:';
    const pool = { keepAlive: true, timeout: IDLE_SOCKET_MS };
    this.#agent = https ? new HttpsAgent(pool) : new HttpAgent(pool);
    this.#request = https ? httpsRequest : httpRequest;
    this.#target = { ...urlToHttpOptions(parsed), method: 'POST', agent: this.#agent };
  }

  async send(id: string, body: string, stop: AbortSignal): Promise<SendResult> {
    if (stop.aborted) return { ok: false, error: 'stopped: the process is shutting down' };
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'user-agent': 'fulfillment-worker-webhooks',
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': webhookSignature(this.#key, id, timestamp, body),
    };
    const first = await this.#post(headers, body, stop);
    // A kept-alive connection the receiver closed just as we reused it: once more on a fresh one.
    if (first.reset) return (await this.#post(headers, body, stop)).result;
    return first.result;
  }

  /** Closes the pooled connections (the deliverer is closed). */
  close(): void {
    this.#agent.destroy();
  }

  #post(
    headers: Record<string, string | number>,
    body: string,
    stop: AbortSignal,
  ): Promise<{ result: SendResult; reset: boolean }> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: SendResult, reset = false) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        stop.removeEventListener('abort', onStop);
        resolve({ result, reset });
      };
      const request: ClientRequest = this.#request({ ...this.#target, headers });
      const giveUp = (error: string) => {
        finish({ ok: false, error });
        request.destroy();
      };
      const timer = setTimeout(() => giveUp(`no answer within ${this.#timeoutMs} ms`), this.#timeoutMs);
      const onStop = () => giveUp('stopped: the process is shutting down');
      stop.addEventListener('abort', onStop);
      request.on('response', (response) => {
        // The answer's body means nothing to us; read it to its end so the connection is reused.
        response.resume();
        response.on('end', () => finish(statusResult(response.statusCode ?? 0)));
        response.on('error', (err) => giveUp(describe(err)));
      });
      request.on('error', (err: NodeJS.ErrnoException) =>
        finish({ ok: false, error: describe(err) }, request.reusedSocket && err.code === 'ECONNRESET'),
      );
      request.end(body);
    });
  }
}

function statusResult(status: number): SendResult {
  if (status >= 200 && status < 300) return { ok: true, status };
  const redirect = status >= 300 && status < 400 ? ' (redirects are not followed)' : '';
  return { ok: false, error: `HTTP ${status}${redirect}` };
}

/** A socket error's code (ECONNREFUSED, …) when it has one, else its message. */
function describe(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.message : String(err);
}
