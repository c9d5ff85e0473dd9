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

  Lag widens spacing: the account keeps the worst event-loop lag callers reported, per quarter
  second of slots (`lag0`..`lag7`), and spaces every slot within LAG_MEMORY after a report by twice
  the worst over the rate. A caller may send late by the tolerance plus its own lag, and no later
  (its process checks that again at the socket: src/upstreams/wire-check.ts): one lag pays for that
  allowance. The other is for the way from the socket to the upstream's clock, which the margin's
  fixed 10 ms does not cover on a host that lags: measured here (the long crash and load tests,
  workers and the sandbox sharing 2 cores), with the lag counted once the upstream saw 11 calls in
  a second, its arrival stamps 40 ms behind while every send had passed its check.
  The spacing is the account's published one (field `spacing`, written by publish.lua at start-up,
  so every process enforces the same rate), or the caller's own when none is published.

  A grant writes the ledger's in-flight mark (ARGV 9, 10 into KEYS 6) and the live-call key
  (KEYS 8: `<call id>|<deadline ms>`, the deadline being the slot plus ARGV 13).

  KEYS: 1 account hash, 2 the line (sorted set), 3 parked set, 4 the job id's marker, 5 the job's
        BullMQ hash, 6 the hash a grant writes to, 7 the shipment key's marker, 8 the live-call key,
        9 the job's BullMQ lock key
  ARGV: 1 job id, 2 the caller's spacing µs, 3 max wait µs, 4 tolerance µs, 5 parked member,
        6 'first' | 'again' (the job reached a granted slot too late to send: it is first in line),
        7 the caller's recent lag µs, 8 rate per second, 9 field a grant writes ('' for none),
        10 its value, 11 the caller's lock token ('' to skip), 12 the call id a grant starts,
        13 how long after its slot a call is surely over, ms
  Returns {'marker', value} | {'lost'} | {'busy', deadline ms} | {'stale', call id}
        | {'held', reason, code, since} | {'grant', slot µs, now µs, tolerance µs}
        | {'park', turn µs, now µs}
]]
local LAG_MEMORY = 2000000
local LINE_MEMORY = 60000000

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
  'lag0', 'lag1', 'lag2', 'lag3', 'lag4', 'lag5', 'lag6', 'lag7')
if acct[2] then
  redis.call('SADD', KEYS[3], ARGV[5])
  return {'held', acct[3] or '', acct[4] or '', acct[5] or ''}
end
local maxWait = tonumber(ARGV[3])
local ownLag = tonumber(ARGV[7])
local rate = tonumber(ARGV[8])
local base = tonumber(acct[6]) or tonumber(ARGV[2])
-- '%.0f': Lua's default number format keeps 14 digits, too few for µs since the epoch.
local function us(value) return string.format('%.0f', value) end
local slot = math.max(now, tonumber(acct[1]) or 0)
-- The account's lag: the worst any caller reported for a slot within LAG_MEMORY before this one,
-- kept per quarter second of slots (fields lag0..lag7, '<quarter>:<lag µs>'). A caller may be late
-- by its own lag on top of the tolerance, so every gap in the second after its slot must be widened
-- for it, whoever grants those slots; older reports no longer widen anything.
local quarter = math.floor(slot / 250000)
local lag = ownLag
-- This quarter's report so far (0 when none): only a worse one is written.
local thisQuarter = 0
for i = 1, 8 do
  local kept = acct[6 + i]
  if kept then
    local colon = string.find(kept, ':', 1, true)
    local q = tonumber(string.sub(kept, 1, colon - 1))
    local keptLag = tonumber(string.sub(kept, colon + 1))
    if q > quarter - 8 then lag = math.max(lag, keptLag) end
    if q == quarter then thisQuarter = keptLag end
  end
end
if ownLag > thisQuarter then redis.call('HSET', KEYS[1], 'lag' .. (quarter % 8), quarter .. ':' .. ownLag) end
local spacing = base + math.ceil(2 * lag / rate)
local function grant()
  redis.call('HSET', KEYS[1], 'tat', us(slot + spacing))
  redis.call('ZREM', KEYS[2], ARGV[1])
  if ARGV[9] ~= '' then redis.call('HSET', KEYS[6], ARGV[9], ARGV[10]) end
  if ARGV[12] ~= '' then
    local deadline = math.floor(slot / 1000) + tonumber(ARGV[13])
    redis.call('SET', KEYS[8], ARGV[12] .. '|' .. us(deadline), 'PX', 604800000)
  end
  return {'grant', slot, now, tonumber(ARGV[4]) + ownLag}
end
local function park(turn)
  redis.call('ZADD', KEYS[2], turn, ARGV[1])
  redis.call('PEXPIRE', KEYS[2], math.floor((turn - now) / 1000) + LINE_MEMORY / 1000)
  if redis.call('EXISTS', KEYS[5]) == 1 then redis.call('HSET', KEYS[5], 'priority', 0) end
  return {'park', turn, now}
end

-- Turns are estimated at the spacing without lag, which may be gone by then: a job back too late
-- leaves its slot unused when nobody else is at the gate, while one back early only waits a little
-- longer in its worker slot, or parks again. A place in line is kept until a minute past its turn
-- (the job removed, or its worker gone).
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
