/**
 * A feed body from a CSV file: one row per entry of the feed's main list (catalog items, price
 * rows, members …), columns named like the entry's fields. The cell text is turned into the type
 * the feed's schema wants (gateway/protocol/schemas/feeds/), and every error names the file, the
 * line and the column.
 *
 * - Nested fields: `label.en`, `gs1.companyPrefix`; a map field takes its key from the column name:
 *   `memberPrices.gold`.
 * - A list of plain values is one cell, values separated by `;` (`tiers` = `gold;silver`).
 * - An empty cell leaves the field out (the schema says whether it may be absent).
 * - Money is an integer in minor units (`price` = `199`), or, in a column `price:decimal`, a
 *   decimal in the currency's major unit (`1.99`), converted exactly by its digits, never through
 *   a float: the currency is the row's `currency` cell or `--currency`; its minor-unit digits come
 *   from ISO 4217 (gateway/protocol/currency.ts), and more digits than the currency has is an
 *   error, never rounded.
 * - Orders and deliveries have lines: one CSV row per line, rows with the same `orderId` /
 *   `deliveryId` form one entry, line fields are the `lines.` columns (`lines.gtin`, `lines.qty`),
 *   and the entry's own columns must repeat the same value on each of its rows.
 */
import type { TSchema } from '@sinclair/typebox';
import type { ErrorObject } from 'ajv';
import { compile } from '../../gateway/protocol/validate.js';
import { currencyByAlpha } from '../../gateway/protocol/currency.js';
import { STORE_FEEDS, type StoreFeedName } from '../../gateway/protocol/schemas/feeds/index.js';
import { couponDefError, type CouponDefT } from '../../gateway/protocol/schemas/feeds/coupons.js';
import { parseCsv } from './csv.js';

interface CsvShape {
  /** The body's list the rows fill. */
  list: string;
  /** For entries with lines: the key column grouping rows, and the list of lines. */
  group?: { key: string; lines: string };
}

export const CSV_SHAPES: Record<StoreFeedName, CsvShape> = {
  catalog: { list: 'items' },
  prices: { list: 'prices' },
  members: { list: 'members' },
  labels: { list: 'bindings' },
  loyalty: { list: 'balances' },
  coupons: { list: 'coupons' },
  serials: { list: 'serials' },
  orders: { list: 'orders', group: { key: 'orderId', lines: 'lines' } },
  deliveries: { list: 'deliveries', group: { key: 'deliveryId', lines: 'lines' } },
};

export interface CsvBodyOptions {
  feed: StoreFeedName;
  /** The file's name as errors show it. */
  file: string;
  mode: 'snapshot' | 'delta';
  /** The body's currency (prices) and the currency of `:decimal` columns without a `currency` cell. */
  currency?: string;
}

export type CsvBodyResult = { ok: true; body: Record<string, unknown>; rows: number } | { ok: false; errors: string[] };

type Schema = TSchema & { type?: string; properties?: Record<string, Schema>; patternProperties?: Record<string, Schema>; items?: Schema; anyOf?: Schema[]; const?: unknown; minimum?: number };

const MAX_ERRORS = 50;

/** The schema of a column path under `item`, or a reason it has none. */
function columnSchema(item: Schema, path: string[]): Schema | string {
  let s: Schema = item;
  for (const [i, part] of path.entries()) {
    // A list of objects (an order's lines) is walked into its items; a union of objects (a coupon's
    // target) offers the fields of every branch, and the entry check picks the branch.
    if (s.type === 'array' && s.items) s = s.items;
    const branches = s.anyOf ?? [s];
    const next = branches.map((b) => b.properties?.[part]).find((x) => x !== undefined) ?? (s.patternProperties ? Object.values(s.patternProperties)[0] : undefined);
    if (!next) {
      const names = [...new Set(branches.flatMap((b) => Object.keys(b.properties ?? {})))];
      const known = names.length ? names.join(', ') : '(none)';
      return `is not a field${i === 0 ? '' : ` of ${path.slice(0, i).join('.')}`} (fields: ${known})`;
    }
    s = next;
  }
  if (s.type === 'object' || s.anyOf?.some((b) => b.type === 'object') || s.items?.type === 'object') return `is an object: name its fields (${path.join('.')}.…)`;
  return s;
}

