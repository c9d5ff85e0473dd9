--[[
  The per-account gate: check and grant in one atomic step on one clock (Redis TIME), shared by
  every worker process. See docs/design.md, "The gate".

  Slots (GCRA, virtual scheduling): `tat` is the account's next free slot; a grant takes the slot
  `max(now, tat)` and pushes `tat` on by the spacing, (1000 ms + margin) / rate, so any `rate`
  granted slots span at least 1000 ms + margin. A call that leaves within the tolerance after its
  slot and reaches the upstream within the margin keeps every sliding second at `rate` calls or
  fewer. Only a job at the gate is granted a slot, and only one within `maxWait`: it waits for it in
  its worker slot. A slot is a time, never reserved ahead for a job, so it cannot be lost.

  The line: a job that cannot have the next slot parks (BullMQ delayed, priority 0 so it comes back
  before new jobs) until shortly before its turn, an estimate kept in the account's line (sorted set:
  job id -> turn µs). A job in the line takes the next slot whenever it is back and the slot is near,
  however late it is: lateness costs the time that passed, not its place. Back early, or behind
  others who are back, it parks again after those ahead of it. A new job is granted only while
  nobody waits in line; else it takes the place after the last. A place is forgotten a minute after
  its turn (the job was removed, or died with its worker): back later, the job joins as new.

  Before any of that: a finished marker (done 'd…' or dead 'x…') under the job id or the shipment
  key ends the job without a call; a caller that no longer holds the job's lock is told 'lost'; a
  call of this job still in flight elsewhere answers 'busy' (or 'stale' once surely over); a held
  account parks the job in its parked set, to be promoted on resume.

  The window log: what each grant may still cost. Spacing alone keeps any `rate` slots 1000 ms +
  margin apart, which holds the limit only for calls that leave on time. A call may leave late, by
  up to its allowance (the tolerance plus its process's recent event-loop lag), and that lateness
  crowds the second that begins at its arrival. So each grant is written to the account's window log
  (KEYS 10: grant number -> '<slot>|<reach>|<tail>', µs), where reach is the latest the call may
  arrive at the upstream: its slot, plus its allowance, plus the most the way to the upstream may
  take (the margin plus twice the most lag a caller ever reports, ARGV 16). The tail is the grant's
  own estimate of that way (the margin plus twice the caller's lag now). The grant `rate` grants
  later is never before reach plus 1000 ms. Once the call has passed its last check, its process
  reports how late it actually was and its lag then (sent.lua), and its reach drops to slot + actual
  lateness + the larger tail; a grant whose call was never sent is released by the job's next gate
  call (ARGV 14) and constrains nothing. A report or release names the grant by number and slot, so
  a number issued again (Redis lost writes) is never mistaken for another call. Lateness thus costs
  the window after it what it actually took; a report lost or late leaves the cautious reach, which
  costs rate, never the bound. The rate is the account's published one (field `rate`, like the
  spacing), so every process looks back as far.
  The spacing is the account's published one (field `spacing`, written by publish.lua at start-up,
  so every process enforces the same rate), or the caller's own when none is published; likewise the
  margin (field `margin`).

  A grant writes the ledger's in-flight mark (ARGV 9, 10 into KEYS 6) and the live-call key
  (KEYS 8: `<call id>|<deadline ms>`, the deadline being the slot plus ARGV 13).

  KEYS: 1 account hash, 2 the line (sorted set), 3 parked set, 4 the job id's marker, 5 the job's
        BullMQ hash, 6 the hash a grant writes to, 7 the shipment key's marker, 8 the live-call key,
        9 the job's BullMQ lock key, 10 the account's window log (hash)
  ARGV: 1 job id, 2 the caller's spacing µs, 3 max wait µs, 4 tolerance µs, 5 parked member,
        6 'first' | 'again' (the job reached a granted slot too late to send: it is first in line),
        7 the caller's recent lag µs, 8 rate per second, 9 field a grant writes ('' for none),
        10 its value, 11 the caller's lock token ('' to skip), 12 the call id a grant starts,
        13 how long after its slot a call is surely over, ms, 14 this job's last grant if its call
        was not sent, '<number>|<slot µs>' ('' for none), 15 the caller's margin µs, 16 the most lag
        a caller reports, µs
  Returns {'marker', value} | {'lost'} | {'busy', deadline ms} | {'stale', call id}
        | {'held', reason, code, since} | {'grant', slot µs, now µs, allowance µs, grant number}
        | {'park', turn µs, now µs}
]]
--- @include "window-entry"
local LINE_MEMORY = 60000000
local WINDOW = 1000000

