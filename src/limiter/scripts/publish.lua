--[[
  Publish an account's rate and spacing (from the configuration of the process starting now), which
  every process's gate enforces from its next grant. Unchanged settings change nothing. A change
  restarts the schedule after the last slot that may have been granted (none is further ahead than
  max wait, nor at or past the old tat), so a lower rate holds from within a second (the grants of
  the second before the change were spaced for the old one). The line keeps its order, and so does
  the window log: the next grants look back `rate` grants of the new rate, so a lower rate forgets
  the entries no grant will look back to.
  KEYS: 1 account hash, 2 the account's window log (hash)
  ARGV: 1 rate per second, 2 spacing µs, 3 margin µs, 4 max wait µs
  Returns 1 when the account's settings changed, else 0.
]]
local old = redis.call('HMGET', KEYS[1], 'spacing', 'rate', 'margin', 'tat', 'seq')
if old[1] == ARGV[2] and old[2] == ARGV[1] and old[3] == ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'rate', ARGV[1], 'spacing', ARGV[2], 'margin', ARGV[3])
local seq, oldRate, newRate = tonumber(old[5]), tonumber(old[2]), tonumber(ARGV[1])
if seq and oldRate and newRate < oldRate then
  for number = seq - oldRate + 1, seq - newRate do redis.call('HDEL', KEYS[2], number) end
end
local tat = tonumber(old[4])
if tat then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local lastGranted = math.min(now + tonumber(ARGV[4]), tat - (tonumber(old[1]) or 0))
  redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', lastGranted + tonumber(ARGV[2])))
end
return 1
