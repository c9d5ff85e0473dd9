import type { Redis } from 'ioredis';
import { luaSource } from '../runtime/lua.js';

/**
 * The ledger's Lua scripts, one file each in ./scripts (read as src/runtime/lua.ts says). Every key a
 * script touches is passed in KEYS, so it runs on a cluster when the keys share a hash tag.
 */
const SCRIPTS = {
  ledgerSettle: 'settle.lua',
  ledgerRecoverCall: 'recover-call.lua',
  ledgerRecover: 'recover.lua',
  ledgerPage: 'page.lua',
} as const;

type LedgerScript = keyof typeof SCRIPTS;

/**
 * Defines the scripts as ioredis commands on a connection (once; callers pass the number of keys).
 * ioredis runs them by EVALSHA, loading one by EVAL where the server has not cached it yet.
 */
export function defineLedgerScripts(redis: Redis): void {
  const dir = new URL('./scripts/', import.meta.url);
  for (const name of Object.keys(SCRIPTS) as LedgerScript[]) {
    if (typeof (redis as unknown as Record<string, unknown>)[name] !== 'function') {
      redis.defineCommand(name, { lua: luaSource(dir, SCRIPTS[name]) });
    }
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    ledgerSettle(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
    ledgerRecoverCall(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
    ledgerRecover(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
    ledgerPage(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
  }
}
