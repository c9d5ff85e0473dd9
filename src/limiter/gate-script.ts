/**
 * The per-account gate, one Lua script so that check and reservation are one atomic step on one clock
 * (Redis TIME), shared by every worker process.
 *
 * The schedule is GCRA (virtual scheduling): `tat` is the account's next free slot; each call takes
 * the slot `max(now, tat)` and pushes `tat` on by `spacing` = (1000 ms + margin) / rate. Slots are
 * therefore at least 1000 ms + margin apart for every `rate` calls, and a call sent within `late` µs
 * after its slot lands in any sliding second with at most `rate` others, even with that much jitter
 * between the grant and the request reaching the upstream. (A fixed-window reservoir, like Bottleneck's
 * or BullMQ's limiter, lets 2 × rate through around a window edge.)
 *
 * A slot within `maxWait` is granted: the caller waits for it in its worker slot. A later slot is
 * reserved for this job id and the caller parks the job (BullMQ delayed) until just before it, giving
 * its worker slot back; coming back, the job claims its reservation. A job that comes back more than
 * `late` after its slot has lost it and queues again.
 *
 * Before any of that: a finished-marker (done 'd…' or dead 'x…') ends the job without a call, and a
 * held account parks the job in the account's parked set, to be promoted on resume.
 *
 * A job parked for its turn gets BullMQ priority 0 on its hash (what `Job.changePriority` writes for an
 * active job): when its delay ends BullMQ puts it on the wait list, which workers empty before the
 * prioritized set where new jobs wait (they are enqueued at priority 1). It is back for its slot even
 * with thousands of new jobs queued, instead of behind them, too late, its slot lost.
 *
 * Lateness: every call may leave at most the tolerance after its slot, whoever sends it; the margin
 * pays for that plus the way from the check to the upstream. Earlier versions let a lagging process
 * leave later by its own lag and paid for it in the spacing of the slots around it; the long load and
 * crash tests found 11 calls in a second twice that way (the slots after a late one had been spaced
 * by other processes, or before the lag was known), so the allowance is gone.
 *
 * Lag still widens spacing, as extra margin while processes are busy (when the way from check to
 * wire is slowest): the account keeps the worst event-loop lag any caller reported within LAG_MEMORY
 * (`lag`, `lagAt`), and every slot due within that time is spaced by twice it over a window.
 *
 * A grant can write one hash field with it (ARGV 9 and 10 into KEYS 6): the ledger's in-flight mark,
 * which must exist before the request leaves; written here it costs no round trip of its own.
 *
 * Ownership: one call per job at a time, whoever runs it. A caller that no longer holds the job's
 * BullMQ lock (ARGV 11 against KEYS 9) is told 'lost' and must not call. A grant also writes the job's
 * live-call key (KEYS 8: `<call id>|<deadline ms>`, the deadline being the slot plus ARGV 13, past the
 * longest a call can take); while another call's deadline has not passed the gate answers 'busy', and
 * once it has, 'stale' with that call's id, for the caller to record it as a charge unknown first.
 * The finished-markers are read under the job id (KEYS 4) and under the shipment key derived from the
 * job's data (KEYS 7), so a job whose id is not its key still finds its shipment done.
 *
 * KEYS: 1 account hash, 2 reservations hash, 3 parked set, 4 the job id's marker, 5 the job's BullMQ
 *       hash, 6 the hash a grant writes to (any key when ARGV 9 is ''), 7 the shipment key's marker,
 *       8 the live-call key, 9 the job's BullMQ lock key
 * ARGV: 1 job id, 2 base spacing µs ((1000 ms + margin) / rate), 3 max wait µs, 4 late tolerance µs,
 *       5 parked member, 6 'claim' | 'fresh', 7 the caller's recent lag µs, 8 rate per second,
 *       9 field a grant writes ('' for none), 10 its value, 11 the caller's lock token ('' to skip the
 *       check), 12 the call id a grant starts, 13 how long after its slot a call is surely over, ms
 * Returns {'marker', value} | {'lost'} | {'busy', deadline ms} | {'stale', call id}
 *       | {'held', reason, code, since} | {'grant', slot µs, now µs, allowed late µs}
 *       | {'park', slot µs, now µs}
 */
/** How long a reported lag keeps spacing an account's slots: a second's window and the one before. */
export const LAG_MEMORY_US = 2_000_000;

