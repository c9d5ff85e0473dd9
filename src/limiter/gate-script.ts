/**
 * The per-account gate, one Lua script so that check and grant are one atomic step on one clock
 * (Redis TIME), shared by every worker process.
 *
 * The bound lives in a log of real grants: per account, the slots of its most recent `n` grants
 * (n = the rate, at least 1). A new slot is never earlier than the n-th newest grant plus the window
 * (1000 ms + margin, longer for rates below 1/s), so any n + 1 consecutive grants span at least the
 * window; a call leaving at most the tolerance after its slot then lands in any sliding second with
 * at most n - 1 others, even with that much jitter between the grant and the request reaching the
 * upstream. Slots are also at least half a spacing apart (spacing = window / n), which smooths bursts.
 * Only grants enter the log, so a slot nobody took costs nothing: the next caller takes the earliest
 * time the log allows, usually "now". (A fixed-window reservoir, like Bottleneck's or BullMQ's
 * limiter, lets 2 × rate through around a window edge.)
 *
 * Which job goes when is a separate, softer schedule of turns: `turn` is the account's next free turn
 * and advances by one spacing per job let in (GCRA). A job whose turn is within `maxWait` is granted
 * the earliest slot from its turn on and waits for it in its worker slot. A later turn is written as
 * the job's ticket and the job is parked (BullMQ delayed) until just before it, giving its worker slot
 * back. Coming back with a ticket due, it takes the earliest slot the log allows, late or not: a
 * turn is a place in the queue, not a slot, and lateness loses nothing but the time it took. A job
 * back too early is parked again until its ticket; one due while the log is full (grants running
 * behind turns) is parked until the log's earliest slot, keeping its priority.
 *
 * A caller that reached its slot too late to send gives it back (ARGV 9): the slot leaves the log
 * (removing a grant that was never sent only loosens the bound) and the caller is served as a ticket
 * holder, ahead of jobs not yet let in.
 *
 * Before any of that: a finished-marker (done 'd…' or dead 'x…') ends the job without a call, and a
 * held account parks the job in the account's parked set, to be promoted on resume (its ticket is
 * dropped: resumed, it queues afresh).
 *
 * A job parked for its turn gets BullMQ priority 0 on its hash (what `Job.changePriority` writes for an
 * active job): when its delay ends BullMQ puts it on the wait list, which workers empty before the
 * prioritized set where new jobs wait (they are enqueued at priority 1). It is back for its turn even
 * with thousands of new jobs queued, instead of behind them.
 *
 * Rate and margin: the account hash holds the ones last published (by a process starting with its
 * configuration); every caller enforces those, so processes started with different settings agree
 * within one gate call. ARGV 2 and 3 (the caller's own) apply only while none is published.
 *
 * Delay widens the window, as extra margin while processes are slow: each caller reports its recent
 * delay (event-loop lag, or check-to-wire time beyond what the margin covers); the account keeps the
 * worst any caller reported within LAG_MEMORY (`lag`, `lagAt`), and every grant's window grows by
 * twice it.
 *
 * A grant can write one hash field with it (ARGV 7 and 8 into KEYS 6): the ledger's in-flight mark,
 * which must exist before the request leaves; written here it costs no round trip of its own.
 *
 * Ownership: one call per job at a time, whoever runs it. A caller that no longer holds the job's
 * BullMQ lock (ARGV 10 against KEYS 9) is told 'lost' and must not call. A grant also writes the job's
 * live-call key (KEYS 8: `<call id>|<deadline ms>`, the deadline being the slot plus ARGV 12, past the
 * longest a call can take); while another call's deadline has not passed the gate answers 'busy', and
 * once it has, 'stale' with that call's id, for the caller to record it as a charge unknown first.
 * The finished-markers are read under the job id (KEYS 4) and under the shipment key derived from the
 * job's data (KEYS 7), so a job whose id is not its key still finds its shipment done.
 *
 * KEYS: 1 account hash, 2 tickets hash, 3 parked set, 4 the job id's marker, 5 the job's BullMQ hash,
 *       6 the hash a grant writes to (any key when ARGV 7 is ''), 7 the shipment key's marker,
 *       8 the live-call key, 9 the job's BullMQ lock key, 10 grant log (list)
 * ARGV: 1 job id, 2 rate per second, 3 margin µs, 4 max wait µs, 5 parked member, 6 the caller's
 *       recent delay µs, 7 field a grant writes ('' for none), 8 its value, 9 a slot (µs) this caller
 *       was granted and did not use ('' for none), 10 the caller's lock token ('' to skip the check),
 *       11 the call id a grant starts, 12 how long after its slot a call is surely over, ms
 * Returns {'marker', value} | {'lost'} | {'busy', deadline ms} | {'stale', call id} | {'held', reason, code, since} | {'grant', slot µs, now µs, margin µs}
 *       | {'park', turn µs, now µs}
 */
