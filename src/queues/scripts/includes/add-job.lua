--[[
  Writes a new job under a custom id the way Queue.add of the pinned BullMQ writes one with no delay,
  parent or deduplication (its addStandardJob-9 / addPrioritizedJob-9): the id counter, the job hash
  (name, data, opts, timestamp, delay, priority), an 'added' event, the wait list (priority 0) or the
  prioritized set, the workers' marker unless the queue is paused or at its concurrency, and a
  'waiting' event. The caller has made sure the job hash does not exist.
  base: the queue's key prefix ('<prefix>:<queue>:'); opts: the stored options as JSON.
]]
--- @include "push-waiting"

local function addJob(base, jobId, name, data, opts, timestamp, priority)
  local metaKey = base .. 'meta'
  local eventsKey = base .. 'events'
  redis.call('INCR', base .. 'id')
  local maxEvents = redis.call('HGET', metaKey, 'opts.maxLenEvents')
  if not maxEvents then
    maxEvents = 10000
    redis.call('HSET', metaKey, 'opts.maxLenEvents', maxEvents)
  end
  redis.call('HMSET', base .. jobId, 'name', name, 'data', data, 'opts', opts, 'timestamp', timestamp,
    'delay', 0, 'priority', priority)
  redis.call('XADD', eventsKey, '*', 'event', 'added', 'jobId', jobId, 'name', name)
  pushWaiting(base, jobId, priority)
  redis.call('XADD', eventsKey, 'MAXLEN', '~', maxEvents, '*', 'event', 'waiting', 'jobId', jobId)
end
