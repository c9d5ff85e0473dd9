import type { Redis } from 'ioredis';
import { outboxKey } from '../keys.js';
import { LuaScript } from '../runtime/lua.js';

/**
 * How long entries stay when no consumer group reads the stream (no deliverer anywhere): long enough
 * for a deliverer started a little later to pick up what happened just before it.
 */
export const UNREAD_RETENTION_MS = 60 * 60_000;

/**
 * Trims the outbox in one atomic step, so a group read or acknowledged in between cannot lose an
 * entry. KEYS: outbox. ARGV: retention ms when no group exists, idle ms after which a consumer with
 * nothing pending is forgotten.
 *
 * Each group still needs its oldest pending entry (read, not yet acknowledged) or, with none pending,
 * everything after its last-delivered id; XTRIM MINID removes what is below the lowest of those over
 * all groups. With no group at all (nobody reads events), entries older than the retention go.
 * Consumers are named per process, so each restart leaves one behind: an idle one that holds nothing
 * is deleted (a live one that is deleted is created again by its next read). Returns the entries
 * removed.
 */
const TRIM = new LuaScript(
  'eventsTrim',
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local function fields(list)
  local map = {}
  for i = 1, #list, 2 do map[list[i]] = list[i + 1] end
  return map
end
local function parts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function below(a, b)
  local am, as = parts(a)
  local bm, bs = parts(b)
  return am < bm or (am == bm and as < bs)
end
local floor = nil
for _, raw in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local group = fields(raw)
  local keep
  if group['pending'] > 0 then
    keep = redis.call('XPENDING', KEYS[1], group['name'])[2]
  else
    local ms, seq = string.match(group['last-delivered-id'], '^(%d+)-(%d+)$')
    keep = ms .. '-' .. string.format('%.0f', tonumber(seq) + 1)
  end
  if floor == nil or below(keep, floor) then floor = keep end
  for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], group['name'])) do
    local consumer = fields(c)
    if consumer['pending'] == 0 and consumer['idle'] > tonumber(ARGV[2]) then
      redis.call('XGROUP', 'DELCONSUMER', KEYS[1], group['name'], consumer['name'])
    end
  end
end
if floor == nil then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  floor = string.format('%.0f', now - tonumber(ARGV[1])) .. '-0'
end
return redis.call('XTRIM', KEYS[1], 'MINID', floor)
`,
);

/** A consumer idle this long with nothing pending belongs to a process that is gone. */
const IDLE_CONSUMER_MS = 60 * 60_000;

/** Removes the outbox entries no group still needs (see TRIM). Returns how many went. */
export async function trimOutbox(
  redis: Redis,
  prefix: string,
  options: { readonly unreadRetentionMs?: number; readonly idleConsumerMs?: number } = {},
): Promise<number> {
  const removed = await TRIM.run(
    redis,
    [outboxKey(prefix)],
    [options.unreadRetentionMs ?? UNREAD_RETENTION_MS, options.idleConsumerMs ?? IDLE_CONSUMER_MS],
  );
  return Number(removed);
}
