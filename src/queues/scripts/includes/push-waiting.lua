--[[
  Puts a job on its queue's waiting side as the pinned BullMQ does: the wait list at priority 0, else
  the prioritized set (score priority * 2^32 + a counter, so equal priorities keep their order), and
  wakes the workers (the marker) unless the queue is paused or at its concurrency.
  base: the queue's key prefix ('<prefix>:<queue>:').
]]
local function pushWaiting(base, jobId, priority)
  local queue = redis.call('HMGET', base .. 'meta', 'paused', 'concurrency')
  local idle = not queue[1] and not (queue[2] and redis.call('LLEN', base .. 'active') >= tonumber(queue[2]))
  if priority == 0 then
    redis.call('LPUSH', base .. 'wait', jobId)
  else
    local counter = redis.call('INCR', base .. 'pc')
    redis.call('ZADD', base .. 'prioritized', priority * 0x100000000 + counter % 0x100000000, jobId)
  end
  if idle then redis.call('ZADD', base .. 'marker', 0, '0') end
end
