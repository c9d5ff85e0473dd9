import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { newSecret } from './fixtures.js';

const URL_OK = 'https://hooks.example.test/fulfillment/';

function load(env: Record<string, string>) {
  return loadConfig(env);
}

function problem(env: Record<string, string>): string {
  try {
    load(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('WEBHOOK_URL and WEBHOOK_SECRET', () => {
  it('are off when unset', () => {
    expect(load({}).webhook).toBeNull();
  });

  it('keep the URL as given and the secret as a Secret that prints redacted', () => {
    const secret = newSecret();
    const config = load({ WEBHOOK_URL: URL_OK, WEBHOOK_SECRET: secret });
    expect(config.webhook?.url).toBe(URL_OK);
    expect(config.webhook?.secret.reveal()).toBe(secret);
    expect(JSON.stringify(config)).not.toContain(secret.slice(6));
    // What the config accepts, the signing package accepts.
    expect(() => new Webhook(config.webhook!.secret.reveal())).not.toThrow();
    expect(load({ WEBHOOK_URL: 'http://127.0.0.1:8080/x', WEBHOOK_SECRET: secret }).webhook?.url).toBe(
      'http://127.0.0.1:8080/x',
    );
  });

  it('take only http and https URLs, without credentials', () => {
    const secret = newSecret();
    for (const url of [
      'ftp://example.test/hook',
      'file:///etc/passwd',
      'ws://example.test',
      'javascript:alert(1)',
    ]) {
      expect(problem({ WEBHOOK_URL: url, WEBHOOK_SECRET: secret })).toBe(
        'WEBHOOK_URL: must start with http:// or https://',
      );
    }
    expect(problem({ WEBHOOK_URL: 'not a url', WEBHOOK_SECRET: secret })).toMatch(
      /^WEBHOOK_URL: is not a URL/,
    );
    const withPassword = problem({
      WEBHOOK_URL: 'https://u:hunter2hunter2@example.test/',
      WEBHOOK_SECRET: secret,
    });
    expect(withPassword).toBe('WEBHOOK_URL: must not carry a user name or password');
    expect(withPassword).not.toContain('hunter2');
  });

  it('require a whsec_ secret of at least 24 bytes with the URL, and never echo it', () => {
    expect(problem({ WEBHOOK_URL: URL_OK })).toMatch(/^WEBHOOK_SECRET: is not set/);
    const bad = [
      Buffer.alloc(32, 7).toString('base64'), // no prefix
      'whsec_not*base64!',
      'whsec_QUJD', // 3 bytes
      `whsec_${Buffer.alloc(23, 1).toString('base64')}`,
      'whsec_QUJDRA=', // padding that does not fit
      'whsec_QUJDR', // a length no bytes encode to
    ];
    for (const secret of bad) {
      const line = problem({ WEBHOOK_URL: URL_OK, WEBHOOK_SECRET: secret });
      expect(line).toMatch(/^WEBHOOK_SECRET: must /);
      expect(line).not.toContain(secret.replace(/^whsec_/, ''));
    }
    const shortest = `whsec_${Buffer.alloc(24, 9).toString('base64')}`;
    expect(load({ WEBHOOK_URL: URL_OK, WEBHOOK_SECRET: shortest }).webhook).not.toBeNull();
    const unpadded = `whsec_${Buffer.alloc(26, 9).toString('base64').replace(/=+$/, '')}`;
    expect(load({ WEBHOOK_URL: URL_OK, WEBHOOK_SECRET: unpadded }).webhook).not.toBeNull();
  });

  it('refuse a secret without a URL (a misspelt URL variable would otherwise go unnoticed)', () => {
    expect(problem({ WEBHOOK_SECRET: newSecret() })).toBe(
      'WEBHOOK_SECRET: is set, but WEBHOOK_URL is not: set both or neither',
    );
  });
});