/** How long a reported delay keeps widening an account's window: a second's window and the one before. */
export const LAG_MEMORY_US = 2_000_000;

export const GATE_SCRIPT = `
if ARGV[9] ~= '' then redis.call('LREM', KEYS[10], 1, ARGV[9]) end
for _, key in ipairs({KEYS[4], KEYS[7]}) do
  local marker = redis.call('GET', key)
  if marker then
    local kind = string.sub(marker, 1, 1)
    if kind == 'd' or kind == 'x' then return {'marker', marker} end
  end
end
if ARGV[10] ~= '' and redis.call('GET', KEYS[9]) ~= ARGV[10] then return {'lost'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local live = ARGV[11] ~= '' and redis.call('GET', KEYS[8])
if live then
  local bar = string.find(live, '|', 1, true)
  local liveCall = string.sub(live, 1, bar - 1)
  if liveCall ~= ARGV[11] then
    local deadline = tonumber(string.sub(live, bar + 1))
    if deadline * 1000 > now then return {'busy', deadline} end
    return {'stale', liveCall}
  end
end
local acct = redis.call('HMGET', KEYS[1], 'turn', 'held', 'reason', 'code', 'since', 'lag', 'lagAt', 'rate', 'margin')
if acct[2] then
  redis.call('SADD', KEYS[3], ARGV[5])
  redis.call('HDEL', KEYS[2], ARGV[1])
  return {'held', acct[3] or '', acct[4] or '', acct[5] or ''}
end
local maxWait = tonumber(ARGV[4])
local rate = tonumber(acct[8]) or tonumber(ARGV[2])
local margin = tonumber(acct[9]) or tonumber(ARGV[3])
local ownLag = tonumber(ARGV[6])
-- The account's delay: the worst any caller reported within LAG_MEMORY; the caller's own replaces an
-- older or smaller one (written when it grows, or every 250 ms to keep it remembered).
local lag = tonumber(acct[6]) or 0
local lagAt = tonumber(acct[7]) or 0
if lagAt < now - ${LAG_MEMORY_US} or ownLag >= lag then
  if ownLag > lag or (ownLag > 0 and lagAt < now - 250000) then
    redis.call('HSET', KEYS[1], 'lag', ownLag, 'lagAt', string.format('%.0f', now))
  end
  lag = ownLag
end
-- n grants per window; below 1/s, one grant per 1/rate seconds.
local n = math.max(1, math.floor(rate))
local window = math.ceil(1000000 * math.max(1, n / rate)) + margin + 2 * lag
local spacing = math.ceil(window / n)
local function earliest()
  local slot = now
  local newest = tonumber(redis.call('LINDEX', KEYS[10], 0))
  if newest and newest + math.floor(spacing / 2) > slot then slot = newest + math.floor(spacing / 2) end
  local nth = tonumber(redis.call('LINDEX', KEYS[10], n - 1))
  if nth and nth + window > slot then slot = nth + window end
  return slot
end
local function grant(slot)
  -- '%.0f': Lua's default number format keeps 14 digits, too few for µs since the epoch.
  redis.call('LPUSH', KEYS[10], string.format('%.0f', slot))
  redis.call('LTRIM', KEYS[10], 0, n - 1)
  redis.call('PEXPIRE', KEYS[10], math.floor((slot - now + window) / 1000) + 1000)
  if ARGV[7] ~= '' then redis.call('HSET', KEYS[6], ARGV[7], ARGV[8]) end
  if ARGV[11] ~= '' then
    local deadline = math.floor(slot / 1000) + tonumber(ARGV[12])
    redis.call('SET', KEYS[8], ARGV[11] .. '|' .. string.format('%.0f', deadline), 'PX', 604800000)
  end
  return {'grant', string.format('%.0f', slot), string.format('%.0f', now), margin + 2 * lag}
end
local function park(turn)
  redis.call('HSET', KEYS[2], ARGV[1], string.format('%.0f', turn))
  redis.call('PEXPIRE', KEYS[2], math.max(redis.call('PTTL', KEYS[2]), math.floor((turn - now) / 1000) + 60000))
  if redis.call('EXISTS', KEYS[5]) == 1 then redis.call('HSET', KEYS[5], 'priority', 0) end
  return {'park', string.format('%.0f', turn), string.format('%.0f', now)}
end
local ticket = tonumber(redis.call('HGET', KEYS[2], ARGV[1]))
if ARGV[9] ~= '' then ticket = now end
if ticket then
  if ticket - now > maxWait then return park(ticket) end
  local slot = earliest()
  if slot - now > maxWait then return park(slot) end
  redis.call('HDEL', KEYS[2], ARGV[1])
  return grant(slot)
end
local turn = tonumber(acct[1]) or 0
if turn < now then turn = now end
if turn - now > maxWait then
  redis.call('HSET', KEYS[1], 'turn', string.format('%.0f', turn + spacing))
  return park(turn)
end
local slot = earliest()
if slot < turn then slot = turn end
redis.call('HSET', KEYS[1], 'turn', string.format('%.0f', slot + spacing))
if slot - now > maxWait then return park(slot) end
return grant(slot)
`;

