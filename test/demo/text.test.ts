// The demo's pure text pieces: reading /metrics, the command line, the progress line.
import { describe, expect, it } from 'vitest';
import { parseDemoArgs } from '../../demo/args.js';
import { progressLine, progressWriter, serviceCounts, totalRetries } from '../../demo/scenario.js';
import { parseExposition } from '../../support/exposition.js';

const parseMetrics = (text: string) => parseExposition(text, { strict: false });

const METRICS = `# HELP fulfillment_queue_jobs Jobs in each queue by BullMQ state
# TYPE fulfillment_queue_jobs gauge
fulfillment_queue_jobs{queue="ship",state="waiting"} 7
fulfillment_queue_jobs{queue="ship",state="prioritized"} 1
fulfillment_queue_jobs{queue="sync",state="waiting"} 2
fulfillment_queue_jobs{queue="ship",state="completed"} 40
fulfillment_queue_jobs{queue="sync",state="completed"} 5
fulfillment_queue_jobs{queue="dead-letter",state="waiting"} 3
fulfillment_queue_jobs{queue="ship",state="delayed"} 4
fulfillment_dead_letter_jobs 3
fulfillment_job_outcomes_total{queue="ship",name="vvtool.send",provider="vvtool",code="101",outcome="retry"} 6
fulfillment_job_outcomes_total{queue="sync",name="damaijia.sync",provider="damaijia",code="none",outcome="retry"} 2
fulfillment_job_outcomes_total{queue="ship",name="damaijia.delivery",provider="damaijia",code="none",outcome="retry"} 1
fulfillment_job_outcomes_total{queue="ship",name="vvtool.send",provider="vvtool",code="0",outcome="done"} 40
fulfillment_account_held{account="dmj-2",provider="damaijia"} 1
fulfillment_account_held{account="vv-1",provider="vvtool"} 0
odd_metric{label="a \\"quoted\\" \\\\ value"} 1.5e3
not a sample line
`;

describe('reading /metrics', () => {
  const samples = parseMetrics(METRICS);

  it('parses samples with their labels, skipping comments and lines that are not samples', () => {
    expect(samples).toHaveLength(15);
    expect(samples.at(-1)).toEqual({
      name: 'odd_metric',
      labels: { label: 'a "quoted" \\ value' },
      value: 1500,
    });
  });

  it('counts the work queues only (not the dead-letter queue), retries by code, and held accounts', () => {
    const counts = serviceCounts(samples);
    expect(counts).toEqual({
      waiting: 10,
      active: 0,
      delayed: 4,
      completed: 45,
      failed: 0,
      dead: 3,
      retriesByCode: { '101': 6, none: 3 },
      held: ['dmj-2'],
    });
    expect(totalRetries(counts)).toBe(9);
  });
});

describe('demo command line', () => {
  it('has defaults and takes each flag', () => {
    expect(parseDemoArgs([])).toEqual({
      ok: true,
      options: { keep: false, keepRunning: false, timeoutMs: 180_000, help: false },
    });
    expect(parseDemoArgs(['--keep', '--keep-running', '--timeout', '60'])).toEqual({
      ok: true,
      options: { keep: true, keepRunning: true, timeoutMs: 60_000, help: false },
    });
    expect(parseDemoArgs(['--timeout=30', '-h'])).toMatchObject({
      ok: true,
      options: { timeoutMs: 30_000, help: true },
    });
  });

  it('refuses what it does not know, and timeouts that are not whole seconds in range', () => {
    expect(parseDemoArgs(['--kep'])).toEqual({ ok: false, error: 'unknown option --kep (see --help)' });
    for (const argv of [
      ['--timeout'],
      ['--timeout', 'x'],
      ['--timeout=5'],
      ['--timeout', '1.5'],
      ['--timeout=99999'],
    ]) {
      expect(parseDemoArgs(argv)).toMatchObject({ ok: false });
    }
  });
});

const counts = serviceCounts(parseMetrics(METRICS));

describe('demo progress', () => {
  it('names the counts and the held accounts on one line', () => {
    expect(progressLine('[ 12.3 s]', 290, counts)).toBe(
      '[ 12.3 s] sent 290 · done 45 · waiting 10 · active 0 · delayed 4 · dead 3 · retries 9 · held dmj-2',
    );
  });

  it('rewrites one line on a terminal (one column short of its width, so it never wraps), events above it', () => {
    const written: string[] = [];
    const out = { isTTY: true, columns: 30, write: (text: string) => written.push(text) };
    const progress = progressWriter(out);
    progress.update('first status line that is much too long for thirty columns');
    progress.event('an event');
    progress.update('second');
    progress.finish();
    expect(written).toEqual([
      '\r\x1b[2Kfirst status line that is muc',
      '\r\x1b[2Kan event\nfirst status line that is muc',
      '\r\x1b[2Ksecond',
      '\n',
    ]);
  });

  it('prints a line at most every interval when not on a terminal, and every event', () => {
    const written: string[] = [];
    let now = 0;
    const progress = progressWriter({ write: (text: string) => written.push(text) }, 2_000, () => now);
    progress.update('a');
    now = 1_000;
    progress.update('b');
    progress.event('e');
    now = 2_000;
    progress.update('c');
    progress.finish();
    expect(written).toEqual(['a\n', 'e\n', 'c\n']);
  });
});
