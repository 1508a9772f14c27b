/**
 * The shape of a kiosk page's intent, checked at the socket against the TypeBox schema of its
 * `type` (protocol/schemas/api/kioskIntents.ts) before it reaches the session: a bad one is
 * answered with an error naming the field instead of being dropped in silence. Any price, total or
 * amount the page adds is not a field of any intent and is never read.
 */
import type { ValidateFunction } from 'ajv';
import { KioskHelloSchema, KIOSK_INTENT_SCHEMAS, type KioskHello, type KioskSessionIntent } from '../protocol/schemas/api/kioskIntents.js';
import { compile, formatErrors } from '../protocol/validate.js';
import type { Action } from './sessionMachine.js';

const validators = new Map<string, ValidateFunction>([...KIOSK_INTENT_SCHEMAS].map(([type, schema]) => [type, compile(schema)]));
const helloValidator = compile(KioskHelloSchema);

/** A well-formed hello (its token is checked by the caller). */
export function isHello(m: unknown): m is KioskHello {
  return helloValidator(m);
}

/** A well-formed intent, or `field: what is wrong` for each problem, joined by `; `. */
export function checkIntent(m: unknown): { ok: true; intent: KioskSessionIntent } | { ok: false; problem: string } {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return { ok: false, problem: '(root): must be a JSON object' };
  const type = (m as { type?: unknown }).type;
  if (typeof type !== 'string') return { ok: false, problem: 'type: must be a string' };
  // A Map, so `__proto__` or `toString` is an unknown intent like any other word.
  const validate = validators.get(type);
  if (!validate) return { ok: false, problem: `type: unknown intent ${JSON.stringify(type.slice(0, 32))}` };
  return validate(m) ? { ok: true, intent: m as KioskSessionIntent } : { ok: false, problem: formatErrors(validate.errors, '').join('; ') };
}

/**
 * A checked intent → the session action it asks for (null: nothing to do). The page's scan field
 * counts only in the demo, where it stands in for the scanner; a member code is looked up here.
 */
export function intentAction(m: KioskSessionIntent, k: { demo: boolean; scan: (code: string, symbology: string | undefined) => Action; knownMember: (code: string) => boolean }): Action | null {
  switch (m.type) {
    case 'scan':
      return k.demo ? k.scan(m.code, m.symbology) : null;
    case 'setQty':
      return { type: 'setQty', lineId: m.lineId, qty: m.qty };
    case 'remove':
      return { type: 'remove', lineId: m.lineId, ...(m.serial !== undefined ? { serial: m.serial } : {}) };
    case 'member':
      return { type: 'member', code: m.code, known: k.knownMember(m.code) };
    case 'pickProduce':
      return { type: 'pickProduce', gtin: m.gtin };
    case 'spendPoints':
      return { type: 'spendPoints', points: m.points };
    case 'couponRemove':
      return { type: 'couponRemove', couponId: m.couponId, serial: m.serial };
    case 'pay':
    case 'cancel':
    case 'help':
      return { type: m.type };
    default:
      return null;
  }
}