/**
 * Resume: clear the hold, record account.resumed in the outbox (while it exists), and hand back the
 * parked set so the caller can promote those jobs. The schedule (turns, tickets, the grant log) stays:
 * grants made before the hold still count against the bound. An account that is not held is left
 * alone, nothing is recorded and nothing handed back.
 * KEYS: 1 account hash, 2 parked set, 3 outbox. ARGV: event time (ms), event data JSON.
 * Returns the parked members, or false when the account was not held.
 */
export const RESUME_SCRIPT = `
if redis.call('HEXISTS', KEYS[1], 'held') == 0 then return false end
redis.call('HDEL', KEYS[1], 'held', 'reason', 'code', 'message', 'since')
local parked = redis.call('SMEMBERS', KEYS[2])
redis.call('DEL', KEYS[2])
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('XADD', KEYS[3], '*', 'type', 'account.resumed', 'at', ARGV[1], 'data', ARGV[2])
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

/**
 * Publish: the rate and margin this process was configured with become the account's, for every
 * process, unless they already are. KEYS: account hashes. ARGV: per key, rate then margin µs.
 * Returns how many accounts changed.
 */
export const PUBLISH_SCRIPT = `
local changed = 0
for i = 1, #KEYS do
  local current = redis.call('HMGET', KEYS[i], 'rate', 'margin')
  if current[1] ~= ARGV[2 * i - 1] or current[2] ~= ARGV[2 * i] then
    redis.call('HSET', KEYS[i], 'rate', ARGV[2 * i - 1], 'margin', ARGV[2 * i])
    changed = changed + 1
  end
end
return changed
`;
