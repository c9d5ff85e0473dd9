import Type from 'typebox';
import { rulesOf } from '../jobs/field-rules.js';
import { text } from '../jobs/fields.js';
import { type Issue, ROOT_PATH } from '../jobs/index.js';

/** `POST /v1/accounts/:id/hold` body: the reason a person reads in the account list, as free text. */
export const HoldRequest = Type.Object(
  { reason: text('Why the account is held, for a person (shown in GET /v1/accounts)') },
  { additionalProperties: false },
);

const REASON = rulesOf(HoldRequest).fields.get('reason')!;

/** What is wrong with a hold's reason: a string of 1-256 characters, no control characters, not blank. */
export function holdReasonIssues(reason: unknown): Issue[] {
  if (reason === undefined) return [{ path: 'reason', message: 'is required' }];
  if (!REASON.check(reason)) return [{ path: 'reason', message: REASON.explain(reason) }];
  // Spaces alone would show an operator an empty reason.
  if ((reason as string).trim() === '') return [{ path: 'reason', message: 'must not be blank' }];
  return [];
}

/** What is wrong with a whole hold request body: a JSON object with `reason` and nothing else. */
export function holdRequestIssues(body: unknown): Issue[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return [{ path: ROOT_PATH, message: 'must be a JSON object {"reason": "…"}' }];
  }
  const unknown = Object.keys(body)
    .filter((key) => key !== 'reason')
    .map((key) => ({ path: key, message: 'unknown field' }));
  return [...holdReasonIssues((body as { reason?: unknown }).reason), ...unknown];
}
