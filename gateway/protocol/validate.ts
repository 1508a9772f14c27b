/**
 * One ajv instance, every schema compiled once (fastify style). Errors are turned into one line per
 * problem that names the field path and what was expected: `data.grams: must be integer`.
 */
import { isUtf8 } from 'node:buffer';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { TSchema, Static } from '@sinclair/typebox';
import { CATALOGUE, type EventClass } from './schemas/index.js';
import { Birth } from './schemas/common.js';
import { isDeviceKind, type DeviceKind } from './topics.js';
import { MAX_EVENT_DEPTH, deeperThan } from './jsonDepth.js';

// ajv-formats ships CJS with a default export; under NodeNext it arrives either way.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: Ajv) => Ajv;

export function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true, coerceTypes: false });
  addFormats(ajv);
  return ajv;
}

const shared = createAjv();

/**
 * A validator for a schema, compiled on its first use and then reused. Most modules make theirs at
 * import, and a process uses a few of them: compiling every one at start cost each gateway start
 * about a third of its CPU (ajv generates and compiles code per schema). `errors` is the last
 * call's, as with ajv's own functions. `compileNow` is for what must not wait on first use.
 */
export function compile<S extends TSchema>(schema: S, ajv: Ajv = shared): ValidateFunction<Static<S>> {
  let fn: ValidateFunction | undefined;
  const lazy = ((data: unknown) => {
    fn ??= ajv.compile(schema);
    const ok = fn(data);
    lazy.errors = fn.errors;
    return ok;
  }) as ValidateFunction<Static<S>>;
  lazy.errors = null;
  lazy.schema = schema;
  return lazy;
}

/** Compiles a schema now (start-up), so its first use pays nothing. */
export function compileNow<S extends TSchema>(schema: S, ajv: Ajv = shared): ValidateFunction<Static<S>> {
  return ajv.compile(schema) as ValidateFunction<Static<S>>;
}

/** `/devices/3/kind` → `devices[3].kind` under a root name (`data`, `config`…; '' for none). */
export function pathOf(root: string, instancePath: string, extra?: string): string {
  let out = root;
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  for (const p of parts) {
    if (/^\d+$/.test(p)) out += `[${p}]`;
    else out += out === '' ? p : `.${p}`;
  }
  return out === '' ? '(root)' : out;
}

/** Formats ajv errors as `path: message` lines, collapsing the noise of unions. */
export function formatErrors(errors: ErrorObject[] | null | undefined, root = 'data'): string[] {
  if (!errors || errors.length === 0) return [];
  const lines: string[] = [];
  // A union of literals yields one `const` error per branch plus `anyOf`: say "must be one of".
  const constsByPath = new Map<string, unknown[]>();
  for (const e of errors) {
    if (e.keyword === 'const') {
      const list = constsByPath.get(e.instancePath) ?? [];
      list.push((e.params as { allowedValue: unknown }).allowedValue);
      constsByPath.set(e.instancePath, list);
    }
  }
  const seen = new Set<string>();
  for (const e of errors) {
    let line: string;
    switch (e.keyword) {
      case 'required':
        line = `${pathOf(root, e.instancePath, (e.params as { missingProperty: string }).missingProperty)}: is required`;
        break;
      case 'additionalProperties':
        line = `${pathOf(root, e.instancePath, (e.params as { additionalProperty: string }).additionalProperty)}: is not allowed`;
        break;
      case 'const':
        continue;
      case 'anyOf': {
        const consts = constsByPath.get(e.instancePath);
        if (!consts) {
          line = `${pathOf(root, e.instancePath)}: must match one of the allowed shapes`;
          break;
        }
        line = `${pathOf(root, e.instancePath)}: must be one of ${consts.map((c) => JSON.stringify(c)).join(', ')}`;
        break;
      }
      case 'enum':
        line = `${pathOf(root, e.instancePath)}: must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues).map((c) => JSON.stringify(c)).join(', ')}`;
        break;
      default:
        line = `${pathOf(root, e.instancePath)}: ${e.message ?? e.keyword}`;
    }
    if (!seen.has(line)) {
      seen.add(line);
      lines.push(line);
    }
  }
  // When a union branch failed for a deeper reason, the deeper lines are kept and the anyOf line is noise.
  return lines.length > 1 ? lines.filter((l) => !l.endsWith('must match one of the allowed shapes')) : lines;
}

export type EventCheck =
  | { ok: true; cls: EventClass; data: Record<string, unknown> }
  | { ok: false; code: 'SGW_ERR_UNKNOWN_TYPE' | 'SGW_ERR_BAD_JSON' | 'SGW_ERR_SCHEMA'; reason: string };

interface CompiledKind {
  events: Map<string, { validate: ValidateFunction; cls: EventClass }>;
  commands: Map<string, ValidateFunction>;
}

