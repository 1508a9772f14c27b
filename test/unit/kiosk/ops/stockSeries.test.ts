/** On hand over time, read back from on hand now and the last movements (newest first); a count is where it starts. */
import { describe, expect, it } from 'vitest';
import { onHandSeries } from '../../../../kiosk/ops/stockSeries.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 10, 0, s)).toISOString();
const ms = (s: number) => Date.parse(at(s));

describe('onHandSeries', () => {
  it('walks back through the movements: the level before each is the level after it minus its quantity', () => {
    const moves = [
      { kind: 'sale', qty: -1, eventTime: at(30) },
      { kind: 'adjustment', qty: -2, eventTime: at(20) },
      { kind: 'receipt', qty: 12, eventTime: at(10) },
    ];
    expect(onHandSeries(9, moves, ms(40))).toEqual([
      { t: ms(10) - 1, level: 0 },
      { t: ms(10), level: 12 },
      { t: ms(20), level: 10 },
      { t: ms(30), level: 9 },
      { t: ms(40), level: 9 },
    ]);
  });

  it('starts at a count: what came before it cannot be read back from it', () => {
    const moves = [
      { kind: 'receipt', qty: 4, eventTime: at(30) },
      { kind: 'count', qty: 2, eventTime: at(20) },
      { kind: 'receipt', qty: 12, eventTime: at(10) },
    ];
    expect(onHandSeries(6, moves, ms(40))).toEqual([
      { t: ms(20), level: 2 },
      { t: ms(30), level: 6 },
      { t: ms(40), level: 6 },
    ]);
  });

  it('without movements: one point, on hand now', () => {
    expect(onHandSeries(3, [], 5)).toEqual([{ t: 5, level: 3 }]);
  });
});
