/**
 * A serialised item that may not simply be sold: one serial is one physical item, so a serial
 * sold before (here, or at another store per HQ's `serials` feed) being sold again means a clone,
 * a mis-encoded tag or a process error (a return not booked), and a serial HQ lists as stolen or
 * recalled must not be sold at all. Neither is decided by the machine: the item is added and an
 * attendant request (kind `override`, naming the item, the serial and the reason) blocks payment
 * until an attendant approves it (the item is sold) or rejects it (that item leaves the cart).
 */
import type { SerialState } from './serialBook.js';

const REASONS: Record<SerialState, string> = {
  soldHere: 'already sold in this store',
  soldElsewhere: 'already sold in another store',
  stolen: 'reported stolen',
  recalled: 'recalled',
};

/** The request's `item` text: what the attendant reads in the queue and HQ in the attendant record. */
export function serialRequestItem(name: string, serial: string, state: SerialState): string {
  return `${name} serial ${serial}: ${REASONS[state]}`;
}
