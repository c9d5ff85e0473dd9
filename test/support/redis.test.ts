import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deleteByPrefix,
  type FoundRedis,
  findBinary,
  findRedis,
  type RedisSources,
  redact,
  redisAnswers,
  startPrivateRedis,
} from '../../support/redis.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';

/** A port nothing listens on (1 is reserved and unused here). */
const CLOSED = 'redis://127.0.0.1:1';

function found(url: string, description: string): FoundRedis {
  return { url, description, lasting: false, stop: async () => {} };
}

/** Which way findRedis went: sources that record their calls and answer as told. */
function sources(answers: {
  ping?: boolean;
  binary?: string | null;
  privateFails?: boolean;
  containerFails?: boolean;
}): RedisSources & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    answers: async (url) => {
      calls.push(`ping ${url}`);
      return answers.ping ?? false;
    },
    findBinary: (name) => {
      calls.push(`which ${name}`);
      return answers.binary ?? null;
    },
    startPrivate: async ({ binary }) => {
      calls.push(`private ${binary}`);
      if (answers.privateFails) throw new Error('port in use');
      return found('redis://127.0.0.1:7001', 'private');
    },
    startContainer: async () => {
      calls.push('container');
      if (answers.containerFails)
        throw new Error('Could not find a working container runtime strategy\nmore');
      return found('redis://127.0.0.1:7002', 'container');
    },
  };
}

const options = (notes: string[]) => ({
  url: 'redis://:secret@127.0.0.1:6390',
  fromEnv: true,
  path: '/nowhere',
  note: (line: string) => notes.push(line),
  nextStep: 'run npm run demo again',
});

describe('support: finding a Redis', () => {
  it('uses REDIS_URL when it answers, and starts nothing', async () => {
    const s = sources({ ping: true });
    const redis = await findRedis(options([]), s);
    expect(redis).toMatchObject({ url: 'redis://:secret@127.0.0.1:6390', lasting: true });
    expect((redis as FoundRedis).description).toBe('Redis at redis://:***@127.0.0.1:6390 (REDIS_URL)');
    expect(s.calls).toEqual(['ping redis://:secret@127.0.0.1:6390']);
  });

  it('else starts a private redis-server when one is installed, and says so', async () => {
    const notes: string[] = [];
    const s = sources({ binary: '/usr/bin/redis-server' });
    expect(await findRedis(options(notes), s)).toMatchObject({ url: 'redis://127.0.0.1:7001' });
    expect(s.calls.slice(1)).toEqual(['which redis-server', 'private /usr/bin/redis-server']);
    expect(notes).toEqual([
      'no Redis answered at redis://:***@127.0.0.1:6390; starting a private redis-server',
    ]);
  });

  it('else (none installed, or it would not start) a container', async () => {
    for (const answers of [{ binary: null }, { binary: '/usr/bin/redis-server', privateFails: true }]) {
      const s = sources(answers);
      expect(await findRedis(options([]), s)).toMatchObject({ url: 'redis://127.0.0.1:7002' });
      expect(s.calls.at(-1)).toBe('container');
    }
  });

  it('else one line saying how to get one, naming neither the password nor more than the first line of the cause', async () => {
    const notes: string[] = [];
    const answer = await findRedis(options(notes), sources({ binary: null, containerFails: true }));
    expect(answer).toEqual({
      error:
        'no Redis answered at redis://:***@127.0.0.1:6390, redis-server is not installed and Docker is not available ' +
        '(Could not find a working container runtime strategy); install Redis (apt install redis-server, or brew install redis) ' +
        'or set REDIS_URL to one, then run npm run demo again',
    });
    expect(notes).toEqual([]);
  });
});

describe('support: Redis helpers on a real Redis', () => {
  let t: TestRedis;
  beforeAll(async () => {
    t = await testRedis('support-redis');
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('PING answers from the test Redis, and not from a closed port', async () => {
    expect(await redisAnswers(t.url, 1_000)).toBe(true);
    expect(await redisAnswers(CLOSED, 1_000)).toBe(false);
  });

  it('deletes every key under the prefix and nothing else', async () => {
    const prefix = `${t.prefix}-run`;
    for (let i = 0; i < 2_500; i += 500) {
      const pipeline = t.redis.pipeline();
      for (let j = i; j < i + 500; j++) pipeline.set(`${prefix}:k${j}`, '1');
      await pipeline.exec();
    }
    await t.redis.set(`${prefix}x:other`, '1');
    await t.redis.set(`${t.prefix}:kept`, '1');
    expect(await deleteByPrefix(t.redis, prefix)).toBe(2_500);
    const [, left] = await t.redis.scan('0', 'MATCH', `${prefix}:*`, 'COUNT', 10_000);
    expect(left).toEqual([]);
    expect(await t.redis.get(`${prefix}x:other`)).toBe('1');
    await t.redis.del(`${prefix}x:other`);
  });

  it.skipIf(findBinary('redis-server', process.env.PATH ?? '') === null)(
    'starts a private redis-server that answers, and stops it',
    async () => {
      const redis = await startPrivateRedis({ binary: findBinary('redis-server', process.env.PATH ?? '')! });
      expect(redis.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
      expect(redis.lasting).toBe(false);
      expect(await redisAnswers(redis.url, 1_000)).toBe(true);
      await redis.stop();
      expect(await redisAnswers(redis.url, 1_000)).toBe(false);
    },
  );

  it('finds binaries on a PATH, and says null when there are none', () => {
    expect(findBinary('node', process.env.PATH ?? '')).toMatch(/node$/);
    expect(findBinary('node', '')).toBeNull();
  });

  it('hides a password in a URL it prints', () => {
    expect(redact('redis://user:pw@host:1/0')).toBe('redis://user:***@host:1/0');
    expect(redact('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redact('not a url')).toBe('(unparsable REDIS_URL)');
  });
});
