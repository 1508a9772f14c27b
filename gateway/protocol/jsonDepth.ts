/**
 * How deep a parsed JSON value nests, walked with an explicit stack (a recursive walk would be
 * the very stack overflow it guards against). Device events are a few levels deep; a payload
 * nested thousands of levels parses fine but then breaks every JSON.stringify downstream (the
 * uplink batch, `outbox export`), so an acknowledged event could never leave the store.
 */

/** Device events nest far less than this; the kiosk transaction, the deepest, has 4 levels. */
export const MAX_EVENT_DEPTH = 32;

/**
 * The path (`data.a[3].b`, as validate.ts prints paths) of the first value nested deeper than
 * `maxDepth` levels below the root, or null when the value is within bounds.
 */
export function deeperThan(value: unknown, maxDepth: number, root = 'data'): string | null {
  const stack: { v: unknown; depth: number; path: string }[] = [{ v: value, depth: 0, path: root }];
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= maxDepth) return shorten(path);
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], depth: depth + 1, path: `${path}[${i}]` });
    } else {
      for (const [k, child] of Object.entries(v)) stack.push({ v: child, depth: depth + 1, path: `${path}.${k}` });
    }
  }
  return null;
}

/** A reason line stays readable: the start of a very long path names the field that opened it. */
function shorten(path: string): string {
  return path.length <= 160 ? path : `${path.slice(0, 160)}…`;
}