export const GATE_SCRIPT = `
for _, key in ipairs({KEYS[4], KEYS[7]}) do
  local marker = redis.call('GET', key)
  if marker then
    local kind = string.sub(marker, 1, 1)
    if kind == 'd' or kind == 'x' then return {'marker', marker} end
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
local acct = redis.call('HMGET', KEYS[1], 'tat', 'held', 'reason', 'code', 'since', 'lag', 'lagAt')
if acct[2] then
  redis.call('SADD', KEYS[3], ARGV[5])
  return {'held', acct[3] or '', acct[4] or '', acct[5] or ''}
end
local tolerance = tonumber(ARGV[4])
local maxWait = tonumber(ARGV[3])
local ownLag = tonumber(ARGV[7])
-- The account's lag: the worst any caller reported within LAG_MEMORY; the caller's own replaces an
-- older or smaller one (written when it grows, or every 250 ms to keep it remembered).
local lag = tonumber(acct[6]) or 0
local lagAt = tonumber(acct[7]) or 0
if lagAt < now - ${LAG_MEMORY_US} or ownLag >= lag then
  if ownLag > lag or (ownLag > 0 and lagAt < now - 250000) then
    redis.call('HSET', KEYS[1], 'lag', ownLag, 'lagAt', string.format('%.0f', now))
  end
  lag = ownLag
end
local function parkJob()
  if redis.call('EXISTS', KEYS[5]) == 1 then redis.call('HSET', KEYS[5], 'priority', 0) end
end
local function grant(slot)
  if ARGV[9] ~= '' then redis.call('HSET', KEYS[6], ARGV[9], ARGV[10]) end
  if ARGV[12] ~= '' then
    local deadline = math.floor(slot / 1000) + tonumber(ARGV[13])
    redis.call('SET', KEYS[8], ARGV[12] .. '|' .. string.format('%.0f', deadline), 'PX', 604800000)
  end
  return {'grant', slot, now, tolerance}
end
if ARGV[6] == 'claim' then
  local reservation = redis.call('HGET', KEYS[2], ARGV[1])
  if reservation then
    local reserved = tonumber(reservation)
    if now <= reserved + tolerance then
      if reserved - now <= maxWait then
        redis.call('HDEL', KEYS[2], ARGV[1])
        return grant(reserved)
      end
      parkJob()
      return {'park', reserved, now}
    end
    redis.call('HDEL', KEYS[2], ARGV[1])
  end
end
local slot = tonumber(acct[1]) or 0
if slot < now then slot = now end
-- Lag is paid for in slots due within LAG_MEMORY: a lag says nothing about how late a call due later
-- will be. A later slot is spaced without it.
local paid = lag
if slot - now > ${LAG_MEMORY_US} then paid = 0 end
local spacing = tonumber(ARGV[2]) + math.ceil(2 * paid / tonumber(ARGV[8]))
-- '%.0f': Lua's default number format keeps 14 digits, too few for µs since the epoch.
redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', slot + spacing))
if slot - now <= maxWait then return grant(slot) end
redis.call('HSET', KEYS[2], ARGV[1], string.format('%.0f', slot))
redis.call('PEXPIRE', KEYS[2], math.floor((slot - now) / 1000) + 60000)
parkJob()
return {'park', slot, now}
`;

/**
 * Resume: clear the hold, forget the schedule and every reservation (they were made before the hold;
 * the parked jobs queue afresh), record account.resumed in the outbox (while it exists), and hand
 * back the parked set so the caller can promote those jobs. An account that is not held is left as
 * it is (its schedule stays: slots already granted must keep their spacing) and nothing is recorded.
 * KEYS: 1 account hash, 2 reservations hash, 3 parked set, 4 outbox. ARGV: event time (ms), event
 * data JSON. Returns the parked members, or false when the account was not held.
 */
export const RESUME_SCRIPT = `
if redis.call('HEXISTS', KEYS[1], 'held') == 0 then return false end
redis.call('HDEL', KEYS[1], 'held', 'reason', 'code', 'message', 'since', 'tat')
redis.call('DEL', KEYS[2])
local parked = redis.call('SMEMBERS', KEYS[3])
redis.call('DEL', KEYS[3])
if redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('XADD', KEYS[4], '*', 'type', 'account.resumed', 'at', ARGV[1], 'data', ARGV[2])
end
return parked
`;

/**
 * Hold: mark the account held unless it already is (the first reason wins and `since` stays), and
 * record account.held in the outbox (while it exists). KEYS: 1 account hash, 2 outbox. ARGV: reason,
 * code, message, since (ms), event data JSON. Returns 1 when newly held.
 */
export const HOLD_SCRIPT = `
if redis.call('HEXISTS', KEYS[1], 'held') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'held', '1', 'reason', ARGV[1], 'code', ARGV[2], 'message', ARGV[3], 'since', ARGV[4])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('XADD', KEYS[2], '*', 'type', 'account.held', 'at', ARGV[4], 'data', ARGV[5])
end
return 1
`;
