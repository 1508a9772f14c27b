/**
 * The config reference in the README is generated from the TypeBox schema, so the two
 * cannot drift: `storegw config-reference` prints it, and a test compares it with the README.
 */
import type { TSchema } from '@sinclair/typebox';
import { ConfigSchema } from './config.js';

interface Row {
  path: string;
  type: string;
  dflt: string;
  doc: string;
}

function typeOf(s: TSchema): string {
  if (s.anyOf) {
    const lits = (s.anyOf as TSchema[]).map((x) => x.const);
    if (lits.every((l) => l !== undefined)) return lits.map((l) => JSON.stringify(l)).join(' \\| ');
    return (s.anyOf as TSchema[]).map(typeOf).join(' \\| ');
  }
  if (s.type === 'array') return `list of ${typeOf(s.items as TSchema)}`;
  if (s.type === 'object') return 'mapping';
  if (s.type === 'string' && s.pattern) return 'string';
  return String(s.type ?? 'any');
}

function walk(s: TSchema, path: string, required: boolean, rows: Row[]): void {
  const dflt = s.default === undefined ? (required ? 'required' : '—') : JSON.stringify(s.default);
  const doc = String(s.description ?? '').replace(/\s+/g, ' ').replace(/\|/g, '\\|');
  if (path) rows.push({ path, type: typeOf(s), dflt, doc });
  if (s.type === 'object' && s.properties) {
    const req = new Set<string>((s.required as string[] | undefined) ?? []);
    for (const [k, v] of Object.entries(s.properties as Record<string, TSchema>)) walk(v, path ? `${path}.${k}` : k, req.has(k), rows);
  } else if (s.type === 'array' && (s.items as TSchema)?.type === 'object') {
    walk(s.items as TSchema, `${path}[]`, true, rows.slice(0, 0)); // keep the list row; add its fields below
    const req = new Set<string>(((s.items as TSchema).required as string[] | undefined) ?? []);
    for (const [k, v] of Object.entries(((s.items as TSchema).properties ?? {}) as Record<string, TSchema>)) walk(v, `${path}[].${k}`, req.has(k), rows);
  }
}

/** The Markdown table of every setting: path, type, default, what it is. */
export function configReference(): string {
  const rows: Row[] = [];
  walk(ConfigSchema, '', true, rows);
  const lines = ['| setting | type | default | what |', '|---|---|---|---|'];
  for (const r of rows) lines.push(`| \`${r.path}\` | ${r.type} | ${r.dflt === '—' ? '—' : `\`${r.dflt}\``.replace('`required`', 'required')} | ${r.doc} |`);
  return lines.join('\n') + '\n';
}
