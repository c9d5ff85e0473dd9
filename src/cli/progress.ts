import type { Output } from './output.js';

const BAR_WIDTH = 30;

/**
 * Progress of a long run on stderr: a bar redrawn in place when stderr is a terminal, plain
 * `label: done/total` lines otherwise (a log file or CI gets readable lines, not carriage returns).
 */
export class Progress {
  readonly #out: Output;
  readonly #total: number;
  readonly #label: string;
  #drawn = false;

  constructor(out: Output, total: number, label: string) {
    this.#out = out;
    this.#total = total;
    this.#label = label;
  }

  update(done: number): void {
    if (!this.#out.isTTY) {
      this.#out.write(`${this.#label}: ${done}/${this.#total}\n`);
      return;
    }
    const share = this.#total === 0 ? 1 : done / this.#total;
    const filled = Math.round(share * BAR_WIDTH);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}`;
    // \r back to the line start, \x1b[K clears what a longer previous line left behind.
    this.#out.write(`\r${this.#label} [${bar}] ${done}/${this.#total} (${Math.floor(share * 100)}%)\x1b[K`);
    this.#drawn = true;
  }

  /** Ends the bar's line, so what follows starts on a fresh one. */
  end(): void {
    if (this.#drawn) this.#out.write('\n');
    this.#drawn = false;
  }
}
