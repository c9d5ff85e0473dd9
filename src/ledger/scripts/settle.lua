--[[
  Settle one call: its in-flight mark goes, and its entry is written once.

  The in-flight mark always goes, and the live-call key when it still names this call (another
  run's call is not ours to end). HSETNX writes the entry only if there is none for this call yet,
  so a redelivered or concurrent settle of the same call counts once. The event goes to the outbox
  only while the outbox exists (a consumer group made it).

  KEYS[1] inflight
  KEYS[2] entries
  KEYS[3] byTime
  KEYS[4] the job's live-call key (any key when ARGV[6] is '')
  KEYS[5] the event outbox stream
  KEYS[6] a set to remove ARGV[10] from (the account's backlog, when the job finishes; any key when
          ARGV[10] is '')
  KEYS[7..] keys to set in the same step

  ARGV[1] call id
  ARGV[2] member
  ARGV[3] entry JSON ('' when the answer charged nothing)
  ARGV[4] the value to set
  ARGV[5] its time to live in ms ('' for none)
  ARGV[6] '1' when KEYS[4] is the live-call key
  ARGV[7] an event type ('' for none)
  ARGV[8] its time (epoch ms)
  ARGV[9] its data JSON
  ARGV[10] the set member to remove ('' for none)

  Returns 1 when it wrote the entry, else 0.
]]
redis.call('HDEL', KEYS[1], ARGV[1])
if ARGV[6] == '1' then
  local live = redis.call('GET', KEYS[4])
  if live and string.sub(live, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then redis.call('DEL', KEYS[4]) end
end
if ARGV[10] ~= '' then redis.call('SREM', KEYS[6], ARGV[10]) end
for i = 7, #KEYS do
  if ARGV[5] == '' then redis.call('SET', KEYS[i], ARGV[4])
  else redis.call('SET', KEYS[i], ARGV[4], 'PX', ARGV[5]) end
end
if ARGV[7] ~= '' and redis.call('EXISTS', KEYS[5]) == 1 then
  redis.call('XADD', KEYS[5], '*', 'type', ARGV[7], 'at', ARGV[8], 'data', ARGV[9])
end
if ARGV[3] == '' then return 0 end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[3]) == 0 then return 0 end
redis.call('ZADD', KEYS[3], 0, ARGV[2])
return 1
