import type {
  CallFilter,
  CallRecord,
  FaultSettings,
  SandboxProvider,
  SandboxReport,
  ScriptedAnswer,
} from './types.js';

/** The sandbox's control methods over HTTP, for tests and tools that run it in another process. */
export interface SandboxControl {
  calls(filter?: CallFilter): Promise<CallRecord[]>;
  report(): Promise<SandboxReport>;
  script(provider: SandboxProvider, orderKey: string, answers: ScriptedAnswer[]): Promise<void>;
  setFaults(faults: FaultSettings | null): Promise<void>;
  setBalance(label: string, balance: number): Promise<void>;
  setLatency(ms: number): Promise<void>;
  /** From the report: there is no balance route of its own. */
  balance(label: string): Promise<number>;
  reset(): Promise<void>;
}

/** A client of /_sandbox/ at `url` (the sandbox's base URL). Throws on any answer but 200, with its error. */
export function sandboxControl(url: string): SandboxControl {
  const base = url.replace(/\/+$/, '');
  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const init: RequestInit = { method };
    if (method === 'POST') {
      init.headers = { 'content-type': 'application/json' };
      init.body = JSON.stringify(body ?? null);
    }
    const res = await fetch(`${base}/_sandbox/${path}`, init);
    const text = await res.text();
    if (res.status !== 200) {
      throw new Error(`sandbox control ${method} /_sandbox/${path} answered ${res.status}: ${errorOf(text)}`);
    }
    return JSON.parse(text) as T;
  };

  return {
    async calls(filter = {}) {
      const query = new URLSearchParams();
      if (filter.account !== undefined) query.set('account', filter.account);
      if (filter.since !== undefined) query.set('since', String(filter.since));
      const search = query.size > 0 ? `?${query}` : '';
      return (await call<{ items: CallRecord[] }>('GET', `calls${search}`)).items;
    },
    report: () => call<SandboxReport>('GET', 'report'),
    async script(provider, orderKey, answers) {
      await call('POST', 'script', { provider, orderKey, answers });
    },
    async setFaults(faults) {
      await call('POST', 'faults', faults);
    },
    async setLatency(ms) {
      await call('POST', 'latency', { ms });
    },
    async setBalance(label, balance) {
      await call('POST', 'balance', { account: label, balance });
    },
    async balance(label) {
      const account = (await call<SandboxReport>('GET', 'report')).byAccount[label];
      if (account === undefined) throw new Error(`sandbox has no account labelled ${label}`);
      return account.balance;
    },
    async reset() {
      await call('POST', 'reset');
    },
  };
}

function errorOf(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown };
    if (typeof body.error === 'string') return body.error;
  } catch {
    // Not JSON: the text itself, cut short, says what happened.
  }
  return text.slice(0, 200);
}
