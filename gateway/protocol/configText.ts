/**
 * What both programs' config loaders share (gateway/config.ts, firmware-bridge/config.ts): YAML text
 * to a plain mapping with every problem as a line, env overrides by path, and a deep freeze.
 * Never throws on file content.
 */
import { LineCounter, isCollection, parseDocument, visit } from 'yaml';

export type YamlMapping = { ok: true; obj: Record<string, unknown> } | { ok: false; errors: string[] };

/** YAML text → a fresh mutable mapping, or the YAML errors with their lines. */
export function yamlMapping(text: string): YamlMapping {
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    return { ok: false, errors: doc.errors.map((e) => `(yaml) line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`) };
  }
  // A setting's name is a plain scalar. A collection as a key (`? [a, b]`) would be stringified by
  // toJS with a process warning on stderr that names no setting; say where it is instead.
  const keyErrors: string[] = [];
  visit(doc, {
    Pair(_key, pair) {
      if (isCollection(pair.key)) keyErrors.push(`(yaml) line ${pair.key.range ? lines.linePos(pair.key.range[0]).line : '?'}: a key must be a plain value, not a list or a mapping`);
    },
  });
  if (keyErrors.length > 0) return { ok: false, errors: keyErrors };
  let raw: unknown;
  try {
    // Some documents parse without errors and still cannot become data (an alias with no anchor: `*a`).
    raw = doc.toJS() as unknown;
  } catch (err) {
    return { ok: false, errors: [`(yaml) ${(err as Error).message.split('\n')[0]}`] };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, errors: ['(root): must be a mapping of settings'] };
  return { ok: true, obj: structuredClone(raw) as Record<string, unknown> };
}

/** Sets `value` at `path`, creating the mappings on the way (an env override). */
export function setPath(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[path[path.length - 1]] = value;
}

export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
