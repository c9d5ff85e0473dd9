--[[
  A granted call has passed its last check and is being written to its socket: its window-log entry
  (see gate.lua) drops from the cautious reach written with the grant to the latest the call can now
  arrive: its slot, plus how late it actually left, plus the way to the upstream (the larger of the
  grant's tail and the caller's now: the margin plus twice its lag, so a process that began to lag
  after the grant has its call counted as that much later). Only ever lowers an entry, and only
  the entry of this grant (same number and slot): the cautious reach is an upper bound of every
  report a passed check can make, so a report lost, or landing after the grant `rate` later has
  read the entry, or after the entry was forgotten, costs rate, never the bound.
  KEYS: 1 the account's window log (hash)
  ARGV: 1 grant number, 2 its slot µs, 3 how late the call left, µs (its lateness at the last
        check), 4 the caller's tail now (margin + twice its recent lag), µs
  Returns 1 when the entry was lowered, else 0.
]]
--- @include "window-entry"
local entry = redis.call('HGET', KEYS[1], ARGV[1])
if not entry then return 0 end
local slotOf, reach, grantTail = readEntry(entry)
if slotOf ~= ARGV[2] then return 0 end
local slot = tonumber(ARGV[2])
local tail = math.max(grantTail, tonumber(ARGV[4]))
local actual = slot + math.max(0, tonumber(ARGV[3])) + tail
if actual >= reach then return 0 end
writeEntry(KEYS[1], ARGV[1], slot, actual, tail)
return 1
