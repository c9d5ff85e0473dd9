import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './children.js';

export const RESULTS_DIR = join(ROOT, 'bench', 'results');

/** Writes `data` as bench/results/<name>-<stamp>.json (gitignored) and returns the path. */
export function writeResult(name: string, stamp: string, data: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}-${stamp}.json`);
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
  return path;
}
