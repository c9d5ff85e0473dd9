--[[
  A granted call has passed its last check and is being written to its socket: its window-log entry
  (see gate.lua) becomes the latest it can now arrive: its slot, plus how late it actually left,
  plus the tail (the margin and the caller's lag, for the way to the upstream), the larger of the
  grant's tail and the caller's now: a process that began to lag after the grant (a burst of work
  after a calm spell) has its call counted as that much later. A report for an entry no longer in the
  log (forgotten, or released) changes nothing.
  KEYS: 1 the account's window log (hash)
  ARGV: 1 grant number, 2 how late the call left, µs (its lateness at the last check), 3 the caller's
        tail now (margin + recent lag), µs
  Returns 1 when the entry changed, else 0.
]]
local entry = redis.call('HGET', KEYS[1], ARGV[1])
if not entry then return 0 end
local first = string.find(entry, '|', 1, true)
local second = string.find(entry, '|', first + 1, true)
local slot = tonumber(string.sub(entry, 1, first - 1))
local reach = tonumber(string.sub(entry, first + 1, second - 1))
local tail = math.max(tonumber(string.sub(entry, second + 1)), tonumber(ARGV[3]))
local actual = slot + math.max(0, tonumber(ARGV[2])) + tail
if actual == reach then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%.0f|%.0f|%.0f', slot, actual, tail))
return 1