/** A decimal in major units → integer minor units, by string digits. */
export function decimalToMinor(text: string, currency: string): number | string {
  const info = currencyByAlpha(currency);
  if (!info) return `currency "${currency}" is not an ISO 4217 code this tool knows`;
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return `must be a decimal like 1.99 in ${currency} (got ${JSON.stringify(text)})`;
  const frac = m[2] ?? '';
  if (frac.length > info.exponent) return `${currency} has ${info.exponent} decimal digit${info.exponent === 1 ? '' : 's'} (got ${JSON.stringify(text)})`;
  const minor = Number(m[1]! + frac.padEnd(info.exponent, '0'));
  if (!Number.isSafeInteger(minor)) return `is too large (got ${JSON.stringify(text)})`;
  return minor;
}

/** A cell's text as the schema's type, or why not. */
function convert(text: string, s: Schema): unknown | { error: string } {
  const t = s.type ?? (s.anyOf?.every((a) => typeof a.const === 'string') ? 'string' : undefined);
  if (t === 'integer' || t === 'number') {
    const ok = t === 'integer' ? /^-?\d+$/.test(text) : /^-?\d+(\.\d+)?$/.test(text);
    const min = s.minimum === 0 ? ' ≥ 0' : '';
    if (!ok) return { error: `must be ${t === 'integer' ? 'an integer' : 'a number'}${min} (got ${JSON.stringify(text)})` };
    const n = Number(text);
    if (t === 'integer' && !Number.isSafeInteger(n)) return { error: `is too large (got ${JSON.stringify(text)})` };
    return n;
  }
  if (t === 'boolean') {
    if (text === 'true') return true;
    if (text === 'false') return false;
    return { error: `must be true or false (got ${JSON.stringify(text)})` };
  }
  if (t === 'array') {
    const inner = s.items ?? {};
    const out: unknown[] = [];
    for (const part of text.split(';').map((p) => p.trim())) {
      const v = convert(part, inner as Schema);
      if (v && typeof v === 'object' && 'error' in v) return { error: `item "${part}": ${(v as { error: string }).error}` };
      out.push(v);
    }
    return out;
  }
  return text;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let o = target;
  for (const p of path.slice(0, -1)) {
    if (typeof o[p] !== 'object' || o[p] === null) o[p] = {};
    o = o[p] as Record<string, unknown>;
  }
  o[path[path.length - 1]!] = value;
}

/** `/lines/0/qty` → `lines.qty`: the column the value came from. */
function columnOfError(e: ErrorObject): string {
  const parts = e.instancePath.split('/').slice(1).filter((p) => !/^\d+$/.test(p));
  const extra = e.keyword === 'required' ? (e.params as { missingProperty: string }).missingProperty : e.keyword === 'additionalProperties' ? (e.params as { additionalProperty: string }).additionalProperty : undefined;
  if (extra !== undefined) parts.push(extra);
  return parts.join('.') || '(row)';
}

function describe(e: ErrorObject): string {
  if (e.keyword === 'required') return 'is required (the column is missing or the cell is empty)';
  if (e.keyword === 'pattern') return `must match ${(e.params as { pattern: string }).pattern}`;
  if (e.keyword === 'anyOf' || e.keyword === 'const') return 'is not one of the allowed values';
  return e.message ?? e.keyword;
}

