--[[
  Enqueue: a batch of validated jobs, each added to its queue unless its shipment is known already,
  and counted in its account's backlog, in one step (so no crash can leave a job uncounted or a count
  without its job).

  Per job with an idempotency key: 'done' when its marker says done, 'dead' when the marker says dead
  or the dead-letter queue holds it, 'exists' when its queue holds it (waiting, delayed, running,
  retained), else it is added ('new'). A job without a key (a sync, under an id the service picked)
  is always added.

  KEYS, 4 per job: the marker of its id (any key when it has no idempotency key), the job hash in its
  queue, the dead-letter job hash, the account's backlog set

  ARGV[1] timestamp of the added jobs (ms)
  ARGV[2..] 7 per job: '1' when the job has an idempotency key, else '', the queue's key prefix, the
            job id, job name, data (JSON), opts (the stored options, JSON), priority

  Returns per job 'new', 'done', 'dead' or 'exists'.
]]
--- @include "add-job"

local out = {}
for i = 0, #KEYS / 4 - 1 do
  local k = i * 4
  local a = 1 + i * 7
  local answer
  if ARGV[a + 1] == '1' then
    local marker = redis.call('GET', KEYS[k + 1])
    local kind = marker and string.sub(marker, 1, 1)
    if kind == 'd' then answer = 'done'
    elseif kind == 'x' or redis.call('EXISTS', KEYS[k + 3]) == 1 then answer = 'dead'
    end
  end
  if not answer and redis.call('EXISTS', KEYS[k + 2]) == 1 then answer = 'exists' end
  if not answer then
    addJob(ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6], ARGV[1], tonumber(ARGV[a + 7]))
    redis.call('SADD', KEYS[k + 4], ARGV[a + 3])
    answer = 'new'
  end
  out[#out + 1] = answer
end
return out
