/**
 * Progress while the demo runs: one line rewritten in place on a terminal, a line every few seconds
 * otherwise (a log file or CI), with event lines (an account held, a redrive) printed above it.
 */
import type { ServiceCounts } from './prometheus.js';
import { totalRetries } from './prometheus.js';

export interface ProgressWriter {
  /** A line that stays (printed above the progress line). */
  event(line: string): void;
  /** The current status; shown at once on a terminal, at most every `everyMs` otherwise. */
  update(status: string): void;
  /** Ends the progress line so that what follows starts on a line of its own. */
  finish(): void;
}

export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

const CLEAR_LINE = '\r\x1b[2K';

export function progressWriter(out: Output, everyMs = 2_000, now: () => number = Date.now): ProgressWriter {
  let shown = '';
  let lastPrinted = Number.NEGATIVE_INFINITY;
  if (out.isTTY) {
    const clip = (text: string) => text.slice(0, Math.max(20, (out.columns ?? 100) - 1));
    return {
      event(line) {
        out.write(`${CLEAR_LINE}${line}\n${shown}`);
      },
      update(status) {
        shown = clip(status);
        out.write(`${CLEAR_LINE}${shown}`);
      },
      finish() {
        if (shown !== '') out.write('\n');
        shown = '';
      },
    };
  }
  return {
    event(line) {
      out.write(`${line}\n`);
    },
    update(status) {
      if (now() - lastPrinted < everyMs) return;
      lastPrinted = now();
      out.write(`${status}\n`);
    },
    finish() {},
  };
}

export function progressLine(elapsedMs: number, sent: number, counts: ServiceCounts): string {
  const parts = [
    `sent ${sent}`,
    `done ${counts.completed}`,
    `waiting ${counts.waiting}`,
    `active ${counts.active}`,
    `delayed ${counts.delayed}`,
    `dead ${counts.dead}`,
    `retries ${totalRetries(counts)}`,
  ];
  if (counts.held.length > 0) parts.push(`held ${counts.held.join(',')}`);
  return `[${(elapsedMs / 1000).toFixed(1).padStart(5)} s] ${parts.join(' · ')}`;
}
