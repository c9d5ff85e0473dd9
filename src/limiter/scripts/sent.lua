--[[
  A granted call has passed its last check and is being written to its socket: its window-log entry
  (see gate.lua) drops from the latest it might have arrived to the latest it can now arrive, its
  slot plus how late it actually was plus the entry's tail. Only ever lowers an entry, and only one
  still in the log: a report that comes after the entry was forgotten, or after a grant already
  used the cautious reach, changes nothing that could raise a window.
  KEYS: 1 the account's window log (hash)
  ARGV: 1 grant number, 2 how late the call left, µs (its lateness at the last check)
  Returns 1 when the entry was lowered, else 0.
]]
local entry = redis.call('HGET', KEYS[1], ARGV[1])
if not entry then return 0 end
local first = string.find(entry, '|', 1, true)
local second = string.find(entry, '|', first + 1, true)
local slot = tonumber(string.sub(entry, 1, first - 1))
local reach = tonumber(string.sub(entry, first + 1, second - 1))
local tail = tonumber(string.sub(entry, second + 1))
local actual = slot + math.max(0, tonumber(ARGV[2])) + tail
if actual >= reach then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%.0f|%.0f|%.0f', slot, actual, tail))
return 1
