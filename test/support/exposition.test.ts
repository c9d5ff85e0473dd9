import { describe, expect, it } from 'vitest';
import { parseExposition, sumOf } from '../../support/exposition.js';

const TEXT = `# HELP jobs Jobs
# TYPE jobs gauge
jobs{queue="ship",state="waiting"} 7
jobs{queue="sync",state="waiting"} 2
odd{label="a \\"quoted\\" \\\\ value\\nnext"} 1.5e3
`;

describe('support: Prometheus exposition text', () => {
  it('reads samples with their labels, unescaped, and sums them as sum(name{labels}) does', () => {
    const samples = parseExposition(TEXT);
    expect(samples).toHaveLength(3);
    expect(samples[2]).toEqual({ name: 'odd', labels: { label: 'a "quoted" \\ value\nnext' }, value: 1500 });
    expect(sumOf(samples, 'jobs')).toBe(9);
    expect(sumOf(samples, 'jobs', { queue: 'sync' })).toBe(2);
  });

  it('refuses a line it cannot read when strict (the default), and skips it when not', () => {
    const text = `${TEXT}not a sample line\nhalf{a="b"} NaNish\n`;
    expect(() => parseExposition(text)).toThrow('unreadable exposition line: not a sample line');
    expect(parseExposition(text, { strict: false })).toHaveLength(3);
  });
});
