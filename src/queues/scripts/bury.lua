--[[
  Bury: the dead-letter entry of a job that died, added only while its idempotency marker says dead.

  Two modes. 'finish' (ARGV[7] = ''): the marker was written with the ledger entry of the call that
  died; the entry is added only if the marker is dead. 'write' (ARGV[7] = the dead marker): the marker
  is written here first, unless it is done (a done shipment is never buried) or already dead (the
  first death's marker stays).

  KEYS[1] the job's idempotency marker
  KEYS[2] the dead-letter job hash ('<prefix>:dead-letter:<dead-letter id>')
  KEYS[3] the event outbox stream (job.dead is recorded there with the entry, while it exists)
  KEYS[4] the account's backlog set (the job leaves it: dead is finished)

  ARGV[1] the dead-letter queue's key prefix ('<prefix>:dead-letter:')
  ARGV[2] the dead-letter id
  ARGV[3] job name
  ARGV[4] data: the dead record as JSON
  ARGV[5] opts: the stored options as JSON
  ARGV[6] timestamp (ms)
  ARGV[7] the dead marker to write ('write' mode), or '' ('finish' mode)
  ARGV[8] the job.dead event's data as JSON
  ARGV[9] the job's id in its origin queue (its backlog member)

  Returns 'buried' (entry added), 'present' (the entry was there already), 'done' (the marker says
  done: nothing written) or 'unmarked' ('finish' mode, the marker is not dead: nothing written).
]]
--- @include "add-job"

local marker = redis.call('GET', KEYS[1])
local kind = marker and string.sub(marker, 1, 1)
if kind == 'd' then return 'done' end
if kind ~= 'x' then
  if ARGV[7] == '' then return 'unmarked' end
  redis.call('SET', KEYS[1], ARGV[7])
end
redis.call('SREM', KEYS[4], ARGV[9])
if redis.call('EXISTS', KEYS[2]) == 1 then return 'present' end
addJob(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], 0)
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('XADD', KEYS[3], '*', 'type', 'job.dead', 'at', ARGV[6], 'data', ARGV[8])
end
return 'buried'
