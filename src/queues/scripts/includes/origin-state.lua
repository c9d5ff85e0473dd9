--[[
  Where a work queue holds a job id: 'none' (no job hash), 'failed' (a failed leftover: in the failed
  set and not locked by a worker), or 'busy' (any other state: waiting, prioritized, delayed, active,
  completed, or a hash between states).
]]
local function originState(base, jobId)
  if redis.call('EXISTS', base .. jobId) == 0 then return 'none' end
  if redis.call('ZSCORE', base .. 'failed', jobId) and redis.call('EXISTS', base .. jobId .. ':lock') == 0 then
    return 'failed'
  end
  return 'busy'
end
