import { LuaScript } from '../runtime/lua.js';

/**
 * Trim ledger entries already stored in PostgreSQL. KEYS: entries, byTime. ARGV: pairs of (member,
 * entry id). Runs only after the insert committed, so what it removes is in the database; removing
 * what another sink removed first changes nothing. Returns how many entries it removed.
 */
export const TRIM_STORED = new LuaScript(
  'recordsTrimStored',
  `
-- One ZREM and one HDEL per chunk rather than one call per entry: the calls, not the removals, were
-- most of the script's cost. Chunks keep unpack() well inside Lua's stack.
local members, ids, removed = {}, {}, 0
local function flush()
  if #members == 0 then return end
  redis.call('ZREM', KEYS[2], unpack(members))
  removed = removed + redis.call('HDEL', KEYS[1], unpack(ids))
  members, ids = {}, {}
end
for i = 1, #ARGV, 2 do
  members[#members + 1] = ARGV[i]
  ids[#ids + 1] = ARGV[i + 1]
  if #members == 1000 then flush() end
end
flush()
return removed
`,
);

/**
 * Create the records consumer group, reading the outbox from its start; MKSTREAM makes the stream, and
 * from then on the scripts that change jobs and accounts append to it. KEYS: outbox. ARGV: group.
 */
export const ENSURE_GROUP = new LuaScript(
  'recordsEnsureGroup',
  `
if redis.call('EXISTS', KEYS[1]) == 1 then
  for _, raw in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    for i = 1, #raw, 2 do
      if raw[i] == 'name' and raw[i + 1] == ARGV[1] then return 0 end
    end
  end
end
redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
return 1
`,
);
