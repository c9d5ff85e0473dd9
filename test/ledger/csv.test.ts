import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvLine } from '../../src/ledger/csv.js';
import { CSV_COLUMNS } from '../../src/ledger/index.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';
import { dmjCall, freshLedger, vvCall } from './fixtures.js';

let t: TestRedis;
beforeAll(async () => {
  t = await testRedis('ledger-csv');
});
afterAll(async () => {
  await t.cleanup();
});

const AT = Date.UTC(2024, 0, 2, 3, 4, 5, 6);
const HEADER = 'id,at,account,provider,operation,shop,order,jobId,attempt,amount,status\r\n';

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

/** A small RFC 4180 reader, so the test checks what a spreadsheet would read, not our own writer. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  expect(cell).toBe('');
  expect(row).toEqual([]);
  return rows;
}

describe('csv', () => {
  it('is a header alone when there are no entries', async () => {
    const ledger = freshLedger(t.redis, t.prefix);
    expect(await collect(ledger.csv({}))).toEqual([HEADER]);
    expect(HEADER).toBe(`${CSV_COLUMNS.join(',')}\r\n`);
  });

  it('writes one line per entry, quoting per RFC 4180 and defusing formulas', async () => {
    const ledger = freshLedger(t.redis, t.prefix);
    const nasty = vvCall({
      jobId: 'job-1',
      shop: '=HYPERLINK("http://evil.example","click")',
      order: '12,34',
      account: 'he said "hi"',
      attempt: 3,
    });
    await ledger.settle(nasty, { amount: 2.5 }, AT);
    await ledger.settle(
      dmjCall({ jobId: 'job-2', shop: '+1 line\nbreak', order: '-2', account: '@acct' }),
      { unknown: true },
      AT + 1,
    );
    await ledger.settle(dmjCall({ jobId: 'job-3', shop: '\tcmd', order: 'plain' }), { amount: 7 }, AT + 2);
    const lines = await collect(ledger.csv({}));
    expect(lines[0]).toBe(HEADER);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toBe(
      'job-1#3,2024-01-02T03:04:05.006Z,"he said ""hi""",vvtool,vvtool.send,' +
        `"'=HYPERLINK(""http://evil.example"",""click"")","12,34",job-1,3,2.5,charged\r\n`,
    );
    const rows = parseCsv(lines.join(''));
    expect(rows[2]).toEqual([
      'job-2#1',
      '2024-01-02T03:04:05.007Z',
      "'@acct",
      'damaijia',
      'damaijia.delivery',
      "'+1 line\nbreak",
      "'-2",
      'job-2',
      '1',
      '',
      'unknown',
    ]);
    expect(rows[3]?.[5]).toBe("'\tcmd");
    for (const row of rows.slice(1)) {
      expect(row).toHaveLength(CSV_COLUMNS.length);
      for (const cell of row) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    }
  });

  it('exports a time range across several batches, in time order', async () => {
    const ledger = freshLedger(t.redis, t.prefix);
    await Promise.all(
      Array.from({ length: 2_300 }, (_, i) => ledger.settle(vvCall(), { amount: 1 }, AT + (i % 5))),
    );
    const rows = parseCsv((await collect(ledger.csv({ from: AT + 1, to: AT + 4 }))).join('')).slice(1);
    expect(rows).toHaveLength(
      Array.from({ length: 2_300 }, (_, i) => i % 5).filter((m) => m >= 1 && m < 4).length,
    );
    const times = rows.map((r) => r[1]!);
    expect(times).toEqual([...times].sort());
    expect(new Set(rows.map((r) => r[0])).size).toBe(rows.length);
    expect(times[0]).toBe(new Date(AT + 1).toISOString());
    expect(times.at(-1)).toBe(new Date(AT + 3).toISOString());
  });
});

describe('csvLine', () => {
  it('quotes as RFC 4180, defuses formula starts and ends in CRLF', () => {
    const cells = ['a', 'b,c', 'd"e', 'f\ng', 'h\ri', '=1+1', '-3', null, 7, '@x', '\tT', ''];
    expect(csvLine(cells)).toBe(`a,"b,c","d""e","f\ng","h\ri",'=1+1,'-3,,7,'@x,'\tT,\r\n`);
  });
});