export function csvToBody(text: string, o: CsvBodyOptions): CsvBodyResult {
  const spec = STORE_FEEDS[o.feed];
  const shape = CSV_SHAPES[o.feed];
  const bodySchema = spec.body as Schema;
  const item = bodySchema.properties![shape.list]!.items!;
  const errors: string[] = [];
  const at = (line: number, msg: string) => {
    if (errors.length < MAX_ERRORS) errors.push(`${o.file}:${line}: ${msg}`);
  };
  const csv = parseCsv(text);
  for (const e of csv.errors) at(e.line, e.message);

  // Columns → schema, once.
  const cols = csv.header.map((name) => {
    const decimal = name.endsWith(':decimal');
    const path = (decimal ? name.slice(0, -':decimal'.length) : name).split('.');
    const s = columnSchema(item, path);
    if (typeof s === 'string') {
      at(1, `column ${name}: ${s}`);
      return { name, path, decimal, schema: null };
    }
    if (decimal && s.type !== 'integer') {
      at(1, `column ${name}: only a money field (an integer of minor units) takes :decimal`);
      return { name, path, decimal, schema: null };
    }
    return { name, path, decimal, schema: s };
  });
  const currencyCol = csv.header.indexOf('currency');
  const rowLines: number[] = [];
  const entries: Record<string, unknown>[] = [];
  const groups = new Map<string, { entry: Record<string, unknown>; first: Map<string, string> }>();
  const lineOfLine = new Map<Record<string, unknown>, number[]>();
  // Entries with a cell that did not convert: already reported, not checked again.
  const badEntries = new Set<Record<string, unknown>>();
  const columnsOk = cols.every((c) => c.schema !== null);
  if (columnsOk) {
    for (const row of csv.rows) {
      const before = errors.length;
      const own: Record<string, unknown> = {};
      const line: Record<string, unknown> = {};
      for (const [i, c] of cols.entries()) {
        const cell = row.cells[i]!.trim();
        if (cell === '' || !c.schema) continue;
        let v: unknown;
        if (c.decimal) {
          const cur = (currencyCol >= 0 ? row.cells[currencyCol]!.trim() : '') || o.currency;
          if (!cur) {
            at(row.line, `column ${c.name}: a decimal needs a currency (a currency column or --currency)`);
            continue;
          }
          const m = decimalToMinor(cell, cur);
          if (typeof m === 'string') {
            at(row.line, `column ${c.name}: ${m}`);
            continue;
          }
          v = m;
        } else {
          v = convert(cell, c.schema);
          if (v && typeof v === 'object' && 'error' in v) {
            at(row.line, `column ${c.name}: ${(v as { error: string }).error}`);
            continue;
          }
        }
        if (shape.group && c.path[0] === shape.group.lines) setPath(line, c.path.slice(1), v);
        else setPath(own, c.path, v);
      }
      if (!shape.group) {
        if (errors.length > before) badEntries.add(own);
        entries.push(own);
        rowLines.push(row.line);
        continue;
      }
      const key = own[shape.group.key];
      if (typeof key !== 'string') {
        at(row.line, `column ${shape.group.key}: is required (it groups the rows of one entry)`);
        continue;
      }
      let g = groups.get(key);
      if (!g) {
        const entry = { ...own, [shape.group.lines]: [] as unknown[] };
        g = { entry, first: new Map(cols.filter((c) => c.path[0] !== shape.group!.lines).map((c) => [c.name, row.cells[cols.indexOf(c)]!.trim()])) };
        groups.set(key, g);
        entries.push(entry);
        rowLines.push(row.line);
        lineOfLine.set(entry, []);
      } else {
        for (const [i, c] of cols.entries()) {
          if (c.path[0] === shape.group.lines) continue;
          const cell = row.cells[i]!.trim();
          if (cell !== g.first.get(c.name)) at(row.line, `column ${c.name}: ${JSON.stringify(cell)} differs from ${JSON.stringify(g.first.get(c.name))} on an earlier row of ${shape.group.key} ${key}`);
        }
      }
      if (errors.length > before) badEntries.add(g.entry);
      (g.entry[shape.group.lines] as unknown[]).push(line);
      lineOfLine.get(g.entry)!.push(row.line);
    }
  }
  if (!columnsOk) return { ok: false, errors: byLine(errors, o.file) };

  // Each entry against the entry schema, so an error names the row it came from.
  const validateItem = compile(item);
  for (const [n, entry] of entries.entries()) {
    if (badEntries.has(entry)) continue;
    if (validateItem(structuredClone(entry))) {
      if (o.feed === 'coupons') {
        const why = couponDefError(entry as CouponDefT);
        if (why) at(rowLines[n]!, why);
      }
      continue;
    }
    for (const e of validateItem.errors ?? []) {
      if (e.keyword === 'anyOf' && validateItem.errors!.some((x) => x.keyword === 'const' && x.instancePath === e.instancePath)) continue;
      const m = shape.group ? new RegExp(`^/${shape.group.lines}/(\\d+)`).exec(e.instancePath) : null;
      const line = m ? lineOfLine.get(entry)![Number(m[1])]! : rowLines[n]!;
      const col = columnOfError(e);
      const got = e.instancePath ? valueAt(entry, e.instancePath) : undefined;
      at(line, `column ${col}: ${describe(e)}${got !== undefined && typeof got !== 'object' ? ` (got ${JSON.stringify(got)})` : ''}`);
    }
  }
  if (errors.length > 0) return { ok: false, errors: byLine(errors, o.file) };

  const body: Record<string, unknown> = { mode: o.mode, [shape.list]: entries };
  if (o.feed === 'prices') {
    if (!o.currency) return { ok: false, errors: [`${o.file}: the prices feed needs --currency (the body's currency)`] };
    body.currency = o.currency;
    body.promotions = [];
  }
  if (o.feed === 'coupons') body.revoked = [];
  return { ok: true, body, rows: csv.rows.length };
}

function valueAt(o: unknown, pointer: string): unknown {
  let v = o;
  for (const p of pointer.split('/').slice(1)) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}

/** Errors in file order, whatever step found them. */
function byLine(errors: string[], file: string): string[] {
  const lineOf = (e: string) => Number(e.slice(file.length + 1).split(':')[0]) || 0;
  return [...errors].sort((a, b) => lineOf(a) - lineOf(b));
}
