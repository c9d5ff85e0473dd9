import { type ObjectRules, rulesOf, schemaIssues } from './field-rules.js';
import { type Issue, ROOT_PATH } from './issues.js';
import { idempotencyKey } from './keys.js';
import { isJobName, JOB_NAMES, JOBS, type JobName, jobFor, type Provider, type QueueName } from './names.js';
import { keyPath, type ReadObject, readObject } from './read-object.js';
import { type JobData, PAYLOAD_FIELDS, schemas } from './schemas.js';

/** The configured accounts, by id. A `Map` of config accounts fits; see `accountLookup`. */
export interface AccountLookup {
  get(id: string): { id: string; provider: Provider } | undefined;
}

export interface ValidJob<N extends JobName = JobName> {
  name: N;
  queue: QueueName;
  provider: Provider;
  account: string;
  data: JobData<N>;
  /** The idempotency key (the BullMQ job id); null for a sync. */
  id: string | null;
}

export type JobValidation = { ok: true; job: ValidJob } | { ok: false; issues: Issue[] };

export function accountLookup(accounts: Iterable<{ id: string; provider: Provider }>): AccountLookup {
  const byId = new Map<string, { id: string; provider: Provider }>();
  for (const account of accounts) byId.set(account.id, { id: account.id, provider: account.provider });
  return byId;
}

const RULES: Record<JobName, ObjectRules> = {
  'vvtool.send': rulesOf(schemas['vvtool.send']),
  'damaijia.delivery': rulesOf(schemas['damaijia.delivery']),
  'damaijia.sync': rulesOf(schemas['damaijia.sync']),
};
const ACCOUNT = rulesOf(schemas['damaijia.sync']).fields.get('account')!;
const PROVIDERS = new Set<string>(JOB_NAMES.map((name) => JOBS[name].provider));
const NOT_AN_OBJECT = 'must be a JSON object with "account" and the payload fields';

/**
 * Validates a request of POST /v1/ship or /v1/sync: `{ account, ...payload }`, where the account's
 * provider decides the job. Names every problem, never throws; nothing of a refused request is kept.
 */
export function validateJob(type: QueueName, input: unknown, accounts: AccountLookup): JobValidation {
  if (type !== 'ship' && type !== 'sync')
    return fail([{ path: 'type', message: 'must be "ship" or "sync"' }]);
  const read = readObject(input);
  return read ? validateRead(type, read, accounts) : fail([{ path: ROOT_PATH, message: NOT_AN_OBJECT }]);
}

/** validateJob on an object already read (a batch item without its "type"). */
export function validateRead(type: QueueName, read: ReadObject, accounts: AccountLookup): JobValidation {
  const issues: Issue[] = [];
  const account = checkAccount(read.fields.get('account'), accounts, issues);
  let name: JobName | undefined;
  if (type === 'sync') {
    name = 'damaijia.sync';
    if (account && account.provider !== 'damaijia') {
      issues.push({
        path: 'account',
        message: `account "${account.id}" is a ${account.provider} account; sync is only for damaijia accounts`,
      });
    }
  } else {
    name = account ? jobFor('ship', account.provider) : guessShipJob(read.fields);
  }
  if (name === undefined) {
    // No configured account and no telling fields: name the fields no ship job takes, at least.
    for (const key of read.fields.keys()) {
      if (key !== 'account' && !shipFields.has(key))
        issues.push({ path: keyPath(key), message: 'unknown field' });
    }
    return fail([...issues, ...read.forbidden]);
  }
  return finish(name, read, account, issues);
}

/**
 * Validates the data of a job of this name as read back from the queue (another language's producer
 * may have written it) or after a redrive patch: the same rules, and the account must fit the name.
 */
export function validateJobData(name: JobName, data: unknown, accounts: AccountLookup): JobValidation {
  if (!isJobName(name)) return fail([{ path: 'name', message: `must be one of ${JOB_NAMES.join(', ')}` }]);
  const read = readObject(data);
  if (!read) return fail([{ path: ROOT_PATH, message: NOT_AN_OBJECT }]);
  const issues: Issue[] = [];
  const account = checkAccount(read.fields.get('account'), accounts, issues);
  const provider = JOBS[name].provider;
  if (account && account.provider !== provider) {
    issues.push({
      path: 'account',
      message: `account "${account.id}" is a ${account.provider} account, but ${name} needs a ${provider} account`,
    });
  }
  return finish(name, read, account, issues);
}

