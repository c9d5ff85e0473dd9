--[[
  Redrive: dead jobs back on their origin queue, all of them or none.

  Each item is checked first: its dead-letter entry exists, its marker is dead, and its origin queue
  holds no job under its id (a failed leftover is allowed: it is removed). If any item fails a check,
  nothing is changed and the refusals are returned. Otherwise, per item in one step: the failed
  leftover and the dead-letter entry are removed, the marker goes from dead to claimed (a short
  claim, as a producer's), and the job is added to its origin queue as Queue.add would add it.

  An id BullMQ keeps for itself (a bare integer) was buried under a derived dead-letter id and goes
  back under that one (the "new id"): the dead marker of the old id is deleted, the claim is written
  under the new id.

  KEYS, 4 per item: the dead-letter job hash, the marker of the origin id, the marker of the new id,
  the account's backlog set (the job joins it again); then, last, the event outbox stream
  (job.redriven is recorded there per item, while it exists).

  ARGV[1] the dead-letter queue's key prefix
  ARGV[2] claim lifetime (ms)
  ARGV[3] timestamp of the added jobs (ms)
  ARGV[4..] 10 per item: dead-letter id, origin queue key prefix, origin id, new id, job name,
            data (JSON), opts (JSON), priority, the entry's timestamp as the caller read it, the
            job.redriven event's data (JSON)

  Returns {'redriven'} or {'refused', id, why, id, why, ...}, why one of 'missing' (no dead-letter
  entry, or not the one the caller read and patched), 'done' / 'claimed' / 'unmarked' (the marker
  is not dead), 'busy' (the origin queue holds the job in a state other than failed).
]]
--- @include "add-job"
--- @include "origin-state"
--- @include "remove-job"

local deadBase = ARGV[1]
local items = {}
local refused = {}
local outbox = KEYS[#KEYS]
for i = 0, (#KEYS - 1) / 4 - 1 do
  local a = 3 + i * 10 -- the item's arguments are a + 1 .. a + 10
  local item = {
    entry = KEYS[i * 4 + 1], oldMarker = KEYS[i * 4 + 2], newMarker = KEYS[i * 4 + 3], backlog = KEYS[i * 4 + 4],
    deadId = ARGV[a + 1], base = ARGV[a + 2], oldId = ARGV[a + 3], newId = ARGV[a + 4],
    name = ARGV[a + 5], data = ARGV[a + 6], opts = ARGV[a + 7], priority = tonumber(ARGV[a + 8]),
    event = ARGV[a + 10],
  }
  local why
  if redis.call('HGET', item.entry, 'timestamp') ~= ARGV[a + 9] then
    why = 'missing'
  else
    local marker = redis.call('GET', item.oldMarker)
    local kind = marker and string.sub(marker, 1, 1)
    if kind == 'd' then why = 'done'
    elseif kind ~= 'x' and marker then why = 'claimed'
    elseif kind ~= 'x' then why = 'unmarked'
    else
      item.state = originState(item.base, item.oldId)
      if item.state == 'busy' then why = 'busy'
      elseif item.newId ~= item.oldId and originState(item.base, item.newId) ~= 'none' then why = 'busy'
      end
    end
  end
  if why then
    refused[#refused + 1] = item.deadId
    refused[#refused + 1] = why
  end
  items[#items + 1] = item
end
if #refused > 0 then
  table.insert(refused, 1, 'refused')
  return refused
end

for _, item in ipairs(items) do
  if item.state == 'failed' then removeJob(item.base, item.oldId, 'failed') end
  removeJob(deadBase, item.deadId, 'wait')
  if item.newMarker ~= item.oldMarker then redis.call('DEL', item.oldMarker) end
  redis.call('SET', item.newMarker, 'c', 'PX', ARGV[2])
  addJob(item.base, item.newId, item.name, item.data, item.opts, ARGV[3], item.priority)
  redis.call('SADD', item.backlog, item.newId)
  if redis.call('EXISTS', outbox) == 1 then
    redis.call('XADD', outbox, '*', 'type', 'job.redriven', 'at', ARGV[3], 'data', item.event)
  end
end
return {'redriven'}
