import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { recordsKeys } from '../keys.js';
import { LuaScript } from '../runtime/lua.js';

/**
 * The one API process that keeps a deployment's records in an embedded PostgreSQL, named in Redis:
 * `P:records:owner` = `<host>|<pid>|<random>`, kept alive by a heartbeat. A second API process on the
 * same prefix without DATABASE_URL would store half of the records in a database the first cannot
 * read: it is refused at start instead.
 */

/** How long the owner key outlives its last heartbeat: a dead owner's is gone after this. */
export const OWNER_TTL_MS = 15_000;
const HEARTBEAT_MS = 5_000;
const WAIT_POLL_MS = 500;

/** Renew the key if it is ours, take it back if it expired. KEYS: owner. ARGV: me, ttl. Returns the holder. */
const RENEW = new LuaScript(
  'recordsOwnerRenew',
  `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return ARGV[1]
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return holder
`,
);

/** Delete the key only if it is still ours. KEYS: owner. ARGV: me. */
const RELEASE = new LuaScript(
  'recordsOwnerRelease',
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`,
);

/** Another live API process holds the embedded store of this prefix. */
export class OwnerTaken extends Error {
  override readonly name = 'OwnerTaken';
}

export interface RecordsOwner {
  readonly me: string;
  /** Stops the heartbeat and gives the key up (if it is still ours). */
  release(): Promise<void>;
}

/**
 * Claims the key, or throws OwnerTaken. A holder on this host whose pid is gone (a `kill -9`, a crash)
 * is taken over at once; one on this host still running is refused at once; one on another host is
 * waited for until its key expires (a dead process's does within OWNER_TTL_MS, a live one's never).
 */
export async function claimRecordsOwner(
  redis: Redis,
  prefix: string,
  log: { error(obj: object, msg: string): void },
): Promise<RecordsOwner> {
  const key = recordsKeys.owner(prefix);
  const me = `${hostname()}|${process.pid}|${randomBytes(4).toString('hex')}`;
  const deadline = Date.now() + OWNER_TTL_MS + WAIT_POLL_MS;
  for (;;) {
    const holder = String(await RENEW.run(redis, [key], [me, OWNER_TTL_MS]));
    if (holder === me) break;
    const [host, pid] = holder.split('|');
    if (host === hostname() && (Number(pid) === process.pid || !alive(Number(pid)))) {
      // A dead process of this host held it (or this pid's previous life: a restarted container).
      await redis.del(key);
      continue;
    }
    if (host === hostname() || Date.now() > deadline) {
      throw new OwnerTaken(
        `another API process (${host}, pid ${pid}) keeps this deployment's records in its embedded PostgreSQL`,
      );
    }
    await new Promise((done) => setTimeout(done, WAIT_POLL_MS));
  }
  return { me, release: heartbeat(redis, key, me, log) };
}

function heartbeat(
  redis: Redis,
  key: string,
  me: string,
  log: { error(obj: object, msg: string): void },
): () => Promise<void> {
  let lost = false;
  const timer = setInterval(() => {
    RENEW.run(redis, [key], [me, OWNER_TTL_MS])
      .then((holder) => {
        if (String(holder) !== me && !lost)
          log.error(
            { holder: String(holder) },
            'another API process took the embedded records store; two now write records apart: give every API process DATABASE_URL',
          );
        lost = String(holder) !== me;
      })
      .catch(() => {}); // Redis away: the next beat tries again, and the key is taken back if it expired
  }, HEARTBEAT_MS);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await RELEASE.run(redis, [key], [me]).catch(() => {});
  };
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
