import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { cell, record, table } from '../../src/cli/output.js';

/** A vv-tool 614 message, as a dead letter carries it: Chinese characters take two columns each. */
const ALREADY_SHIPPED = '物流订单状态不为新建状态,无需发货处理';

interface Row {
  readonly message: string;
  readonly code: number;
}

describe('CLI tables', () => {
  it('align columns by terminal width when a cell is Chinese', () => {
    const rows: Row[] = [
      { message: ALREADY_SHIPPED, code: 614 },
      { message: 'timeout', code: 101 },
      { message: '系统异常', code: 614 },
    ];
    const text = table<Row>(
      [
        { title: 'message', value: (r) => r.message },
        { title: 'code', value: (r) => r.code, align: 'right' },
      ],
      rows,
    );
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    // The last column is right-aligned, so every line ends at the same terminal column.
    const widths = lines.map((line) => stringWidth(line));
    expect(new Set(widths).size).toBe(1);
    expect(widths[0]).toBe(stringWidth(ALREADY_SHIPPED) + 2 + 'CODE'.length);
  });

  it('cut a long Chinese cell to its column limit, between whole characters', () => {
    const text = cell(ALREADY_SHIPPED, 11);
    expect(stringWidth(text)).toBeLessThanOrEqual(11);
    expect(text).toBe('物流订单状…');
    expect(cell('timeout', 11)).toBe('timeout');
  });

  it('align record labels and values', () => {
    const lines = record([
      ['message', ALREADY_SHIPPED],
      ['code', 614],
    ]).split('\n');
    expect(lines[0]!.indexOf(ALREADY_SHIPPED)).toBe(lines[1]!.indexOf('614'));
  });
});
