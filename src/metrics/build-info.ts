import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package name whose version `fulfillment_build_info` reports. */
const PACKAGE_NAME = 'fulfillment-worker';

/**
 * The version in the product's package.json. Looked for upwards from this file, because the file sits
 * at a different depth under tsx (src/metrics/) and in the build (dist/src/metrics/); "unknown" when
 * the package.json is not shipped beside the code.
 */
export function packageVersion(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // No package.json here (or not ours): look one level up.
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}
