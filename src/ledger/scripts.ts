import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A Lua script run by EVALSHA, falling back to EVAL (which also caches it on the server) the first
 * time a server has not seen it: one round trip per call once warm. Every key it touches is passed
 * in KEYS, so it runs on a cluster when the keys share a hash tag.
 */
export class LuaScript {
  readonly sha: string;

  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      // NOSCRIPT: this server (or a failover replica) has not cached it yet; EVAL loads and runs it.
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return await redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}

/**
 * Settle one call. KEYS: 1 inflight, 2 entries, 3 byTime, 4 the job's live-call key (any key when
 * ARGV[6] is ''), 5 the event outbox stream, 6 a set to remove ARGV[10] from (the account's backlog,
 * when the job finishes; any key when ARGV[10] is ''), 7… keys to set in the same step. ARGV: 1 call
 * id, 2 member, 3 entry JSON ('' when the answer charged nothing), 4 the value to set, 5 its time to
 * live in ms ('' for none), 6 '1' when KEYS[4] is the live-call key, 7 an event type ('' for none),
 * 8 its time (epoch ms), 9 its data JSON, 10 the set member to remove ('' for none). The in-flight mark always goes, and the live-call key when it
 * still names this call (another run's call is not ours to end); HSETNX writes the entry only if
 * there is none for this call yet, so a redelivered or concurrent settle of the same call counts
 * once. The event goes to the outbox only while the outbox exists (a consumer group made it). Returns
 * 1 when it wrote the entry, else 0.
 */
export const SETTLE = new LuaScript(`
redis.call('HDEL', KEYS[1], ARGV[1])
if ARGV[6] == '1' then
  local live = redis.call('GET', KEYS[4])
  if live and string.sub(live, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then redis.call('DEL', KEYS[4]) end
end
if ARGV[10] ~= '' then redis.call('SREM', KEYS[6], ARGV[10]) end
for i = 7, #KEYS do
  if ARGV[5] == '' then redis.call('SET', KEYS[i], ARGV[4])
  else redis.call('SET', KEYS[i], ARGV[4], 'PX', ARGV[5]) end
end
if ARGV[7] ~= '' and redis.call('EXISTS', KEYS[5]) == 1 then
  redis.call('XADD', KEYS[5], '*', 'type', ARGV[7], 'at', ARGV[8], 'data', ARGV[9])
end
if ARGV[3] == '' then return 0 end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[3]) == 0 then return 0 end
redis.call('ZADD', KEYS[3], 0, ARGV[2])
return 1
`);

/**
 * End a call whose run is gone (its live-call deadline passed with no settle): its in-flight mark, if
 * still the one read, becomes an unknown entry unless the call has one; the live-call key goes if it
 * still names the call. KEYS: inflight, entries, byTime, live-call key. ARGV: call id, the mark as
 * read ('' when there was none), member, entry JSON. Returns 1 when it wrote the entry, else 0.
 */
export const RECOVER_CALL = new LuaScript(`
local live = redis.call('GET', KEYS[4])
if live and string.sub(live, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then redis.call('DEL', KEYS[4]) end
if ARGV[2] == '' or redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[4]) == 0 then return 0 end
redis.call('ZADD', KEYS[3], 0, ARGV[3])
return 1
`);

/**
 * Turn in-flight marks left behind into unknown entries. KEYS: inflight, entries, byTime. ARGV: groups
 * of (call id, the mark as read, member, entry JSON). A mark is converted only if it is still the one
 * read (a settle in between has removed it); its entry is written only if the call has none. Returns
 * the call ids whose entry this wrote.
 */
export const RECOVER = new LuaScript(`
local written = {}
for i = 1, #ARGV, 4 do
  local id = ARGV[i]
  if redis.call('HGET', KEYS[1], id) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[1], id)
    if redis.call('HSETNX', KEYS[2], id, ARGV[i + 3]) == 1 then
      redis.call('ZADD', KEYS[3], 0, ARGV[i + 2])
      written[#written + 1] = id
    end
  end
end
return written
`);

/**
 * One page in time order. KEYS: byTime, entries. ARGV: lex min, lex max, count. Returns
 * [members, entry JSONs] read in one atomic step, so a page never names an entry it cannot show.
 */
export const PAGE = new LuaScript(`
local members = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
if #members == 0 then return {{}, {}} end
-- 17: past the 15 time digits and the '|' of each member (keys.ts).
local ids = {}
for i, m in ipairs(members) do ids[i] = string.sub(m, 17) end
return {members, redis.call('HMGET', KEYS[2], unpack(ids))}
`);
