import { type Issue, prefixIssues, ROOT_PATH } from './issues.js';
import { keyPath, readObject } from './read-object.js';
import { MAX_BATCH_JOBS } from './schemas.js';
import { type AccountLookup, type ValidJob, validateRead } from './validate.js';

export type BatchValidation = { ok: true; jobs: ValidJob[] } | { ok: false; issues: Issue[] };

/**
 * Validates POST /v1/batch `{ jobs: [{ type: "ship" | "sync", account, ...payload }] }`: every job
 * first, naming each problem by index ('jobs.3.tid'), so that a batch is enqueued whole or not at all.
 * Valid jobs come back in input order; spotting repeats inside the batch is the enqueuer's part.
 */
export function validateBatch(input: unknown, accounts: AccountLookup): BatchValidation {
  const read = readObject(input);
  if (!read)
    return { ok: false, issues: [{ path: ROOT_PATH, message: 'must be a JSON object {"jobs": [...]}' }] };
  const issues: Issue[] = [];
  for (const key of read.fields.keys()) {
    if (key !== 'jobs') issues.push({ path: keyPath(key), message: 'unknown field' });
  }
  issues.push(...read.forbidden);
  const list = read.fields.get('jobs');
  const valid: ValidJob[] = [];
  if (list === undefined) {
    issues.push({ path: 'jobs', message: 'is required' });
  } else if (!Array.isArray(list)) {
    issues.push({ path: 'jobs', message: `must be an array of at most ${MAX_BATCH_JOBS} jobs` });
  } else if (list.length > MAX_BATCH_JOBS) {
    issues.push({
      path: 'jobs',
      message: `must hold at most ${MAX_BATCH_JOBS} jobs (got ${list.length}); split the batch`,
    });
  } else {
    list.forEach((item: unknown, index) => {
      const path = `jobs.${index}`;
      const whole = readObject(item);
      if (!whole) {
        issues.push({ path, message: 'must be a JSON object with "type", "account" and the payload fields' });
        return;
      }
      const type = whole.fields.get('type');
      if (type !== 'ship' && type !== 'sync') {
        const message = type === undefined ? 'is required' : 'must be "ship" or "sync"';
        issues.push({ path: `${path}.type`, message }, ...prefixIssues(path, whole.forbidden));
        return;
      }
      const fields = new Map([...whole.fields].filter(([key]) => key !== 'type'));
      const result = validateRead(type, { fields, forbidden: whole.forbidden }, accounts);
      if (result.ok) valid.push(result.job);
      else issues.push(...prefixIssues(path, result.issues));
    });
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, jobs: valid };
}
