import { readFileSync } from 'node:fs';
import type { JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';

/**
 * The Lua scripts of the enqueue, the dead-letter moves and the resume's promotion, one file each in ./scripts
 * (read from beside this module: `npm run build` copies them next to the compiled one). A line
 * `--- @include "name"` takes in ./scripts/includes/name.lua, as BullMQ's own commands do.
 */
const SCRIPTS = {
  fulfillEnqueue: 'enqueue.lua',
  fulfillBury: 'bury.lua',
  fulfillRedrive: 'redrive.lua',
  fulfillPurge: 'purge.lua',
  fulfillSweepFailed: 'sweep-failed.lua',
  fulfillPromoteParked: 'promote-parked.lua',
} as const;

export type QueueScript = keyof typeof SCRIPTS;

const INCLUDE = /^--- @include "([a-z-]+)"$/gm;
const sources = new Map<string, string>();

/** A script's text with its includes in place, each once, includes of includes too (read once per process). */
export function scriptSource(name: QueueScript): string {
  let source = sources.get(name);
  if (source === undefined) {
    const dir = new URL('./scripts/', import.meta.url);
    const seen = new Set<string>();
    const expand = (text: string): string =>
      text.replace(INCLUDE, (_line, include: string) => {
        if (seen.has(include)) return '';
        seen.add(include);
        return expand(readFileSync(new URL(`includes/${include}.lua`, dir), 'utf8'));
      });
    source = expand(readFileSync(new URL(SCRIPTS[name], dir), 'utf8'));
    sources.set(name, source);
  }
  return source;
}

/** Defines the scripts as ioredis commands on a connection (once; callers pass the number of keys). */
export function defineQueueScripts(redis: Redis): void {
  for (const name of Object.keys(SCRIPTS) as QueueScript[]) {
    if (typeof (redis as unknown as Record<string, unknown>)[name] !== 'function') {
      redis.defineCommand(name, { lua: scriptSource(name) });
    }
  }
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
