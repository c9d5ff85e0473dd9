--[[
  Removes a job from the one place the caller found it, `from` 'failed' (the failed set) or 'wait'
  (the wait list, where dead-letter entries stay), with its keys, as Job.remove of the pinned BullMQ
  does for a job without parent or children (its removeJob-2): the deduplication key if the job
  still owns it, the job hash and its sub-keys, and a 'removed' event.
]]
local function removeJob(base, jobId, from)
  if from == 'failed' then
    redis.call('ZREM', base .. 'failed', jobId)
  else
    redis.call('LREM', base .. 'wait', 1, jobId)
  end
  local jobKey = base .. jobId
  local dedupId = redis.call('HGET', jobKey, 'deid')
  if dedupId and redis.call('GET', base .. 'de:' .. dedupId) == jobId then
    redis.call('DEL', base .. 'de:' .. dedupId, base .. 'dn:' .. dedupId)
  end
  redis.call('DEL', jobKey, jobKey .. ':logs', jobKey .. ':dependencies', jobKey .. ':processed',
    jobKey .. ':failed', jobKey .. ':unsuccessful')
  local maxEvents = redis.call('HGET', base .. 'meta', 'opts.maxLenEvents') or 10000
  redis.call('XADD', base .. 'events', 'MAXLEN', '~', maxEvents, '*', 'event', 'removed', 'jobId', jobId,
    'prev', from)
end
