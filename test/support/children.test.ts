import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { spawnChild } from '../../support/children.js';
import { freePort } from '../../support/ports.js';

const node = (script: string, log?: PassThrough) =>
  spawnChild('kid', process.execPath, ['-e', script], {
    cwd: process.cwd(),
    env: process.env,
    ...(log ? { log } : {}),
  });

describe('support: child processes', () => {
  it('resolves waitFor with what the output shows, and logs each line with the name', async () => {
    const log = new PassThrough();
    let logged = '';
    log.on('data', (chunk: Buffer) => {
      logged += chunk.toString();
    });
    const child = node(
      "console.log('starting'); setTimeout(() => console.log('URL=http://127.0.0.1:99'), 50); setInterval(() => {}, 1000)",
      log,
    );
    const url = await child.waitFor('its URL', (out) => /URL=(\S+)/.exec(out)?.[1], 10_000);
    expect(url).toBe('http://127.0.0.1:99');
    expect(child.running()).toBe(true);
    expect(await child.stop({ graceMs: 5_000 })).toEqual({ code: null, signal: 'SIGTERM' });
    expect(child.running()).toBe(false);
    expect(logged).toBe('kid starting\nkid URL=http://127.0.0.1:99\n');
  });

  it('rejects waitFor when the child exits first, naming how, and keeps its last lines', async () => {
    const child = node("console.error('cannot listen on port 1'); process.exit(3)");
    await expect(child.waitFor('its URL', () => undefined, 10_000)).rejects.toThrow(
      'kid exited (code 3) before its URL',
    );
    expect(child.tail()).toEqual(['cannot listen on port 1']);
  });

  it('rejects waitFor after its timeout', async () => {
    const child = node('setInterval(() => {}, 1000)');
    await expect(child.waitFor('its URL', () => undefined, 100)).rejects.toThrow('did not get to its URL');
    await child.stop({ graceMs: 5_000 });
  });

  it('kills a child that ignores SIGTERM once the grace period is over', async () => {
    const child = node("process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000)");
    await child.waitFor('ready', (out) => (out.includes('ready') ? true : undefined), 10_000);
    expect(await child.stop({ graceMs: 200 })).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('reports a binary that does not exist as exited', async () => {
    const child = spawnChild('ghost', '/nonexistent/redis-server', [], {
      cwd: process.cwd(),
      env: process.env,
    });
    expect(await child.exited).toEqual({ code: null, signal: null });
    expect(child.tail().join('\n')).toContain('ENOENT');
  });

  it('hands out a port on 127.0.0.1 that can be listened on', async () => {
    const { createServer } = await import('node:net');
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });
});
