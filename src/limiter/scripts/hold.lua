--[[
  Hold: mark the account held unless it already is (the first reason wins and `since` stays), and
  record account.held in the outbox while it exists.
  KEYS: 1 account hash, 2 outbox
  ARGV: 1 reason, 2 code, 3 message, 4 since (ms), 5 event data JSON
  Returns 1 when newly held, 0 when it already was.
]]
if redis.call('HEXISTS', KEYS[1], 'held') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'held', '1', 'reason', ARGV[1], 'code', ARGV[2], 'message', ARGV[3], 'since', ARGV[4])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('XADD', KEYS[2], '*', 'type', 'account.held', 'at', ARGV[4], 'data', ARGV[5])
end
return 1
