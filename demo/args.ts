/** The demo's command line: `npm run demo -- [--keep] [--keep-running] [--timeout SECONDS]`. Pure. */

export interface DemoOptions {
  /** Leave the demo's Redis keys in place at the end (and say how to look at them). */
  readonly keep: boolean;
  /** After the summary, keep the service, Bull Board and sandbox up until Ctrl-C. */
  readonly keepRunning: boolean;
  /** Give up after this long if the traffic has not settled. */
  readonly timeoutMs: number;
  readonly help: boolean;
}

export const DEFAULT_TIMEOUT_S = 180;

export const USAGE = `Usage: npm run demo -- [options]

Starts a sandbox of both upstreams and the service (HTTP API, Bull Board, workers), sends a few
hundred jobs with scripted faults through the HTTP API, shows progress, and prints a summary.

Options:
  --keep            keep the demo's Redis keys at the end (prefix demo-…), and say how to look at them
  --keep-running    after the summary, keep the service, Bull Board and the sandbox running until Ctrl-C
  --timeout SECONDS give up if the traffic has not settled by then (default ${DEFAULT_TIMEOUT_S})
  --help            this text

Environment: REDIS_URL (default redis://127.0.0.1:6379). When nothing answers there, the demo starts a
private redis-server if one is installed, else a Redis container if Docker is available.`;

export function parseDemoArgs(
  argv: readonly string[],
): { ok: true; options: DemoOptions } | { ok: false; error: string } {
  let keep = false;
  let keepRunning = false;
  let help = false;
  let timeoutMs = DEFAULT_TIMEOUT_S * 1000;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    switch (flag) {
      case '--keep':
        keep = true;
        break;
      case '--keep-running':
        keepRunning = true;
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      case '--timeout': {
        const text = inline ?? argv[++i];
        if (text === undefined || !/^\d+$/.test(text) || Number(text) < 10 || Number(text) > 3600) {
          return { ok: false, error: '--timeout takes a whole number of seconds from 10 to 3600' };
        }
        timeoutMs = Number(text) * 1000;
        break;
      }
      default:
        return { ok: false, error: `unknown option ${arg} (see --help)` };
    }
  }
  return { ok: true, options: { keep, keepRunning, timeoutMs, help } };
}
