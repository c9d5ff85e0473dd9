import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';

/** Debian's chromium package; `.ci/run` installs it (`apt-get install -y chromium`). */
export const CHROMIUM = '/usr/bin/chromium';

export const hasChromium = existsSync(CHROMIUM);

/** Says why a browser test is skipped; call at the top of its file. */
export function warnIfNoChromium(what: string): void {
  if (!hasChromium) console.warn(`${what} skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
}

/**
 * Headless chromium with nothing of its own going out (no background networking, updates, sync or
 * QUIC). Playwright gives each launch a fresh profile (`--user-data-dir` in a new temporary folder,
 * removed on close), so no state carries from one test file to another.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]']);

/** Whether a URL the browser asked for stays on this machine (loopback, or in-page data). */
export function staysLocal(url: string): boolean {
  const parsed = new URL(url);
  if (parsed.protocol === 'data:' || parsed.protocol === 'blob:') return true;
  return LOOPBACK_HOSTS.has(parsed.hostname);
}

/**
 * Aborts every request of `context` that would leave loopback, and records every URL asked for
 * (routed or not), so that a test can assert none left: the returned list only grows.
 */
export async function keepOnLoopback(
  context: BrowserContext,
): Promise<{ asked: string[]; refused: string[] }> {
  const seen = { asked: [] as string[], refused: [] as string[] };
  context.on('request', (request) => seen.asked.push(request.url()));
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (staysLocal(url)) return route.continue();
    seen.refused.push(url);
    return route.abort('blockedbyclient');
  });
  return seen;
}
