import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Secret } from '../config/index.js';
import { type ErrorBody, HttpError, sendProblem } from './errors.js';

/**
 * Whether `candidate` equals one of the secrets, in time that does not depend on where they differ.
 * Both sides are hashed with SHA-256 first: timingSafeEqual needs equal lengths, and comparing digests
 * keeps the length of a key from leaking through an early length check. Every key is compared (no
 * early exit), so the time does not tell which key matched either.
 */
export function matchesSecret(candidate: string, secrets: readonly Secret[]): boolean {
  return matchesDigest(sha256(candidate), secrets);
}

/** matchesSecret for a candidate already hashed: every secret compared, as above. */
function matchesDigest(digest: Buffer, secrets: readonly Secret[]): boolean {
  let found = false;
  for (const secret of secrets) {
    if (timingSafeEqual(digest, sha256(secret.reveal()))) found = true;
  }
  return found;
}

/** `a === b` in constant time (both hashed first, as above). */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Hex digits of a key's SHA-256 that name it in logs. */
const FINGERPRINT_LENGTH = 12;

/**
 * A key's name in logs, from its SHA-256: the first 12 hex digits. Stable across processes and
 * restarts, short, and not the key (keys are at least 16 characters, so it cannot be searched back).
 * An operator finds which key it is with `printf %s "$KEY" | sha256sum | cut -c1-12`.
 */
function fingerprintOf(digest: Buffer): string {
  return digest.toString('hex').slice(0, FINGERPRINT_LENGTH);
}

export type KeyScope = 'operator' | 'producer';

/** Who made a /v1 request: the scope of the key and its fingerprint (never the key). */
export interface Caller {
  readonly scope: KeyScope;
  readonly keyFingerprint: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the /v1 auth hook; null outside /v1. */
    caller: Caller | null;
  }
}

/**
 * What a producer key (PRODUCER_API_KEYS) may do: enqueue, and read jobs. Every other /v1 route
 * answers 403 to it before anything is read or changed. Matched on the route's pattern; HEAD goes
 * with GET.
 */
export const PRODUCER_ROUTES: readonly { readonly method: string; readonly url: RegExp }[] = [
  { method: 'POST', url: /^\/v1\/ship$/ },
  { method: 'POST', url: /^\/v1\/sync$/ },
  { method: 'POST', url: /^\/v1\/batch$/ },
  { method: 'GET', url: /^\/v1\/jobs(\/|$)/ },
];

export function producerMay(method: string, routeUrl: string): boolean {
  const asked = method === 'HEAD' ? 'GET' : method;
  return PRODUCER_ROUTES.some((route) => route.method === asked && route.url.test(routeUrl));
}

const BEARER = /^Bearer[ ]+([^ ].*)$/i;

/**
 * onRequest hook of the /v1 context: `Authorization: Bearer <key>` with a key from API_KEYS (every
 * route) or PRODUCER_API_KEYS (the PRODUCER_ROUTES only: 403 elsewhere). Sets `request.caller`.
 */
export function bearerAuth(keys: {
  readonly operator: readonly Secret[];
  readonly producer: readonly Secret[];
}) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization;
    const key = typeof header === 'string' ? BEARER.exec(header.trim())?.[1] : undefined;
    if (key !== undefined) {
      const digest = sha256(key);
      // Both lists are searched whatever the first says: the time does not tell the scope.
      const operator = matchesDigest(digest, keys.operator);
      const producer = matchesDigest(digest, keys.producer);
      if (operator || producer) {
        request.caller = { scope: operator ? 'operator' : 'producer', keyFingerprint: fingerprintOf(digest) };
        if (operator || producerMay(request.method, request.routeOptions.url ?? '')) return;
        throw new HttpError(403, 'forbidden', [
          {
            path: 'authorization',
            message: 'is a producer key (PRODUCER_API_KEYS): it may enqueue and read jobs only',
          },
        ]);
      }
    }
    reply.header('www-authenticate', 'Bearer realm="fulfillment"');
    throw new HttpError(401, 'unauthorized', [
      {
        path: 'authorization',
        message:
          header === undefined
            ? 'is required: send "Authorization: Bearer <api key>" with a key from API_KEYS or PRODUCER_API_KEYS'
            : 'is not "Bearer <api key>" with a key from API_KEYS or PRODUCER_API_KEYS',
      },
    ]);
  };
}

/** onRequest hook of the Bull Board context: HTTP basic auth with ADMIN_USER / ADMIN_PASSWORD. */
export function basicAuth(admin: { readonly user: string; readonly password: Secret }) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const credentials = parseBasic(request.headers.authorization);
    if (credentials) {
      // Both compared, always, in constant time: the answer must not say which one was wrong.
      const userOk = constantTimeEqual(credentials.user, admin.user);
      const passwordOk = constantTimeEqual(credentials.password, admin.password.reveal());
      if (userOk && passwordOk) return undefined;
    }
    // Answered here rather than thrown: the board's routes have Bull Board's own error handler.
    const body: ErrorBody = {
      error: 'unauthorized',
      issues: [
        {
          path: 'authorization',
          message: 'Bull Board needs HTTP basic auth with ADMIN_USER and ADMIN_PASSWORD',
        },
      ],
    };
    reply.header('www-authenticate', 'Basic realm="Bull Board", charset="UTF-8"');
    return sendProblem(reply, 401, body);
  };
}

function parseBasic(header: string | undefined): { user: string; password: string } | null {
  const match = typeof header === 'string' ? /^Basic[ ]+([A-Za-z0-9+/=]+)$/i.exec(header.trim()) : null;
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
