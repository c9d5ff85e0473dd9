import { randomBytes } from 'node:crypto';
import type { EventDataMap, EventType } from '../../src/events/index.js';

/** A fresh Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** One `data` of every event type, in the shapes the contract gives, for account `account`. */
export function sampleEvents(account: string): { [K in EventType]: EventDataMap[K] } {
  const id = `vvtool.${account}.${Date.now()}.all.YT${randomBytes(3).toString('hex')}`;
  return {
    'job.completed': {
      id,
      queue: 'ship',
      name: 'vvtool.send',
      account,
      result: 'shipped',
      charge: 0.35,
    },
    'job.dead': {
      id,
      queue: 'ship',
      name: 'vvtool.send',
      account,
      code: 100,
      message: '参数错误',
      reason: 'bad request; fix the payload, then redrive',
      attemptsMade: 1,
    },
    'job.redriven': { id, queue: 'ship', name: 'vvtool.send', account, patch: { out_sid: 'YT0000001' } },
    'account.held': {
      id: account,
      provider: 'vvtool',
      reason: 'token rejected; fix the account, then resume',
      code: 401,
      since: new Date().toISOString(),
    },
    'account.resumed': { id: account, provider: 'vvtool' },
  };
}
