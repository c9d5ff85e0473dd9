import type { Redis } from 'ioredis';
import type { Config } from '../config/index.js';
import { Fulfillment } from '../queues/service.js';
import type { LedgerReader } from '../records/ledger-reader.js';
import { connectRedis } from '../runtime/redis.js';
import { Failure } from './errors.js';
import { type LedgerSource, openLedgerSource, safeUrl } from './ledger-source.js';
import { type CliIO, toJson, writeAll } from './output.js';

/** How long the CLI waits for a Redis that neither answers nor refuses (a dropped packet, say). */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * What a command runs with: the config, the output mode, and the service, connected on first use
 * so that a command refused before it needs Redis never connects.
 */
export class Session {
  readonly io: CliIO;
  readonly json: boolean;
  readonly config: Config;
  #redis: Redis | undefined;
  #service: Fulfillment | undefined;
  #ledgerSource: LedgerSource | undefined;

  constructor(io: CliIO, json: boolean, config: Config) {
    this.io = io;
    this.json = json;
    this.config = config;
  }

  async service(): Promise<Fulfillment> {
    if (this.#service) return this.#service;
    const redis = connectRedis(this.config, 'fulfill-cli');
    this.#redis = redis;
    await this.#ready(redis);
    this.#service = new Fulfillment(this.config, redis);
    return this.#service;
  }

  /**
   * The ledger where the books live: the records' PostgreSQL when there is one to read (the sink
   * trims what it stored from Redis), else Redis, with a note on stderr when that may be incomplete.
   */
  async ledger(): Promise<LedgerReader> {
    this.#ledgerSource ??= await openLedgerSource(this.config);
    const source = this.#ledgerSource;
    if (source.kind === 'sql') return source.reader;
    if (source.why !== null) {
      this.note(`ledger read from Redis alone, the books may be incomplete: ${source.why}`);
    }
    return (await this.service()).ledger;
  }

  /** The result: JSON on stdout with --json, else the human text. */
  async print(value: unknown, human: () => string): Promise<void> {
    await writeAll(this.io.stdout, this.json ? toJson(value) : human());
  }

  /** A side remark for a person (progress, hints): stderr, so stdout stays the result. */
  note(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }

  /** Closes the records pool, the queues, then the connection: in reverse of opening. */
  async close(): Promise<void> {
    const source = this.#ledgerSource;
    this.#ledgerSource = undefined;
    if (source?.kind === 'sql') await source.close();
    const service = this.#service;
    const redis = this.#redis;
    this.#service = undefined;
    this.#redis = undefined;
    if (service) await service.close();
    if (redis) {
      if (redis.status === 'ready') await redis.quit();
      else redis.disconnect();
    }
  }

  /**
   * Workers' connections wait through outages (maxRetriesPerRequest: null); a person at a terminal
   * wants to hear at once that Redis is not there, so the first connection error ends the command.
   */
  async #ready(redis: Redis): Promise<void> {
    const where = safeRedisUrl(this.config.redisUrl);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        redis.off('ready', onReady);
        reject(new Failure(`cannot reach Redis at ${where}: no answer in ${CONNECT_TIMEOUT_MS / 1000} s`));
      }, CONNECT_TIMEOUT_MS);
      const onReady = () => {
        clearTimeout(timer);
        redis.off('error', onError);
        resolve();
      };
      const onError = (err: Error) => {
        clearTimeout(timer);
        redis.off('ready', onReady);
        reject(new Failure(`cannot reach Redis at ${where}: ${err.message}`));
      };
      redis.once('ready', onReady);
      redis.once('error', onError);
    }).catch((err: unknown) => {
      redis.disconnect();
      throw err;
    });
    // Later errors (the connection dropped mid-command): ioredis reconnects and the command waits;
    // say so once rather than leave the person staring at a silent terminal.
    let told = false;
    redis.on('error', (err: Error) => {
      if (told) return;
      told = true;
      this.note(`Redis connection error: ${err.message} (reconnecting)`);
    });
  }
}

/** The Redis URL without its password, for messages. */
export function safeRedisUrl(text: string): string {
  return safeUrl(text, '(REDIS_URL)');
}