-- A grant of this job that was never sent constrains nothing, whatever the job is told now.
if ARGV[14] ~= '' then
  local bar = string.find(ARGV[14], '|', 1, true)
  local number = string.sub(ARGV[14], 1, bar - 1)
  local entry = redis.call('HGET', KEYS[10], number)
  if entry and readEntry(entry) == string.sub(ARGV[14], bar + 1) then redis.call('HDEL', KEYS[10], number) end
end

for _, key in ipairs({KEYS[4], KEYS[7]}) do
  local marker = redis.call('GET', key)
  if marker then
    local kind = string.sub(marker, 1, 1)
    if kind == 'd' or kind == 'x' then
      redis.call('ZREM', KEYS[2], ARGV[1])
      return {'marker', marker}
    end
  end
end
if ARGV[11] ~= '' and redis.call('GET', KEYS[9]) ~= ARGV[11] then return {'lost'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local live = ARGV[12] ~= '' and redis.call('GET', KEYS[8])
if live then
  local bar = string.find(live, '|', 1, true)
  local liveCall = string.sub(live, 1, bar - 1)
  if liveCall ~= ARGV[12] then
    local deadline = tonumber(string.sub(live, bar + 1))
    if deadline * 1000 > now then return {'busy', deadline} end
    return {'stale', liveCall}
  end
end
local acct = redis.call('HMGET', KEYS[1], 'tat', 'held', 'reason', 'code', 'since', 'spacing',
  'margin', 'rate', 'seq')
if acct[2] then
  redis.call('SADD', KEYS[3], ARGV[5])
  return {'held', acct[3] or '', acct[4] or '', acct[5] or ''}
end
local maxWait = tonumber(ARGV[3])
local ownLag = tonumber(ARGV[7])
local rate = tonumber(acct[8]) or tonumber(ARGV[8])
local base = tonumber(acct[6]) or tonumber(ARGV[2])
local margin = tonumber(acct[7]) or tonumber(ARGV[15])
-- '%.0f': Lua's default number format keeps 14 digits, too few for µs since the epoch.
local function us(value) return string.format('%.0f', value) end
local number = (tonumber(acct[9]) or 0) + 1
local slot = math.max(now, tonumber(acct[1]) or 0)
-- The window: a second after the latest arrival of the call `rate` grants back (if it may be sent).
local back = redis.call('HGET', KEYS[10], number - rate)
if back then
  local _, reach = readEntry(back)
  slot = math.max(slot, reach + WINDOW)
end
local allowance = tonumber(ARGV[4]) + ownLag
local function grant()
  local tail = margin + 2 * ownLag
  local reach = slot + allowance + margin + 2 * tonumber(ARGV[16])
  redis.call('HSET', KEYS[1], 'tat', us(slot + base), 'seq', number)
  writeEntry(KEYS[10], number, slot, reach, tail)
  redis.call('HDEL', KEYS[10], number - rate)
  redis.call('PEXPIRE', KEYS[10], math.floor((slot - now) / 1000) + LINE_MEMORY / 1000)
  redis.call('ZREM', KEYS[2], ARGV[1])
  if ARGV[9] ~= '' then redis.call('HSET', KEYS[6], ARGV[9], ARGV[10]) end
  if ARGV[12] ~= '' then
    local deadline = math.floor(slot / 1000) + tonumber(ARGV[13])
    redis.call('SET', KEYS[8], ARGV[12] .. '|' .. us(deadline), 'PX', 604800000)
  end
  return {'grant', slot, now, allowance, number}
end
local function park(turn)
  redis.call('ZADD', KEYS[2], turn, ARGV[1])
  redis.call('PEXPIRE', KEYS[2], math.floor((turn - now) / 1000) + LINE_MEMORY / 1000)
  if redis.call('EXISTS', KEYS[5]) == 1 then redis.call('HSET', KEYS[5], 'priority', 0) end
  return {'park', turn, now}
end

-- Turns are estimated at the spacing, without what lateness may add to the windows: a job back too
-- late leaves its slot unused when nobody else is at the gate, while one back early only waits a
-- little longer in its worker slot, or parks again. A place in line is kept until a minute past its
-- turn (the job removed, or its worker gone).
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. us(now - LINE_MEMORY))
local turn = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1]))
if turn or ARGV[6] == 'again' then
  -- In line (or here again after a slot it reached too late): the next slot is its if near enough.
  if slot - now <= maxWait then return grant() end
  -- Back early, or behind others who are here: come back after those ahead of it in line.
  local ahead = turn and redis.call('ZRANK', KEYS[2], ARGV[1]) or 0
  return park(math.max(turn or 0, slot + ahead * base))
end
-- New: the next slot, unless others wait in line; then the place after the last of them.
local waiting = redis.call('ZCARD', KEYS[2])
if waiting == 0 and slot - now <= maxWait then return grant() end
return park(slot + waiting * base)
