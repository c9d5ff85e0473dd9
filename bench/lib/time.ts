/**
 * One clock for every process of a benchmark: epoch ms with sub-ms precision, the same expression the
 * sandbox stamps arrivals with, so times taken here and arrivals recorded there compare directly.
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` every `everyMs` until it returns a value other than undefined, or `timeoutMs` passes
 * (then undefined). Benchmarks poll cheap sources (IPC, counters); tests never do this.
 */
export async function pollUntil<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 50,
): Promise<T | undefined> {
  const deadline = now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (now() >= deadline) return undefined;
    await sleep(everyMs);
  }
}
