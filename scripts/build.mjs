// `npm run build [-- --outDir DIR]`: the TypeScript compiler, then the files it does not emit that the
// compiled modules read from beside themselves (the Lua scripts and SQL migrations under src/), copied
// to the same place.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', ...args], { cwd: ROOT, stdio: 'inherit' });

const at = args.indexOf('--outDir');
const outDir = resolve(ROOT, at >= 0 && args[at + 1] ? args[at + 1] : 'dist');
const src = join(ROOT, 'src');
for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !/\.(lua|sql)$/.test(entry.name)) continue;
  const from = join(entry.parentPath, entry.name);
  cpSync(from, join(outDir, relative(ROOT, from)));
}
