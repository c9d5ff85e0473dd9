import { describe, expect, it } from 'vitest';
import * as keys from '../src/keys.js';
import {
  ledgerKeys,
  limiterKeys,
  outboxKey,
  QUEUE_NAMES,
  queueKeys,
  RECORDS_GROUP,
  recordsKeys,
  WEBHOOK_GROUP,
  webhookKeys,
} from '../src/keys.js';

// Every key layout of src/keys.ts, built from one id (an account, a job id or a shipment key) and one
// queue name; layouts that take neither ignore them.
type Layout = (prefix: string, id: string, queue: string) => string;

const LAYOUTS: Record<string, Layout> = {
  'queueKeys.marker': (p, id) => queueKeys.marker(p, id),
  'queueKeys.liveCall': (p, id) => queueKeys.liveCall(p, id),
  'queueKeys.backlog': (p, id) => queueKeys.backlog(p, id),
  'queueKeys.base': (p, _id, queue) => queueKeys.base(p, queue),
  'queueKeys.job': (p, id, queue) => queueKeys.job(p, queue, id),
  'queueKeys.lock': (p, id, queue) => queueKeys.lock(p, queue, id),
  'limiterKeys.account': (p, id) => limiterKeys.account(p, id),
  'limiterKeys.line': (p, id) => limiterKeys.line(p, id),
  'limiterKeys.parked': (p, id) => limiterKeys.parked(p, id),
  'limiterKeys.noCall': (p, id) => limiterKeys.noCall(p, id),
  'limiterKeys.sent': (p, id) => limiterKeys.sent(p, id),
  'ledgerKeys.inflight': (p) => ledgerKeys(p).inflight,
  'ledgerKeys.entries': (p) => ledgerKeys(p).entries,
  'ledgerKeys.byTime': (p) => ledgerKeys(p).byTime,
  outboxKey: (p) => outboxKey(p),
  'webhookKeys.events': (p) => webhookKeys(p).events,
  'webhookKeys.attempts': (p) => webhookKeys(p).attempts,
  'webhookKeys.due': (p) => webhookKeys(p).due,
  'webhookKeys.age': (p) => webhookKeys(p).age,
  'webhookKeys.undeliverable': (p) => webhookKeys(p).undeliverable,
  'recordsKeys.owner': (p) => recordsKeys.owner(p),
};

/** BullMQ's keys: everything under a queue's base is the queue's. */
const BULLMQ_LAYOUTS = new Set(['queueKeys.base', 'queueKeys.job', 'queueKeys.lock']);

// Ids as the product allows them (no ':': account ids match [A-Za-z0-9_-], BullMQ refuses ':' in
// custom job ids), picked to spell the fixed parts of other layouts.
const IDS = [
  'vv1',
  '17',
  'vvtool.vv1.4014.all.SF1',
  'line',
  'parked',
  'backlog',
  'no-call',
  'sent',
  'lock',
  'idem',
  'call',
  'acct',
  'ledger',
  'outbox',
  'webhooks',
  'records',
  'ship',
  'dead-letter',
];
const QUEUES = Object.values(QUEUE_NAMES);
const PREFIXES = ['fulfillment', '{ff}', 'test:nested'];

/** The key builders src/keys.ts exports, named as in LAYOUTS (an object a builder returns: one per field). */
function exportedBuilders(): string[] {
  const names: string[] = [];
  for (const [name, value] of Object.entries(keys)) {
    if (typeof value === 'function') {
      const built: unknown = (value as (prefix: string) => unknown)('p');
      if (typeof built === 'string') names.push(name);
      else names.push(...Object.keys(built as object).map((field) => `${name}.${field}`));
    } else if (typeof value === 'object' && Object.values(value).every((v) => typeof v === 'function')) {
      names.push(...Object.keys(value).map((field) => `${name}.${field}`));
    }
  }
  return names.sort();
}

/** Every key each layout builds from the sample ids and queues, by layout. */
function buildAll(prefix: string): Map<string, Set<string>> {
  const built = new Map<string, Set<string>>();
  for (const [name, layout] of Object.entries(LAYOUTS)) {
    const set = new Set<string>();
    for (const id of IDS) for (const queue of QUEUES) set.add(layout(prefix, id, queue));
    built.set(name, set);
  }
  return built;
}

describe('src/keys.ts', () => {
  it('every builder it exports is a layout this test checks', () => {
    expect(exportedBuilders()).toEqual(Object.keys(LAYOUTS).sort());
  });

  it.each(PREFIXES)('every key starts with the prefix and a separator (prefix %s)', (prefix) => {
    for (const [name, set] of buildAll(prefix)) {
      for (const key of set) expect(key.startsWith(`${prefix}:`), `${name}: ${key}`).toBe(true);
    }
  });

  it.each(PREFIXES)('no two layouts build the same key (prefix %s)', (prefix) => {
    const owner = new Map<string, string>();
    const clashes: string[] = [];
    for (const [name, set] of buildAll(prefix)) {
      for (const key of set) {
        const other = owner.get(key);
        if (other !== undefined) clashes.push(`${key}: ${other} and ${name}`);
        owner.set(key, name);
      }
    }
    expect(clashes).toEqual([]);
  });

  it('no key of ours lies under a queue, where BullMQ keeps its own', () => {
    const bases = QUEUES.map((queue) => queueKeys.base('p', queue));
    const under: string[] = [];
    for (const [name, set] of buildAll('p')) {
      if (BULLMQ_LAYOUTS.has(name)) continue;
      for (const key of set) if (bases.some((base) => key.startsWith(base))) under.push(`${name}: ${key}`);
    }
    expect(under).toEqual([]);
  });

  it('one job id gives distinct markers, live calls, job hashes and locks per id', () => {
    for (const name of ['queueKeys.marker', 'queueKeys.liveCall', 'queueKeys.job', 'queueKeys.lock']) {
      const layout = LAYOUTS[name]!;
      expect(new Set(IDS.map((id) => layout('p', id, 'ship'))).size, name).toBe(IDS.length);
    }
  });

  it('the outbox consumer groups have distinct names', () => {
    expect(WEBHOOK_GROUP).not.toBe(RECORDS_GROUP);
  });
});
