import { randomUUID } from 'node:crypto';

/** A fresh key prefix for one run of one variant: `bench-<uuid8>-<tag>`. */
export function benchPrefix(tag: string): string {
  return `bench-${randomUUID().slice(0, 8)}-${tag}`;
}
