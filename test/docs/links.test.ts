import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README_LIMIT = 10_000;

/** Every document a reader follows links through: the top-level Markdown files and docs/. */
const DOCS = [
  ...readdirSync(ROOT).filter((name) => name.endsWith('.md')),
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

interface Link {
  readonly file: string;
  readonly line: number;
  readonly target: string;
}

/** Inline links and images outside fenced code, minus those with a scheme (http:, mailto:, …). */
function relativeLinks(file: string): Link[] {
  const links: Link[] = [];
  let fenced = false;
  readFileSync(join(ROOT, file), 'utf8')
    .split('\n')
    .forEach((text, index) => {
      if (/^\s*```/.test(text)) fenced = !fenced;
      if (fenced) return;
      const prose = text.replace(/`[^`]*`/g, '');
      for (const match of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = match[1]!;
        if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) links.push({ file, line: index + 1, target });
      }
    });
  return links;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const text of readFileSync(file, 'utf8').split('\n')) {
    if (/^\s*```/.test(text)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text);
    if (!heading) continue;
    const base = heading[1]!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .trim()
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    out.add(count === 0 ? base : `${base}-${count}`);
  }
  return out;
}

/** Why a link does not resolve, or null when it does. */
function problem(link: Link): string | null {
  const [path = '', anchor] = link.target.split('#', 2);
  const target = path === '' ? join(ROOT, link.file) : resolve(dirname(join(ROOT, link.file)), path);
  if (!target.startsWith(ROOT)) return 'points outside the repository';
  if (!existsSync(target)) return `no file ${relative(ROOT, target)}`;
  if (anchor === undefined) return null;
  if (statSync(target).isDirectory() || !target.endsWith('.md')) return 'an anchor into a non-Markdown file';
  return anchors(target).has(decodeURIComponent(anchor))
    ? null
    : `no heading #${anchor} in ${relative(ROOT, target)}`;
}

describe('the documentation', () => {
  it('has README.md and docs/index.md, which lists every doc', () => {
    expect(DOCS).toContain('README.md');
    const index = readFileSync(join(ROOT, 'docs/index.md'), 'utf8');
    for (const doc of DOCS.filter((d) => d.startsWith('docs/') && d !== 'docs/index.md')) {
      expect(index, `docs/index.md does not link ${doc}`).toContain(`](${doc.slice('docs/'.length)})`);
    }
  });

  it.each(DOCS)('%s: every relative link resolves, file and #anchor', (file) => {
    const broken = relativeLinks(file)
      .map((link) => ({ link, why: problem(link) }))
      .filter(({ why }) => why !== null)
      .map(({ link, why }) => `${link.file}:${link.line} (${link.target}): ${why}`);
    expect(broken).toEqual([]);
  });

  it(`keeps the README under ${README_LIMIT} characters`, () => {
    expect([...readFileSync(join(ROOT, 'README.md'), 'utf8')].length).toBeLessThan(README_LIMIT);
  });

  it('refers to nothing outside the repository', () => {
    // Written so that this file does not match itself.
    const outside = 'DESIGN[.]md|seeds[/]|[.][.][/]shared|[/]work[/]shared';
    const grep = spawnSync('git', ['grep', '-nE', outside, '--', '.', ':!package-lock.json'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    // git grep: 0 found, 1 none found, anything else an error (not a checkout).
    expect(grep.stderr).toBe('');
    expect(grep.stdout).toBe('');
    expect(grep.status).toBe(1);
  });
});

describe('the link checker', () => {
  it('finds a broken file, a broken anchor, and accepts a good pair', () => {
    const file = 'docs/index.md';
    expect(problem({ file, line: 1, target: 'design.md#the-public-contract' })).toBeNull();
    expect(problem({ file, line: 1, target: 'nowhere.md' })).toMatch(/no file docs\/nowhere\.md/);
    expect(problem({ file, line: 1, target: 'design.md#nowhere' })).toMatch(/no heading #nowhere/);
    expect(problem({ file, line: 1, target: '../../outside.md' })).toMatch(/outside the repository/);
  });
});
