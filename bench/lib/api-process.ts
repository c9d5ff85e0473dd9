import { randomBytes } from 'node:crypto';
import { type Child, startChild } from './children.js';

export interface ApiProcess {
  readonly url: string;
  readonly apiKey: string;
  readonly child: Child;
}

/** The product's HTTP API in its own process on 127.0.0.1, with a fresh bearer key. */
export async function startApiProcess(env: Record<string, string>): Promise<ApiProcess> {
  const apiKey = randomBytes(24).toString('hex');
  const child = startChild('api', 'bench/lib/api-child.ts', { ...env, API_KEYS: apiKey });
  const ready = await child.ready();
  if (!ready.url?.startsWith('http://127.0.0.1:')) {
    await child.stop();
    throw new Error(`api answered an unexpected url ${String(ready.url)}`);
  }
  return { url: ready.url, apiKey, child };
}
