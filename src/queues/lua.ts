import type { JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { defineLuaCommands } from '../runtime/lua.js';

/**
 * The Lua scripts of the enqueue, the dead-letter moves and the resume's promotion, one file each in ./scripts
 * (read as src/runtime/lua.ts says, with `--- @include "name"` lines taking in ./scripts/includes/).
 */
const SCRIPTS = {
  fulfillEnqueue: 'enqueue.lua',
  fulfillBury: 'bury.lua',
  fulfillRedrive: 'redrive.lua',
  fulfillPurge: 'purge.lua',
  fulfillSweepFailed: 'sweep-failed.lua',
  fulfillPromoteParked: 'promote-parked.lua',
} as const;

/** Defines the scripts as ioredis commands on a connection (see defineLuaCommands). */
export function defineQueueScripts(redis: Redis): void {
  defineLuaCommands(redis, new URL('./scripts/', import.meta.url), SCRIPTS);
}

/**
 * The `opts` field BullMQ stores for a job added with these options and no queue defaults: the Job
 * constructor puts `attempts: 0` in front, and none of our options has a short stored name (those
 * are for parents, deduplication and telemetry, which our jobs do not use).
 */
export function storedJobOptions(opts: JobsOptions): string {
  return JSON.stringify({ attempts: 0, ...opts });
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    fulfillEnqueue(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
    fulfillBury(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
    fulfillRedrive(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
    fulfillPurge(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
    fulfillSweepFailed(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
    fulfillPromoteParked(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
  }
}
