/**
 * The ops page's calls to the gateway. The session is an HttpOnly cookie the page never sees;
 * every state change is a POST with a JSON body. An endpoint another part has not shipped yet
 * answers 404 and its panel says "not available".
 */
export type ApiResult<T> = { ok: true; status: number; body: T } | { ok: false; status: number; message: string };

async function call<T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<ApiResult<T>> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      credentials: 'same-origin',
      headers: body !== undefined ? { 'content-type': 'application/json' } : {},
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch {
    return { ok: false, status: 0, message: 'the gateway cannot be reached' };
  }
  let json: unknown = null;
  try {
    json = await res.json();
  } catch {
    json = null;
  }
  if (res.ok) return { ok: true, status: res.status, body: json as T };
  // A session ended by the gateway (revoked, expired): the page shows the login. The login and
  // /api/me answer 401 as a matter of course, so they do not count.
  if (res.status === 401 && url !== '/api/login' && url !== '/api/me') for (const fn of [...sessionEnded]) fn();
  const message = (json as { message?: string } | null)?.message ?? res.statusText;
  return { ok: false, status: res.status, message };
}

const sessionEnded = new Set<() => void>();

/** Calls `fn` whenever the gateway answers 401 to an API call; returns the unsubscribe. */
export function onSessionEnded(fn: () => void): () => void {
  sessionEnded.add(fn);
  return () => sessionEnded.delete(fn);
}

export const get = <T>(url: string) => call<T>('GET', url);
export const post = <T>(url: string, body: unknown = {}) => call<T>('POST', url, body);

/** "not available" for an endpoint that does not exist (yet) in this gateway. */
export function unavailable(r: ApiResult<unknown>): boolean {
  return !r.ok && (r.status === 404 || r.status === 405) && !/^no (such|device|page)/.test(r.message);
}
