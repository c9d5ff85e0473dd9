import type { FastifyRequest } from 'fastify';

/** The operator actions that change what the pipeline does: each is logged with the key that did it. */
export type OperatorAction = 'redrive' | 'dead-letter delete' | 'hold' | 'resume';

/**
 * One info line per operator action: what was done, to what, and the fingerprint of the key that did
 * it (`keyFingerprint`, never the key), so an audit can tell keys apart without holding them.
 */
export function logOperatorAction(
  request: FastifyRequest,
  action: OperatorAction,
  details: Readonly<Record<string, unknown>>,
): void {
  request.log.info(
    { action, keyFingerprint: request.caller?.keyFingerprint ?? null, ...details },
    'operator action',
  );
}
