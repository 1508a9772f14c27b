/**
 * The shape of a kiosk page's intent, checked at the socket before it reaches the session: a bad
 * one is answered with an error naming the field instead of being dropped in silence. Pure. Any
 * price, total or amount the page adds is not a field of any intent and is never read.
 */
import type { KioskIntent } from '../protocol/schemas/kiosk.js';
import type { Action } from './sessionMachine.js';

const MAX_TEXT = 512;
const MAX_QTY = 999;

type Msg = Record<string, unknown>;
type Rule = (m: Msg) => string | null;

const text = (field: string, max = MAX_TEXT): Rule => (m) =>
  typeof m[field] !== 'string' ? `${field}: must be a string` : (m[field] as string).length === 0 || (m[field] as string).length > max ? `${field}: must be 1..${max} characters` : null;
const optionalText = (field: string, max = 64): Rule => (m) => (m[field] === undefined ? null : text(field, max)(m));
const qty: Rule = (m) => (typeof m.qty !== 'number' || !Number.isInteger(m.qty) || m.qty < 0 || m.qty > MAX_QTY ? `qty: must be an integer 0..${MAX_QTY}` : null);

const RULES: Record<string, Rule[]> = {
  scan: [text('code'), optionalText('symbology')],
  setQty: [text('lineId', 64), qty],
  remove: [text('lineId', 64), optionalText('serial', 20)],
  member: [text('code', 64)],
  pickProduce: [text('gtin', 14)],
  pay: [],
  cancel: [],
  help: [],
  pickupConfirm: [],
  pickupClose: [],
};

/** null for a well-formed intent, else `field: what is wrong` (the first problem). */
export function intentProblem(m: unknown): string | null {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return '(root): must be a JSON object';
  const type = (m as Msg).type;
  if (typeof type !== 'string') return 'type: must be a string';
  const rules = Object.prototype.hasOwnProperty.call(RULES, type) ? RULES[type] : undefined;
  if (!rules) return `type: unknown intent ${JSON.stringify(type.slice(0, 32))}`;
  for (const r of rules) {
    const p = r(m as Msg);
    if (p) return p;
  }
  return null;
}

/**
 * A checked intent → the session action it asks for (null: nothing to do). The page's scan field
 * counts only in the demo, where it stands in for the scanner; a member code is looked up here.
 */
export function intentAction(m: KioskIntent, k: { demo: boolean; scan: (code: string, symbology: string | undefined) => Action; knownMember: (code: string) => boolean }): Action | null {
  switch (m.type) {
    case 'scan':
      return k.demo && typeof m.code === 'string' && m.code.length <= MAX_TEXT ? k.scan(m.code, typeof m.symbology === 'string' ? m.symbology : undefined) : null;
    case 'setQty':
      return typeof m.lineId === 'string' && Number.isInteger(m.qty) ? { type: 'setQty', lineId: m.lineId, qty: m.qty } : null;
    case 'remove':
      return typeof m.lineId === 'string' ? { type: 'remove', lineId: m.lineId, ...(typeof m.serial === 'string' ? { serial: m.serial } : {}) } : null;
    case 'member':
      return typeof m.code === 'string' ? { type: 'member', code: m.code, known: k.knownMember(m.code) } : null;
    case 'pickProduce':
      return typeof m.gtin === 'string' ? { type: 'pickProduce', gtin: m.gtin } : null;
    case 'pay':
    case 'cancel':
    case 'help':
      return { type: m.type };
    default:
      return null;
  }
}
