/** The demo's command line: `npm run demo -- [--keep] [--keep-running] [--timeout SECONDS]`. Pure. */
import { parseArgs } from 'node:util';

export interface DemoOptions {
  /** Leave the demo's Redis keys in place at the end (and say how to look at them). */
  readonly keep: boolean;
  /** After the summary, keep the service, Bull Board and sandbox up until Ctrl-C. */
  readonly keepRunning: boolean;
  /** Give up after this long if the traffic has not settled. */
  readonly timeoutMs: number;
  readonly help: boolean;
}

export const USAGE = `Usage: npm run demo -- [options]

Starts a sandbox of both upstreams and the service (HTTP API, Bull Board, workers), sends a few
hundred jobs with scripted faults through the HTTP API, shows progress, and prints a summary.

Options:
  --keep            keep the demo's Redis keys at the end (prefix demo-…), and say how to look at them
  --keep-running    after the summary, keep the service, Bull Board and the sandbox running until Ctrl-C
  --timeout SECONDS give up if the traffic has not settled by then (default 180)
  --help            this text

Environment: REDIS_URL (default redis://127.0.0.1:6379). When nothing answers there, the demo starts a
private redis-server if one is installed, else a Redis container if Docker is available.`;

const TIMEOUT_ERROR = '--timeout takes a whole number of seconds from 10 to 3600';

export function parseDemoArgs(
  argv: readonly string[],
): { ok: true; options: DemoOptions } | { ok: false; error: string } {
  let values: { keep?: boolean; 'keep-running'?: boolean; timeout?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        keep: { type: 'boolean' },
        'keep-running': { type: 'boolean' },
        timeout: { type: 'string', default: '180' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    const message = (err as Error).message;
    if (message.includes("'--timeout")) return { ok: false, error: TIMEOUT_ERROR };
    return {
      ok: false,
      error: `unknown option ${/'([^' ]*)/.exec(message)?.[1] ?? argv.join(' ')} (see --help)`,
    };
  }
  const seconds = Number(values.timeout);
  if (!/^\d+$/.test(values.timeout ?? '') || seconds < 10 || seconds > 3600)
    return { ok: false, error: TIMEOUT_ERROR };
  const options = { keep: values.keep ?? false, keepRunning: values['keep-running'] ?? false };
  return { ok: true, options: { ...options, timeoutMs: seconds * 1000, help: values.help ?? false } };
}