const compiled = new Map<DeviceKind, CompiledKind>();
function compiledKind(kind: DeviceKind): CompiledKind {
  let c = compiled.get(kind);
  if (!c) {
    const spec = CATALOGUE[kind];
    c = { events: new Map(), commands: new Map() };
    for (const [type, ev] of Object.entries(spec.events)) c.events.set(type, { validate: compileNow(ev.schema), cls: ev.cls });
    for (const [type, schema] of Object.entries(spec.commands)) c.commands.set(type, compileNow(schema));
    compiled.set(kind, c);
  }
  return c;
}

/**
 * Compiles the schemas of the given device kinds now (start-up), so a device's first event pays
 * nothing; without a list, every kind of the catalogue. The gateway passes the kinds its config
 * lists: a kind no configured device has cannot send (the broker refuses unknown devices), and
 * compiling all of them cost every start about 0.1 s of CPU (the kiosk and payment schemas most).
 */
export function warmUp(kinds?: Iterable<DeviceKind>): void {
  for (const kind of kinds ?? Object.keys(CATALOGUE).filter(isDeviceKind)) compiledKind(kind);
}

export function eventClassOf(kind: DeviceKind, type: string): EventClass | undefined {
  return compiledKind(kind).events.get(type)?.cls;
}

/** Parses and validates one device event payload. Never throws on wire input. */
export function checkEvent(kind: DeviceKind, type: string, payload: Buffer | string): EventCheck {
  const spec = compiledKind(kind).events.get(type);
  if (!spec) {
    const known = [...compiledKind(kind).events.keys()].join(', ');
    return { ok: false, code: 'SGW_ERR_UNKNOWN_TYPE', reason: `topic.type: ${kind} has no event "${type}" (known: ${known})` };
  }
  // RFC 8259 §8.1: JSON between systems is UTF-8. Decoding other bytes would put U+FFFD where they
  // were, and the stored event would differ from the one the device sent and we acknowledged.
  if (typeof payload !== 'string' && !isUtf8(payload)) {
    return { ok: false, code: 'SGW_ERR_BAD_JSON', reason: 'data: is not valid UTF-8 (JSON must be UTF-8, RFC 8259 §8.1)' };
  }
  let data: unknown;
  try {
    data = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch (err) {
    return { ok: false, code: 'SGW_ERR_BAD_JSON', reason: `data: is not valid JSON (${(err as Error).message})` };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, code: 'SGW_ERR_SCHEMA', reason: 'data: must be a JSON object' };
  }
  const deep = deeperThan(data, MAX_EVENT_DEPTH);
  if (deep !== null) return { ok: false, code: 'SGW_ERR_SCHEMA', reason: `${deep}: is nested deeper than ${MAX_EVENT_DEPTH} levels` };
  if (!spec.validate(data)) {
    return { ok: false, code: 'SGW_ERR_SCHEMA', reason: formatErrors(spec.validate.errors).join('; ') };
  }
  // An unpaired surrogate (`"\ud800"`, legal JSON, not Unicode text; RFC 8259 §8.2) cannot be
  // stored as text by any store that keeps the parsed value (SQLite TEXT is UTF-8: it would
  // become U+FFFD), so the event is refused rather than acknowledged and altered downstream.
  // JSON spells a surrogate only as a `\u` escape: payloads without one skip the walk.
  const bad = payload.includes('\\u') ? unpairedSurrogateAt(data, 'data') : null;
  if (bad) return { ok: false, code: 'SGW_ERR_SCHEMA', reason: `${bad}: must be Unicode text (holds an unpaired UTF-16 surrogate)` };
  return { ok: true, cls: spec.cls, data: data as Record<string, unknown> };
}

/** A surrogate code unit without its partner (String.prototype.isWellFormed, before ES2024 types). */
const UNPAIRED = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The path of the first string (or key) holding an unpaired surrogate, or null. */
export function unpairedSurrogateAt(v: unknown, at: string): string | null {
  if (typeof v === 'string') return UNPAIRED.test(v) ? at : null;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = unpairedSurrogateAt(v[i], `${at}[${i}]`);
      if (p) return p;
    }
    return null;
  }
  if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      if (UNPAIRED.test(k)) return `${at}.${k.replace(UNPAIRED, '\uFFFD')}`;
      const p = unpairedSurrogateAt(x, `${at}.${k}`);
      if (p) return p;
    }
  }
  return null;
}

/** Validates a command the gateway is about to send; returns problems, empty when valid. */
export function checkCommand(kind: DeviceKind, type: string, payload: unknown): string[] {
  const v = compiledKind(kind).commands.get(type);
  if (!v) return [`cmd.type: ${kind} has no command "${type}"`];
  return v(payload) ? [] : formatErrors(v.errors, 'cmd');
}

const birthValidate = compile(Birth);
export function checkBirth(payload: Buffer): { ok: true; data: Static<typeof Birth> } | { ok: false; reason: string } {
  let data: unknown;
  try {
    data = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `birth: is not valid JSON (${(err as Error).message})` };
  }
  if (!birthValidate(data)) return { ok: false, reason: formatErrors(birthValidate.errors, 'birth').join('; ') };
  return { ok: true, data };
}
