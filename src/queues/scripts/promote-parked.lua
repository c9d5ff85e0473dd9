--[[
  Promote parked jobs: each job still delayed goes to the wait list (priority 0) or the prioritized
  set, as Job.promote of the pinned BullMQ does (its promote-9); a job that is no longer delayed
  (already promoted, running, finished, removed) is skipped.

  ARGV: pairs of (work queue key prefix, job id)

  Returns how many jobs were promoted.
]]
local promoted = 0
for i = 1, #ARGV, 2 do
  local base, jobId = ARGV[i], ARGV[i + 1]
  if redis.call('ZREM', base .. 'delayed', jobId) == 1 then
    local jobKey = base .. jobId
    local metaKey = base .. 'meta'
    local priority = tonumber(redis.call('HGET', jobKey, 'priority')) or 0
    local queue = redis.call('HMGET', metaKey, 'paused', 'concurrency')
    local idle = not queue[1] and not (queue[2] and redis.call('LLEN', base .. 'active') >= tonumber(queue[2]))
    if priority == 0 then
      redis.call('LPUSH', base .. 'wait', jobId)
    else
      local counter = redis.call('INCR', base .. 'pc')
      redis.call('ZADD', base .. 'prioritized', priority * 0x100000000 + counter % 0x100000000, jobId)
    end
    if idle then redis.call('ZADD', base .. 'marker', 0, '0') end
    redis.call('XADD', base .. 'events', '*', 'event', 'waiting', 'jobId', jobId, 'prev', 'delayed')
    redis.call('HSET', jobKey, 'delay', 0)
    promoted = promoted + 1
  end
end
return promoted
