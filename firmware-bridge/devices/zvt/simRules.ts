/**
 * How the simulated terminal decides a payment, by the amount's last two digits (minor units), so
 * the demo and the browser tests pick an outcome by price. README.md §Simulator lists them.
 */

export type SimOutcome =
  | 'approve'
  | 'decline'
  | 'timeout'
  | 'customerCancel'
  /** Approves half the amount (a prepaid card with too little on it). */
  | 'partial'
  /** Waits at "insert card" until the ECR aborts (or a minute passes: then as timeout). */
  | 'waitForCard'
  | 'dropBeforeStatus'
  | 'dropAfterStatus'
  | 'dropAfterAck'
  | 'dropBeforeCompletion';

export const AMOUNT_RULES: Readonly<Record<string, SimOutcome>> = Object.freeze({
  '13': 'decline',
  '66': 'timeout',
  '67': 'customerCancel',
  '77': 'partial',
  '55': 'waitForCard',
  '91': 'dropBeforeStatus',
  '92': 'dropAfterStatus',
  '93': 'dropAfterAck',
  '94': 'dropBeforeCompletion',
});

export function outcomeFor(amount: number): SimOutcome {
  const tail = String(Math.trunc(amount) % 100).padStart(2, '0');
  return AMOUNT_RULES[tail] ?? 'approve';
}

/** A small seeded generator (xorshift32) for the joins and splits of the simulator's writes. */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}
