import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { failedStatus, promptFor, receiptLines, resultFields, totalsCount } from '../../../firmware-bridge/devices/zvt/results.js';
import { PaymentJournal } from '../../../firmware-bridge/devices/zvt/journal.js';
import { tempDir } from '../../helpers/tmp.js';

const tmp = tempDir('sgw-zvt-journal-');
afterAll(() => tmp.remove());

describe('zvt payloads', () => {
  it('maps the intermediate status codes to prompts; unknown codes are other', () => {
    expect([0x0a, 0x01, 0x15, 0x17, 0x04, 0x0b, 0x4a, 0x0c, 0x1d, 0xa0].map(promptFor)).toEqual([
      'insertCard', 'enterPin', 'pinWrong', 'pleaseWait', 'processing', 'removeCard', 'removeCard', 'tryAgain', 'notAccepted', 'other',
    ]);
    expect(failedStatus(0x6c)).toBe('cancelled');
    expect(failedStatus(0x05)).toBe('declined');
  });
  it('cuts terminal fields to the schema and drops what cannot be trusted', () => {
    const r = resultFields(
      { resultCode: 0, amount: 500, currency: '978', maskedPan: '5413330089020771', cardName: `Card\u0007${'x'.repeat(60)}`, receiptNo: '123456789', terminalId: '2900 1006' },
      { amount: 1000, currency: 'EUR' },
      [`line 1\nline 2`, 'y'.repeat(100)],
    );
    expect(r).toEqual({ amount: 500, currency: 'EUR', resultCode: 0, cardType: `Card ${'x'.repeat(35)}`, terminalId: '2900 1006', receipt: ['line 1', 'line 2', 'y'.repeat(80)] });
    // More than the register asked for is never taken as the amount.
    expect(resultFields({ resultCode: 5, amount: 99_999_999_999 }, { amount: 700, currency: 'EUR' }, [])).toMatchObject({ amount: 700 });
    expect(receiptLines(Array.from({ length: 300 }, () => 'a'))).toHaveLength(200);
  });
  it('counts the single totals of an End-of-Day', () => {
    const groups = [2, 0, 1, 0, 0, 0, 3].map((n) => Buffer.concat([Buffer.from([n]), Buffer.alloc(6)]));
    expect(totalsCount(Buffer.concat([Buffer.from('04710476', 'hex'), ...groups]))).toBe(6);
    expect(totalsCount(Buffer.from('0102', 'hex'))).toBeUndefined();
  });
});

describe('zvt payment journal', () => {
  it('keeps open payments across a restart, skips a torn last line, and compacts', () => {
    const j = new PaymentJournal(tmp.dir, 'pt-j');
    j.open();
    const rec = { ts: '2026-12-05T10:00:00.000Z', amount: 100, currency: 'EUR' };
    j.write({ ...rec, requestId: 'a', phase: 'started' });
    j.write({ ...rec, requestId: 'a', phase: 'committing', receiptNo: '0471', trace: '000471' });
    j.write({ ...rec, requestId: 'b', phase: 'started' });
    j.write({ ...rec, requestId: 'b', phase: 'done', trace: '000472' });
    j.close();
    appendFileSync(j.file, '{"ts":"2026-12-05T10:00:01.000Z","requestId":"a","pha');
    const again = new PaymentJournal(tmp.dir, 'pt-j');
    again.open();
    expect(again.openRecords().map((r) => [r.requestId, r.phase])).toEqual([['a', 'committing']]);
    expect(again.receiptNoOf('a')).toBe('0471');
    expect([...again.knownTraces('a')]).toEqual(['000472']);
    expect(readFileSync(again.file, 'utf8').trim().split('\n')).toHaveLength(2);
    again.close();
  });
  it('a journal that is not JSON at all is read as empty, not a crash', () => {
    writeFileSync(path.join(tmp.dir, 'zvt-pt-x.jsonl'), '\u0000\u0001garbage\n[1,2]\n');
    const j = new PaymentJournal(tmp.dir, 'pt-x');
    j.open();
    expect(j.openRecords()).toEqual([]);
    j.close();
  });
});
