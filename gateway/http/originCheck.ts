/**
 * Cross-site request refusal for state-changing requests. SameSite=Strict keeps the session
 * cookie off requests from other *sites*, but another port on the same host is the same site:
 * a page served there could still POST with the ops cookie. So POST/PUT/PATCH/DELETE and the
 * kiosk WebSocket upgrade must come from the page's own origin (scheme, host and port of this
 * request as the browser addressed it) or one the config allows.
 *
 * Browsers send `Origin` on every such request (fetch, forms, WebSockets); a request without one
 * is not from a browser page (curl, scripts) and is let through, unless a browser's
 * `Sec-Fetch-Site` says it came from elsewhere. Pure: decides from the request's parts only.
 */
export interface OriginFacts {
  method: string;
  /** The `Origin` header, if any. */
  origin: string | undefined;
  /** `Sec-Fetch-Site`, if any. */
  fetchSite: string | undefined;
  /** This request's own scheme and Host (after trusted proxy headers). */
  protocol: string;
  host: string;
  /** A WebSocket upgrade to a path this check covers. */
  upgrade: boolean;
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** null when allowed, else the reason (for the 403 message and the log). */
export function originRefusal(f: OriginFacts, allowed: ReadonlySet<string>): string | null {
  if (!STATE_CHANGING.has(f.method) && !f.upgrade) return null;
  if (f.origin === undefined) {
    if (f.fetchSite !== undefined && f.fetchSite !== 'same-origin' && f.fetchSite !== 'none') return `a ${f.fetchSite} request without Origin`;
    return null;
  }
  const o = normalOrigin(f.origin);
  if (o === null) return `Origin ${JSON.stringify(f.origin.slice(0, 100))} is not a web origin`;
  if (o === normalOrigin(`${f.protocol}://${f.host}`) || allowed.has(o)) return null;
  return `Origin ${o} is not this page's origin`;
}

/** scheme://host[:port] in lower case, default ports dropped; null for 'null' or garbage. */
export function normalOrigin(s: string): string | null {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return null;
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || !u.host) return null;
  return `${u.protocol}//${u.host}`.toLowerCase();
}
