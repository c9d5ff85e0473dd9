import { existsSync, mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, keepOnLoopback, launchChromium, staysLocal, warnIfNoChromium } from './browser.js';
import { type Harness, startHarness } from './harness.js';

const ARTIFACTS = new URL('../artifacts/', import.meta.url);

warnIfNoChromium('/docs browser test');

describe('staysLocal', () => {
  it('lets loopback and in-page data through, and nothing else', () => {
    expect(staysLocal('http://127.0.0.1:3000/docs')).toBe(true);
    expect(staysLocal('http://[::1]:3000/docs')).toBe(true);
    expect(staysLocal('data:image/png;base64,AAAA')).toBe(true);
    expect(staysLocal('https://validator.swagger.io/validator')).toBe(false);
    expect(staysLocal('http://localhost.example.com/')).toBe(false);
    expect(staysLocal('http://10.0.0.1/')).toBe(false);
  });
});

describe.skipIf(!hasChromium)('/docs in a real browser', () => {
  let h: Harness;
  let base: string;
  let browser: Browser;
  let paths: string[];

  beforeAll(async () => {
    h = await startHarness('api-docs-browser');
    base = await h.app.listen({ port: 0, host: '127.0.0.1' });
    const doc = (await h.inject({ url: '/openapi.json' })).json() as { paths: Record<string, unknown> };
    paths = Object.keys(doc.paths);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    expect(h.leakedSecrets()).toEqual([]);
    await h?.close();
  });

  it('renders every operation of the document, offline: no request leaves loopback', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    try {
      const seen = await keepOnLoopback(context);
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      page.on('pageerror', (err) => problems.push(String(err)));

      const response = await page.goto(`${base}/docs`);
      expect(response?.status()).toBe(200);
      await page.getByText('Fulfillment worker API').first().waitFor({ timeout: 20_000 });
      for (const path of paths) {
        await page.locator('.opblock-summary-path', { hasText: path }).first().waitFor({ timeout: 20_000 });
      }
      expect(await page.locator('.opblock').count()).toBeGreaterThanOrEqual(paths.length);
      expect(await page.getByText('/v1/ship', { exact: true }).first().isVisible()).toBe(true);

      // Opening an operation shows its example body, from the named component's examples.
      await page.locator('#operations-jobs-postV1Ship .opblock-summary').click();
      await page.getByText('4011223344556677889').first().waitFor({ timeout: 20_000 });

      mkdirSync(ARTIFACTS, { recursive: true });
      const file = new URL('docs-swagger-ui.png', ARTIFACTS);
      await page.screenshot({ path: file.pathname, fullPage: true });
      expect(existsSync(file)).toBe(true);

      expect(seen.refused).toEqual([]);
      expect(seen.asked.filter((url) => !staysLocal(url))).toEqual([]);
      expect(seen.asked).toContain(`${base}/docs/static/swagger-ui-bundle.js`);
      expect(seen.asked).toContain(`${base}/docs/json`);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
