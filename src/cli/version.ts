import { readFileSync } from 'node:fs';

const PACKAGE_NAME = 'fulfillment-worker';

/**
 * The package's version, from its package.json. Looked for upward from this file, since the CLI runs
 * both from src/cli (tsx) and from dist/src/cli (the build), one directory deeper.
 */
export function packageVersion(): string {
  for (let dir = new URL('./', import.meta.url); ; dir = new URL('../', dir)) {
    const manifest = readManifest(new URL('package.json', dir));
    if (manifest?.name === PACKAGE_NAME && typeof manifest.version === 'string') return manifest.version;
    if (dir.pathname === '/') throw new Error(`no package.json of ${PACKAGE_NAME} above ${import.meta.url}`);
  }
}

function readManifest(url: URL): { name?: unknown; version?: unknown } | null {
  try {
    return JSON.parse(readFileSync(url, 'utf8')) as { name?: unknown; version?: unknown };
  } catch {
    // No package.json here (or not ours to read): keep looking one directory up.
    return null;
  }
}
