import { Webhook } from 'standardwebhooks';
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

export type SendResult =
  | { readonly ok: true; readonly status: number }
  | { readonly ok: false; readonly error: string };

/**
 * Signs (Standard Webhooks: HMAC-SHA256 keyed by the secret's decoded bytes over
 * `id.timestamp.body`) and POSTs one attempt. Only a 2xx within `timeoutMs` delivers. Redirects are
 * never followed: a 3xx is a failed attempt like any other non-2xx answer, so a receiver cannot point
 * the signed body, or the retries, at another host. Never throws.
 */
export class WebhookSender {
  readonly #url: string;
  readonly #signer: Webhook;
  readonly #timeoutMs: number;

  constructor(url: string, secret: Secret, timeoutMs: number) {
    this.#url = url;
    this.#signer = new Webhook(secret.reveal());
    this.#timeoutMs = timeoutMs;
  }

  async send(id: string, body: string, stop: AbortSignal): Promise<SendResult> {
    const now = new Date();
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'fulfillment-worker-webhooks',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': this.#signer.sign(id, now, body),
    };
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    try {
      const response = await fetch(this.#url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([timeout, stop]),
      });
      // The answer's body means nothing to us; let the connection go back to the pool.
      await response.body?.cancel().catch(() => {});
      if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
      const redirect = response.status >= 300 && response.status < 400 ? ' (redirects are not followed)' : '';
      return { ok: false, error: `HTTP ${response.status}${redirect}` };
    } catch (err) {
      if (timeout.aborted) return { ok: false, error: `no answer within ${this.#timeoutMs} ms` };
      if (stop.aborted) return { ok: false, error: 'stopped: the process is shutting down' };
      return { ok: false, error: describe(err) };
    }
  }
}

/** fetch wraps socket errors as "fetch failed" with the reason in `cause`; keep the reason. */
function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}
