import { existsSync, mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium, warnIfNoChromium } from './browser.js';
import { ADMIN_USER, type Harness, makeDead, SECRETS, shipBody, startHarness } from './harness.js';

const ARTIFACTS = new URL('../artifacts/', import.meta.url);
const REASON = 'isv error: the carrier refused waybill YT0000000099';

warnIfNoChromium('Bull Board browser test');

describe.skipIf(!hasChromium)('Bull Board in a real browser', () => {
  let h: Harness;
  let base: string;
  let browser: Browser;
  let deadId: string;

  beforeAll(async () => {
    h = await startHarness('api-board');
    deadId = await makeDead(h.service, shipBody({ tid: '99', out_sid: 'YT0000000099' }), {
      reason: REASON,
      code: 614,
    });
    base = await h.app.listen({ port: 0, host: '127.0.0.1' });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    expect(h.leakedSecrets()).toEqual([]);
    await h?.close();
  });

  it('refuses a browser without credentials', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      // Chromium either shows the 401 or, having no credentials to answer the challenge with, gives up.
      const outcome = await page.goto(`${base}/admin/queues`).then(
        (response) => String(response?.status()),
        (err: unknown) => String(err),
      );
      expect(outcome).toMatch(/^401$|ERR_INVALID_AUTH_CREDENTIALS/);
      expect(await page.getByText('dead-letter').count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('refuses wrong credentials', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: ADMIN_USER, password: 'wrong' },
    });
    try {
      const page = await context.newPage();
      const response = await page.goto(`${base}/admin/queues`);
      expect(response?.status()).toBe(401);
    } finally {
      await context.close();
    }
  });

  it('logs in, opens the dead-letter queue and shows the dead job with its reason', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: ADMIN_USER, password: SECRETS.adminPassword },
      viewport: { width: 1400, height: 1000 },
    });
    try {
      const page = await context.newPage();
      const home = await page.goto(`${base}/admin/queues`);
      expect(home?.status()).toBe(200);
      for (const queue of ['ship', 'sync', 'dead-letter']) {
        await expect
          .poll(() => page.getByText(queue, { exact: true }).count(), { timeout: 15_000 })
          .toBeGreaterThan(0);
      }

      await page.goto(`${base}/admin/queues/queue/dead-letter?status=waiting`);
      await page.getByText(deadId).first().waitFor({ timeout: 15_000 });
      await page.getByText(REASON).first().waitFor({ timeout: 15_000 });
      expect(await page.getByText(REASON).first().isVisible()).toBe(true);

      mkdirSync(ARTIFACTS, { recursive: true });
      const file = new URL('bull-board-dead-letter.png', ARTIFACTS);
      await page.screenshot({ path: file.pathname, fullPage: true });
      expect(existsSync(file)).toBe(true);
    } finally {
      await context.close();
    }
  });
});
