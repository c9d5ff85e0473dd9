--[[
  Promote parked jobs: each job still delayed goes to the wait list (priority 0) or the prioritized
  set, as Job.promote of the pinned BullMQ does (its promote-9); a job that is no longer delayed
  (already promoted, running, finished, removed) is skipped.

  ARGV: pairs of (work queue key prefix, job id)

  Returns how many jobs were promoted.
]]
--- @include "push-waiting"

local promoted = 0
for i = 1, #ARGV, 2 do
  local base, jobId = ARGV[i], ARGV[i + 1]
  if redis.call('ZREM', base .. 'delayed', jobId) == 1 then
    local jobKey = base .. jobId
    pushWaiting(base, jobId, tonumber(redis.call('HGET', jobKey, 'priority')) or 0)
    redis.call('XADD', base .. 'events', '*', 'event', 'waiting', 'jobId', jobId, 'prev', 'delayed')
    redis.call('HSET', jobKey, 'delay', 0)
    promoted = promoted + 1
  end
end
return promoted
