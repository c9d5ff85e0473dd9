--[[
  Recover call: end a call whose run is gone (its live-call deadline passed with no settle). Its
  in-flight mark, if still the one read, becomes an unknown entry unless the call has one; the
  live-call key goes if it still names the call.

  KEYS[1] inflight
  KEYS[2] entries
  KEYS[3] byTime
  KEYS[4] the job's live-call key

  ARGV[1] call id
  ARGV[2] the mark as read ('' when there was none)
  ARGV[3] member
  ARGV[4] entry JSON

  Returns 1 when it wrote the entry, else 0.
]]
local live = redis.call('GET', KEYS[4])
if live and string.sub(live, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then redis.call('DEL', KEYS[4]) end
if ARGV[2] == '' or redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[4]) == 0 then return 0 end
redis.call('ZADD', KEYS[3], 0, ARGV[3])
return 1
