--[[
  Page: entries in time order, members and entries read in one atomic step, so a page never names an
  entry it cannot show.

  KEYS[1] byTime
  KEYS[2] entries

  ARGV[1] lex min
  ARGV[2] lex max
  ARGV[3] count

  Returns {members, entry JSONs}.
]]
local members = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
if #members == 0 then return {{}, {}} end
-- 17: past the 15 time digits and the '|' of each member (keys.ts).
local ids = {}
for i, m in ipairs(members) do ids[i] = string.sub(m, 17) end
return {members, redis.call('HMGET', KEYS[2], unpack(ids))}