interface KnownAccount {
  id: string;
  provider: Provider;
}

function checkAccount(value: unknown, accounts: AccountLookup, issues: Issue[]): KnownAccount | undefined {
  if (value === undefined) {
    issues.push({ path: 'account', message: 'is required' });
    return undefined;
  }
  if (!ACCOUNT.check(value)) {
    issues.push({ path: 'account', message: ACCOUNT.explain(value) });
    return undefined;
  }
  const id = value as string;
  const found: unknown = accounts.get(id);
  // Trust only an entry that is what it claims: a lookup built on a plain object would answer
  // "constructor" with a function.
  if (isAccount(found, id)) return { id, provider: found.provider };
  issues.push({ path: 'account', message: `account "${id}" is not configured` });
  return undefined;
}

function isAccount(value: unknown, id: string): value is KnownAccount {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as { id?: unknown; provider?: unknown };
  return entry.id === id && typeof entry.provider === 'string' && PROVIDERS.has(entry.provider);
}

function finish(name: JobName, read: ReadObject, account: KnownAccount | undefined, issues: Issue[]) {
  const rules = RULES[name];
  const { fields } = read;
  for (const [key, rule] of rules.fields) {
    if (key === 'account') continue;
    const value = fields.get(key);
    if (value === undefined) {
      if (rule.required) issues.push({ path: key, message: 'is required' });
    } else if (!rule.check(value)) {
      issues.push({ path: key, message: rule.explain(value) });
    }
  }
  for (const [key, needs] of rules.together) {
    if (!fields.has(key)) continue;
    for (const other of needs) {
      if (!fields.has(other)) issues.push({ path: key, message: `must be given together with ${other}` });
    }
  }
  for (const key of fields.keys()) {
    if (!rules.fields.has(key))
      issues.push({ path: keyPath(key), message: foreignField(key, name, account) });
  }
  issues.push(...read.forbidden);
  if (issues.length > 0 || !account) return fail(issues);

  // Every field passed its own rule; the whole object's schema has the last word. It reads a copy
  // without a prototype, as its checks use `in`.
  const copy: Record<string, unknown> = Object.create(null);
  for (const key of rules.fields.keys()) if (fields.has(key)) copy[key] = fields.get(key);
  if (!rules.validator.Check(copy)) return fail(schemaIssues(rules.validator, copy));
  const decoded: Record<string, unknown> = {};
  for (const [key, rule] of rules.fields) if (fields.has(key)) decoded[key] = rule.decode(fields.get(key));
  const data = decoded as JobData;
  const job: ValidJob = {
    name,
    queue: JOBS[name].queue,
    provider: JOBS[name].provider,
    account: account.id,
    data,
    id: idempotencyKey(name, data),
  };
  return { ok: true as const, job };
}

const fieldOwner = new Map<string, JobName>();
for (const name of JOB_NAMES) for (const field of PAYLOAD_FIELDS[name]) fieldOwner.set(field, name);
const shipFields = new Set([...PAYLOAD_FIELDS['vvtool.send'], ...PAYLOAD_FIELDS['damaijia.delivery']]);

/** "unknown field", or whose field it is when another job takes it. */
function foreignField(key: string, name: JobName, account: KnownAccount | undefined): string {
  const owner = fieldOwner.get(key);
  if (!owner) return 'unknown field';
  const ownerProvider = JOBS[owner].provider;
  if (account && account.provider !== ownerProvider) {
    return `is a ${ownerProvider} field (${owner}), but account "${account.id}" is a ${account.provider} account`;
  }
  return `is a ${owner} field, not a ${name} field`;
}

/** Without a configured account, the fields sent say which ship job was meant, when they agree. */
function guessShipJob(fields: ReadonlyMap<string, unknown>): JobName | undefined {
  const count = (name: JobName) => PAYLOAD_FIELDS[name].filter((field) => fields.has(field)).length;
  const vvtool = count('vvtool.send');
  const damaijia = count('damaijia.delivery');
  if (vvtool > damaijia) return 'vvtool.send';
  if (damaijia > vvtool) return 'damaijia.delivery';
  return undefined;
}

function fail(issues: Issue[]): { ok: false; issues: Issue[] } {
  return { ok: false, issues };
}
