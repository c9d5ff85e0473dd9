import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

const INCLUDE = /^--- @include "([a-z-]+)"$/gm;
const sources = new Map<string, string>();

/**
 * A Lua script's text, read from `dir` (a folder beside the calling module: `npm run build` copies
 * the .lua files next to the compiled ones), read once per process. A line `--- @include "name"`
 * takes in `dir/includes/name.lua` in its place, each once, includes of includes too, as BullMQ's
 * own commands do.
 */
export function luaSource(dir: URL, file: string): string {
  const url = new URL(file, dir);
  let source = sources.get(url.href);
  if (source === undefined) {
    const seen = new Set<string>();
    const expand = (text: string): string =>
      text.replace(INCLUDE, (_line, include: string) => {
        if (seen.has(include)) return '';
        seen.add(include);
        return expand(readFileSync(new URL(`includes/${include}.lua`, dir), 'utf8'));
      });
    source = expand(readFileSync(url, 'utf8'));
    sources.set(url.href, source);
  }
  return source;
}

/**
 * Defines each script of `files` (ioredis command name -> file in `dir`, read by luaSource) as a
 * command on a connection, once; callers pass the number of keys. ioredis runs a command by EVALSHA,
 * loading it by EVAL where the server has not cached it yet.
 */
export function defineLuaCommands(redis: Redis, dir: URL, files: Readonly<Record<string, string>>): void {
  for (const [name, file] of Object.entries(files)) {
    if (!hasCommand(redis, name)) redis.defineCommand(name, { lua: luaSource(dir, file) });
  }
}

function hasCommand(redis: Redis, name: string): boolean {
  return typeof (redis as unknown as Record<string, unknown>)[name] === 'function';
}

/** Every LuaScript's text by command name: two scripts under one name would run each other's text. */
const named = new Map<string, string>();

/**
 * A short Lua script kept beside its caller, defined as the ioredis command `name` on each connection
 * it first runs on: ioredis runs it by EVALSHA, loading it by EVAL where the server has not cached it
 * yet (one round trip per call once warm). Every key it touches is passed in KEYS, so it runs on a
 * cluster when the keys share a hash tag.
 */
export class LuaScript {
  constructor(
    readonly name: string,
    readonly lua: string,
  ) {
    const other = named.get(name);
    if (other !== undefined && other !== lua) throw new Error(`two Lua scripts are named ${name}`);
    named.set(name, lua);
  }

  run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    if (!hasCommand(redis, this.name)) redis.defineCommand(this.name, { lua: this.lua });
    const commands = redis as unknown as Record<string, (...args: (string | number)[]) => Promise<unknown>>;
    return commands[this.name]!(keys.length, ...keys, ...args);
  }
}
