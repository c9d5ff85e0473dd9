import { LuaScript } from '../runtime/lua.js';

// Every script takes the same KEYS: outbox, events, attempts, due, age, undeliverable (keys.ts), so a
// call site cannot pass them in the wrong order to one of them.

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * Claims up to `max` events for one deliverer, atomically, so any number of deliverers share the work
 * and none takes what another holds. ARGV: group, consumer, max, lease ms.
 *
 * In order: retries that are due (or whose lease ran out: their deliverer died mid-attempt), each
 * leased again; first attempts another consumer read and held past the lease (it died), taken over;
 * then new entries. Creates the group (from the stream's start) when it is missing.
 *
 * Returns { items, lease end (retries), ms until the next due retry or lease end (-1: none), the
 * stream's last entry id ('0-0' when empty) }. An item is { id, 'first', fields } for a first attempt
 * (the entry stays pending in the group until settled) or { id, 'retry', event JSON, attempts }.
 */
export const CLAIM = new LuaScript(
  'webhooksClaim',
  `${NOW}
local max = tonumber(ARGV[3])
local lease = now + tonumber(ARGV[4])
local items = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, max)) do
  local event = redis.call('HGET', KEYS[2], id)
  if event then
    redis.call('ZADD', KEYS[4], lease, id)
    items[#items + 1] = {id, 'retry', event, redis.call('HGET', KEYS[3], id) or '0'}
  else
    redis.call('ZREM', KEYS[4], id)
    redis.call('ZREM', KEYS[5], id)
  end
end
if #items < max then
  local stale = redis.pcall('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[4], '0-0', 'COUNT', max - #items)
  if type(stale) == 'table' and stale.err then
    if string.sub(stale.err, 1, 7) ~= 'NOGROUP' then return redis.error_reply(stale.err) end
    redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
  else
    for _, entry in ipairs(stale[2]) do
      if entry[2] then items[#items + 1] = {entry[1], 'first', entry[2]}
      else redis.call('XACK', KEYS[1], ARGV[1], entry[1]) end
    end
  end
end
if #items < max then
  local read = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', max - #items, 'STREAMS', KEYS[1], '>')
  if read then
    for _, entry in ipairs(read[1][2]) do items[#items + 1] = {entry[1], 'first', entry[2]} end
  end
end
local nextDue = -1
local first = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
if #first > 0 then nextDue = math.max(0, tonumber(first[2]) - now) end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
return {items, lease, nextDue, (#last > 0) and last[1][1] or '0-0'}
`,
);

/**
 * Delivered (or not ours to deliver: foreign records): gone from every structure. ARGV: group, then
 * one or more ids (a few hundred at most: they are passed on as one command's arguments).
 */
export const SETTLE = new LuaScript(
  'webhooksSettle',
  `
redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
redis.call('HDEL', KEYS[2], unpack(ARGV, 2))
redis.call('HDEL', KEYS[3], unpack(ARGV, 2))
redis.call('ZREM', KEYS[4], unpack(ARGV, 2))
redis.call('ZREM', KEYS[5], unpack(ARGV, 2))
return 1
`,
);

/**
 * An attempt failed: schedule the next one, or park the event. ARGV: group, consumer, id, kind
 * ('first' | 'retry'), lease end (retry), event JSON, wait ms ('' parks it), error, undeliverable
 * cap, the id's time in ms.
 *
 * Acts only while the event is still ours: a first attempt while the group's pending entry names
 * this consumer, a retry while its lease is the one this claim set. Otherwise another deliverer took
 * it over after our lease ran out, and its outcome stands. Returns 1 scheduled, 2 parked, 0 not ours.
 */
export const FAIL = new LuaScript(
  'webhooksFail',
  `${NOW}
local id = ARGV[3]
if ARGV[4] == 'first' then
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
  if #pending == 0 or pending[1][2] ~= ARGV[2] then return 0 end
  redis.call('XACK', KEYS[1], ARGV[1], id)
elseif redis.call('ZSCORE', KEYS[4], id) ~= ARGV[5] then
  return 0
end
local attempts = redis.call('HINCRBY', KEYS[3], id, 1)
if ARGV[7] == '' then
  redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[9], '*',
    'id', id, 'event', ARGV[6], 'attempts', attempts, 'error', ARGV[8], 'at', now)
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('ZREM', KEYS[5], id)
  return 2
end
redis.call('HSET', KEYS[2], id, ARGV[6])
redis.call('ZADD', KEYS[4], now + tonumber(ARGV[7]), id)
redis.call('ZADD', KEYS[5], ARGV[10], id)
return 1
`,
);

/**
 * Age in ms of the oldest event not yet delivered nor given up (-1: none), on Redis's clock. ARGV:
 * group. Looks at the group's oldest pending entry, the first entry it has not read, and the oldest
 * event waiting for a retry.
 */
export const OLDEST = new LuaScript(
  'webhooksOldest',
  `${NOW}
local oldest = nil
local function consider(id)
  local ms = tonumber(string.match(id, '^(%d+)'))
  if oldest == nil or ms < oldest then oldest = ms end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  for _, raw in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    local group = {}
    for i = 1, #raw, 2 do group[raw[i]] = raw[i + 1] end
    if group['name'] == ARGV[1] then
      if group['pending'] > 0 then consider(redis.call('XPENDING', KEYS[1], ARGV[1])[2]) end
      local unread = redis.call('XRANGE', KEYS[1], '(' .. group['last-delivered-id'], '+', 'COUNT', 1)
      if #unread > 0 then consider(unread[1][1]) end
    end
  end
end
local waiting = redis.call('ZRANGE', KEYS[5], 0, 0, 'WITHSCORES')
if #waiting > 0 then
  local ms = tonumber(waiting[2])
  if oldest == nil or ms < oldest then oldest = ms end
end
if oldest == nil then return -1 end
return math.max(0, now - oldest)
`,
);
