import type { Provider } from '../../src/config/index.js';
import { type Answer, type CapturedRequest, startCaptureServer } from '../upstreams/capture-server.js';

/** One forced answer: a provider code (with vv-tool `msg` / damaijia `err`), or a transport fault. */
export type Scripted =
  | { readonly code: number; readonly msg?: string; readonly err?: string }
  | { readonly fault: 'http500' | 'http429' | 'garbage' | 'reset' | 'stall' };

export interface ScriptedUpstream {
  readonly vvtoolBaseUrl: string;
  readonly damaijiaBaseUrl: string;
  /** Answers consumed one per call for that order (vv-tool tid, damaijia order_no / orderSns). */
  script(provider: Provider, orderKey: string, answers: readonly Scripted[]): void;
  close(): Promise<void>;
}

const VVTOOL_PREFIX = '/vvtool';
const DAMAIJIA_PREFIX = '/damaijia';

/**
 * Both upstreams on one capture server, speaking each document's answer shape, with answers scripted
 * per order the way the project sandbox scripts them. Charges 1 coupon on success.
 */
export async function startScriptedUpstream(): Promise<ScriptedUpstream> {
  const scripts = new Map<string, Scripted[]>();

  // The capture server answers synchronously, so the tid is read from the multipart text directly
  // (wire-format.test.ts checks the multipart itself with a real parser).
  const orderKey = (request: CapturedRequest): { provider: Provider; key: string } => {
    if (request.path.startsWith(VVTOOL_PREFIX)) {
      const match = /name="tid"\r\n\r\n([^\r]*)\r\n/.exec(request.body.toString('utf8'));
      return { provider: 'vvtool', key: match?.[1] ?? '' };
    }
    const json = JSON.parse(request.body.toString('utf8')) as Record<string, unknown>;
    return { provider: 'damaijia', key: String(json['order_no'] ?? json['orderSns'] ?? '') };
  };

  const server = await startCaptureServer((request) => {
    const { provider, key } = orderKey(request);
    const next = scripts.get(`${provider}:${key}`)?.shift() ?? { code: 0 };
    return answerFor(provider, next);
  });
  const base = server.baseUrl;
  return {
    vvtoolBaseUrl: `${base}${VVTOOL_PREFIX}`,
    damaijiaBaseUrl: `${base}${DAMAIJIA_PREFIX}`,
    script(provider, key, answers) {
      scripts.set(`${provider}:${key}`, [...answers]);
    },
    close: () => server.close(),
  };
}

function answerFor(provider: Provider, scripted: Scripted): Answer {
  if ('fault' in scripted) {
    switch (scripted.fault) {
      case 'http500':
        return { status: 500, body: 'Internal Server Error', contentType: 'text/plain' };
      case 'http429':
        return { status: 429, body: 'Too Many Requests', contentType: 'text/plain' };
      case 'garbage':
        return { body: '<html><body>nginx</body></html>', contentType: 'text/html' };
      case 'reset':
        return { fault: 'close' };
      case 'stall':
        return { fault: 'stall' };
    }
  }
  const charge = scripted.code === 0 ? 1 : 0;
  if (provider === 'vvtool') {
    return {
      body: {
        code: scripted.code,
        msg: scripted.msg ?? (scripted.code === 0 ? '成功' : 'error'),
        msec: 12,
        time: 1612416107,
        data: scripted.code === 0 ? [{ withholding_money: charge, success: true }] : [],
      },
    };
  }
  return {
    body: {
      status: scripted.code,
      ...(scripted.err === undefined ? {} : { err: scripted.err }),
      ...(scripted.msg === undefined ? {} : { msg: scripted.msg }),
      data: { success: scripted.code === 0, amount: charge },
    },
  };
}
