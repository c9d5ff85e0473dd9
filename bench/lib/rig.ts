import type { Child } from './children.js';
import type { BenchContext } from './context.js';
import { benchPrefix } from './prefix.js';
import { deletePrefix } from './redis.js';

/**
 * What one benchmark started, released in reverse whatever happens: child processes stopped,
 * connections closed, and every key under its prefixes deleted.
 */
export class Rig {
  readonly #ctx: BenchContext;
  readonly #prefixes: string[] = [];
  readonly #children: Child[] = [];
  readonly #closers: Array<() => Promise<unknown>> = [];

  constructor(ctx: BenchContext) {
    this.#ctx = ctx;
  }

  prefix(tag: string): string {
    const prefix = benchPrefix(tag);
    this.#prefixes.push(prefix);
    return prefix;
  }

  track<T extends Child | Child[]>(children: T): T {
    this.#children.push(...(Array.isArray(children) ? children : [children]));
    return children;
  }

  onClose(close: () => Promise<unknown>): void {
    this.#closers.push(close);
  }

  /** Stops `children` now (they are no longer tracked). */
  async stop(children: readonly Child[]): Promise<void> {
    await Promise.all(children.map((child) => child.stop()));
    for (const child of children) {
      const index = this.#children.indexOf(child);
      if (index >= 0) this.#children.splice(index, 1);
    }
  }

  /** Deletes the keys of `prefix` now (and again at the end, harmlessly). */
  async clean(prefix: string): Promise<void> {
    await deletePrefix(this.#ctx.redis, prefix);
  }

  async release(): Promise<void> {
    const results: PromiseSettledResult<unknown>[] = await Promise.allSettled(
      this.#children.splice(0).map((child) => child.stop()),
    );
    for (const close of this.#closers.splice(0).reverse())
      results.push(...(await Promise.allSettled([close()])));
    for (const prefix of this.#prefixes.splice(0)) {
      results.push(...(await Promise.allSettled([deletePrefix(this.#ctx.redis, prefix)])));
    }
    for (const result of results) {
      if (result.status === 'rejected') this.#ctx.log(`cleanup: ${String(result.reason)}`);
    }
  }
}

export async function withRig<T>(ctx: BenchContext, body: (rig: Rig) => Promise<T>): Promise<T> {
  const rig = new Rig(ctx);
  try {
    return await body(rig);
  } finally {
    await rig.release();
  }
}
