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
 * KEYS: 1 account hash, 2 reservations hash, 3 parked set, 4 the job's idempotency marker
 * ARGV: 1 job id, 2 spacing µs, 3 max wait µs, 4 late tolerance µs, 5 parked member, 6 'claim' | 'fresh'
 * Returns {'marker', value} | {'held', reason, code, since} | {'grant'|'park', slot µs, now µs}
 */
export const GATE_SCRIPT = `
local marker = redis.call('GET', KEYS[4])
if marker then
  local kind = string.sub(marker, 1, 1)
  if kind == 'd' or kind == 'x' then return {'marker', marker} end
end
local acct = redis.call('HMGET', KEYS[1], 'tat', 'held', 'reason', 'code', 'since')
if acct[2] then
  redis.call('SADD', KEYS[3], ARGV[5])
  return {'held', acct[3] or '', acct[4] or '', acct[5] or ''}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local late = tonumber(ARGV[4])
local maxWait = tonumber(ARGV[3])
if ARGV[6] == 'claim' then
  local reserved = redis.call('HGET', KEYS[2], ARGV[1])
  if reserved then
    reserved = tonumber(reserved)
    if now <= reserved + late then
      if reserved - now <= maxWait then
        redis.call('HDEL', KEYS[2], ARGV[1])
        return {'grant', reserved, now}
      end
      return {'park', reserved, now}
    end
    redis.call('HDEL', KEYS[2], ARGV[1])
  end
end
local slot = tonumber(acct[1]) or 0
if slot < now then slot = now end
-- '%.0f': Lua's default number format keeps 14 digits, too few for µs since the epoch.
redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', slot + tonumber(ARGV[2])))
if slot - now <= maxWait then return {'grant', slot, now} end
redis.call('HSET', KEYS[2], ARGV[1], string.format('%.0f', slot))
redis.call('PEXPIRE', KEYS[2], math.floor((slot - now) / 1000) + 60000)
return {'park', slot, now}
`;

/**
 * Resume: clear the hold, forget the schedule and every reservation (they were made before the hold;
 * the parked jobs queue afresh), and hand back the parked set so the caller can promote those jobs.
 * KEYS: 1 account hash, 2 reservations hash, 3 parked set. Returns the parked members.
 */
export const RESUME_SCRIPT = `
redis.call('HDEL', KEYS[1], 'held', 'reason', 'code', 'message', 'since', 'tat')
redis.call('DEL', KEYS[2])
local parked = redis.call('SMEMBERS', KEYS[3])
redis.call('DEL', KEYS[3])
return parked
`;

/**
 * Hold: mark the account held unless it already is (the first reason wins and `since` stays).
 * KEYS: 1 account hash. ARGV: reason, code, message, since (ms). Returns 1 when newly held.
 */
export const HOLD_SCRIPT = `
if redis.call('HEXISTS', KEYS[1], 'held') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'held', '1', 'reason', ARGV[1], 'code', ARGV[2], 'message', ARGV[3], 'since', ARGV[4])
return 1
`;
