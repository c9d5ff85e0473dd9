--[[
  Resume: clear the hold, record account.resumed in the outbox while it exists, and hand back the
  parked set so the caller can promote those jobs. The schedule (tat) and the line stay: slots
  granted before the hold keep their spacing, and jobs parked for their turn keep their places.
  An account that is not held is left as it is, and nothing is recorded.
  KEYS: 1 account hash, 2 parked set, 3 outbox
  ARGV: 1 event time (ms), 2 event data JSON
  Returns the parked members, or false when the account was not held.
]]
if redis.call('HEXISTS', KEYS[1], 'held') == 0 then return false end
redis.call('HDEL', KEYS[1], 'held', 'reason', 'code', 'message', 'since')
local parked = redis.call('SMEMBERS', KEYS[2])
redis.call('DEL', KEYS[2])
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('XADD', KEYS[3], '*', 'type', 'account.resumed', 'at', ARGV[1], 'data', ARGV[2])
end
return parked
