import type { Redis } from 'ioredis';
import { defineLuaCommands } from '../runtime/lua.js';

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

/** Defines the scripts as ioredis commands on a connection (see defineLuaCommands). */
export function defineLedgerScripts(redis: Redis): void {
  defineLuaCommands(redis, new URL('./scripts/', import.meta.url), SCRIPTS);
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    ledgerSettle(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
    ledgerRecoverCall(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
    ledgerRecover(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
    ledgerPage(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
  }
}
