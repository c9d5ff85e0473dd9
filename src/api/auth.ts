import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Secret } from '../config/index.js';
import { type ErrorBody, HttpError } from './errors.js';

/**
 * Whether `candidate` equals one of the secrets, in time that does not depend on where they differ.
 * Both sides are hashed with SHA-256 first: timingSafeEqual needs equal lengths, and comparing digests
 * keeps the length of a key from leaking through an early length check. Every key is compared (no
 * early exit), so the time does not tell which key matched either.
 */
export function matchesSecret(candidate: string, secrets: readonly Secret[]): boolean {
  const digest = sha256(candidate);
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

const BEARER = /^Bearer[ ]+([^ ].*)$/i;

/** onRequest hook of the /v1 context: `Authorization: Bearer <key>` with a key from API_KEYS. */
export function bearerAuth(keys: readonly Secret[]) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization;
    const key = typeof header === 'string' ? BEARER.exec(header.trim())?.[1] : undefined;
    if (key !== undefined && matchesSecret(key, keys)) return;
    reply.header('www-authenticate', 'Bearer realm="fulfillment"');
    throw new HttpError(401, 'unauthorized', [
      {
        path: 'authorization',
        message:
          header === undefined
            ? 'is required: send "Authorization: Bearer <api key>" with a key from API_KEYS'
            : 'is not "Bearer <api key>" with a key from API_KEYS',
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
    return reply.code(401).header('www-authenticate', 'Basic realm="Bull Board", charset="UTF-8"').send(body);
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
