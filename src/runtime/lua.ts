import { readFileSync } from 'node:fs';

const INCLUDE = /^--- @include "([a-z-]+)"$/gm;
const sources = new Map<string, string>();

/**
 * A Lua script's text, read from `dir` (a folder beside the calling module: `npm run build` copies
 * the .lua files next to the compiled ones), read once per process. A line `--- @include "name"`
 * takes in `dir/includes/name.lua` in its place, each once, includes of includes too, as BullMQ's
 * own commands do.
 */
export function luaSource(dir: URL, file: string): string {
  const url = new URL(file, dir);
  let source = sources.get(url.href);
  if (source === undefined) {
    const seen = new Set<string>();
    const expand = (text: string): string =>
      text.replace(INCLUDE, (_line, include: string) => {
        if (seen.has(include)) return '';
        seen.add(include);
        return expand(readFileSync(new URL(`includes/${include}.lua`, dir), 'utf8'));
      });
    source = expand(readFileSync(url, 'utf8'));
    sources.set(url.href, source);
  }
  return source;
}
