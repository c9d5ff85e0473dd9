--[[
  An entry of an account's window log (see gate.lua): '<slot>|<reach>|<tail>', µs of Redis time.
]]
-- Its fields: the slot as written (a string, so that a grant is named exactly), reach and tail.
local function readEntry(entry)
  local first = string.find(entry, '|', 1, true)
  local second = string.find(entry, '|', first + 1, true)
  return string.sub(entry, 1, first - 1), tonumber(string.sub(entry, first + 1, second - 1)),
    tonumber(string.sub(entry, second + 1))
end

-- '%.0f': Lua's default number format keeps 14 digits, too few for µs since the epoch.
local function writeEntry(key, number, slot, reach, tail)
  redis.call('HSET', key, number, string.format('%.0f|%.0f|%.0f', slot, reach, tail))
end
