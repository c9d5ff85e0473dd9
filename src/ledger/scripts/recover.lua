--[[
  Recover: turn in-flight marks left behind into unknown entries. A mark is converted only if it is
  still the one read (a settle in between has removed it); its entry is written only if the call has
  none.

  KEYS[1] inflight
  KEYS[2] entries
  KEYS[3] byTime

  ARGV, 4 per mark: call id, the mark as read, member, entry JSON

  Returns the call ids whose entry this wrote.
]]
local written = {}
for i = 1, #ARGV, 4 do
  local id = ARGV[i]
  if redis.call('HGET', KEYS[1], id) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[1], id)
    if redis.call('HSETNX', KEYS[2], id, ARGV[i + 3]) == 1 then
      redis.call('ZADD', KEYS[3], 0, ARGV[i + 2])
      written[#written + 1] = id
    end
  end
end
return written
