import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fieldMap, OUTBOX_XADD_LUA, readOutboxEntry } from '../../src/events/index.js';
import { outboxKey } from '../../src/keys.js';
import { webhookBody } from '../../src/webhooks/index.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';

let r: TestRedis;

beforeAll(async () => {
  r = await testRedis('outbox-lua');
});
afterAll(async () => {
  await r?.cleanup();
});

describe('the outbox line for Lua scripts', () => {
  it('records an event, written inside a script as documented, that reads back as that event', async () => {
    // As a state-changing script would: its own keys first, the outbox among them, data by cjson.
    const script = `
local type, at = ARGV[1], ARGV[2]
local data = cjson.encode({ id = 'vvtool.a.1.all.YT1', queue = 'ship', name = 'vvtool.send', account = 'a', patch = cjson.null })
${OUTBOX_XADD_LUA.replace('KEYS[n]', 'KEYS[2]')}
return 1
`;
    const key = outboxKey(r.prefix);
    await r.redis.eval(script, 2, `${r.prefix}:other`, key, 'job.redriven', '1796285379594');
    const [[id, flat]] = (await r.redis.xrange(key, '-', '+')) as [[string, string[]]];
    const read = readOutboxEntry(id, fieldMap(flat));
    expect(read).toEqual({
      ok: true,
      event: {
        id,
        type: 'job.redriven',
        at: 1796285379594,
        data: { id: 'vvtool.a.1.all.YT1', queue: 'ship', name: 'vvtool.send', account: 'a', patch: null },
      },
    });
    if (!read.ok) return;
    expect(JSON.parse(webhookBody(read.event))).toEqual({
      type: 'job.redriven',
      timestamp: '2026-12-03T08:09:39.594Z',
      data: read.event.data,
    });
  });

  it('tells foreign records from malformed events', () => {
    expect(readOutboxEntry('1-0', { type: 'ledger.entry', at: '1', data: '{}' })).toEqual({
      ok: false,
      unreadable: { kind: 'foreign', type: 'ledger.entry' },
    });
    for (const fields of [
      { type: 'job.dead', at: 'soon', data: '{}' },
      { type: 'job.dead', at: '1', data: '{' },
      { type: 'job.dead', at: '1', data: '[]' },
      { type: 'job.dead', at: '1', data: 'null' },
    ]) {
      expect(readOutboxEntry('1-0', fields)).toMatchObject({ ok: false, unreadable: { kind: 'malformed' } });
    }
  });
});
