--[[
  Purge: a dead job deleted for good, its dead-letter entry and its dead marker together, so that
  its key can be enqueued afresh.

  A dead marker is deleted only while no work queue holds the job (a failed leftover is removed with
  it): a job still running or retained under its id must keep meeting its marker at the gate. A done
  or claimed marker is never deleted: an entry beside one is a stale copy, and only the entry goes.
  A dead marker whose entry is gone (left by a crash) is purged alone.

  KEYS[1] the dead-letter job hash
  KEYS[2] the marker of the origin id

  ARGV[1] the dead-letter queue's key prefix
  ARGV[2] the dead-letter id
  ARGV[3] the origin id
  ARGV[4..] the key prefixes of the work queues that may hold the origin id

  Returns 'purged', 'missing' (neither an entry nor a dead marker) or 'busy' (a work queue holds the
  job in a state other than failed: nothing changed).
]]
--- @include "origin-state"
--- @include "remove-job"

local entry = redis.call('EXISTS', KEYS[1]) == 1
local marker = redis.call('GET', KEYS[2])
local dead = marker and string.sub(marker, 1, 1) == 'x'
if not entry and not dead then return 'missing' end
if dead then
  local leftovers = {}
  for i = 4, #ARGV do
    local state = originState(ARGV[i], ARGV[3])
    if state == 'busy' then return 'busy' end
    if state == 'failed' then leftovers[#leftovers + 1] = ARGV[i] end
  end
  for _, base in ipairs(leftovers) do removeJob(base, ARGV[3], 'failed') end
  redis.call('DEL', KEYS[2])
end
if entry then removeJob(ARGV[1], ARGV[2], 'wait') end
return 'purged'
