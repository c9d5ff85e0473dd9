/**
 * The promise's value, or null once `ms` have passed. The late promise keeps running (a Redis command
 * cannot be taken back); a rejection after the deadline is absorbed by the race, which already settled.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
