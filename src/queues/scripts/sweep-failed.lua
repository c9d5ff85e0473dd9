--[[
  Sweep one failed job: bury it (or drop its copy when the dead-letter queue has it already), but
  only while it is still failed and its marker is still what the caller read. A redrive or a retry
  that lands between the caller's read and this script moves the job out of the failed set, and the
  job is left alone.

  KEYS[1] the job's idempotency marker
  KEYS[2] the dead-letter job hash
  KEYS[3] the event outbox stream (job.dead is recorded there when this buries, while it exists)
  KEYS[4] the account's backlog set (the job leaves it: finished)

  ARGV[1] the work queue's key prefix
  ARGV[2] the job id
  ARGV[3] the marker as the caller read it, with a leading '=' ('=' alone: no marker)
  ARGV[4] the dead marker to write when there is no dead one
  ARGV[5] the dead-letter queue's key prefix
  ARGV[6] the dead-letter id
  ARGV[7] job name
  ARGV[8] data: the dead record as JSON
  ARGV[9] opts: the stored options as JSON
  ARGV[10] timestamp (ms)
  ARGV[11] the job's finishedOn as the caller read it (the failure it read, not a later one)
  ARGV[12] the job.dead event's data as JSON

  Returns 'buried' (entry added, copy removed), 'removed' (only the copy removed: the marker says done,
  or the entry was there), 'gone' (not failed any more, or locked: nothing changed) or 'changed' (the
  marker or the failure is not what the caller read: nothing changed; read again).
]]
--- @include "add-job"
--- @include "remove-job"

local base, jobId = ARGV[1], ARGV[2]
if not redis.call('ZSCORE', base .. 'failed', jobId) or redis.call('EXISTS', base .. jobId .. ':lock') == 1 then
  return 'gone'
end
local marker = redis.call('GET', KEYS[1])
if '=' .. (marker or '') ~= ARGV[3] or (redis.call('HGET', base .. jobId, 'finishedOn') or '') ~= ARGV[11] then
  return 'changed'
end
local kind = marker and string.sub(marker, 1, 1)
redis.call('SREM', KEYS[4], jobId)
if kind == 'd' then
  removeJob(base, jobId, 'failed')
  return 'removed'
end
if kind ~= 'x' then redis.call('SET', KEYS[1], ARGV[4]) end
local result = 'removed'
if redis.call('EXISTS', KEYS[2]) == 0 then
  addJob(ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], 0)
  if redis.call('EXISTS', KEYS[3]) == 1 then
    redis.call('XADD', KEYS[3], '*', 'type', 'job.dead', 'at', ARGV[10], 'data', ARGV[12])
  end
  result = 'buried'
end
removeJob(base, jobId, 'failed')
return result
