/**
 * The chain page (`storegw-hq chain serve`): the chain view's table for people, behind a login.
 * Plain server-rendered HTML that reloads itself every few seconds (`<meta http-equiv=refresh>`):
 * no script, no external asset, a Content-Security-Policy that allows neither. `buildChainServer`
 * never listens, so tests use `inject()`.
 *
 * Login: a user from the config (`chain.users`, scrypt hashes) posts the form; a random session
 * token goes into an HttpOnly, SameSite=Strict cookie (so another site cannot submit with it), held
 * in memory with its expiry. Everything but the login form answers 401 without a session.
 * Guessing is limited before a hash runs, per address and per user name (loginThrottle.ts): a
 * refused attempt answers 429 with Retry-After and is logged.
 * Every string a store published (its id, versions, the report) is HTML-escaped.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { cells, COLUMNS, type ChainStore } from './chainView.js';
import { verifyPassword } from './passwordHash.js';
import { LoginThrottle, type LoginLimits } from './loginThrottle.js';

export interface ChainServerOptions {
  users: readonly { username: string; passwordHash: string }[];
  sessionHours: number;
  /** The chain view as it stands now. */
  view: () => Promise<ChainStore[]>;
  refreshSeconds?: number;
  now?: () => number;
  log?: Logger;
  /** Reverse proxies whose X-Forwarded-For is believed (fastify `trustProxy`): the login limits count the client. */
  trustedProxies?: readonly string[];
  /** Password guessing limits (loginThrottle.ts); the defaults suit a page a few people use. */
  loginLimits?: LoginLimits;
}

const COOKIE = 'hqchain';
const CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const STYLE = 'body{font:14px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse}th,td{padding:.3em .7em;border-bottom:1px solid #ccc;text-align:left;white-space:nowrap}tr.attention td{background:#fff2e0}tr.offline td{background:#fde4e4}';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string, refreshSeconds?: number): string {
  const refresh = refreshSeconds ? `<meta http-equiv="refresh" content="${refreshSeconds}">` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">${refresh}<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

const LOGIN_FORM = (msg: string): string =>
  page('Chain view: sign in', `<h1>Chain view</h1>${msg ? `<p>${escapeHtml(msg)}</p>` : ''}<form method="post" action="/login"><p><label>User <input name="username" autocomplete="username" required></label></p><p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p><p><button>Sign in</button></p></form>`);

export function tableHtml(stores: readonly ChainStore[], at: string): string {
  const head = `<tr>${COLUMNS.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>`;
  const rows = stores.map((s) => `<tr class="${s.state !== 'online' ? 'offline' : s.attention ? 'attention' : ''}">${cells(s).map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('');
  return `<h1>Chain view</h1><p>${stores.length} stores, ${stores.filter((s) => s.attention).length} needing attention; as of ${escapeHtml(at)}</p><table>${head}${rows}</table><form method="post" action="/logout"><button>Sign out</button></form>`;
}

function cookieOf(req: FastifyRequest): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return undefined;
}

export function buildChainServer(o: ChainServerOptions): FastifyInstance {
  const now = o.now ?? Date.now;
  const sessions = new Map<string, { user: string; expires: number }>();
  const throttle = new LoginThrottle(o.loginLimits);
  // One read of the tables per refresh interval however many people watch: the page reloads
  // itself, and each read aggregates every store.
  let cached: { at: number; stores: Promise<ChainStore[]> } | undefined;
  const view = (): Promise<ChainStore[]> => {
    if (!cached || now() - cached.at >= (o.refreshSeconds ?? 5) * 1000 / 2) {
      const stores = o.view();
      cached = { at: now(), stores };
      void stores.catch(() => (cached = undefined));
    }
    return cached.stores;
  };
  const app = Fastify({ logger: false, bodyLimit: 4096, ...(o.trustedProxies?.length ? { trustProxy: [...o.trustedProxies] } : {}) });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))));
  app.addHook('onSend', async (_req, reply) => {
    reply.header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').header('cache-control', 'no-store');
  });

  const session = (req: FastifyRequest): string | undefined => {
    const token = cookieOf(req);
    const s = token === undefined ? undefined : sessions.get(token);
    if (!s) return undefined;
    if (s.expires <= now()) {
      sessions.delete(token!);
      return undefined;
    }
    return s.user;
  };
  const denied = (reply: FastifyReply, html: boolean): FastifyReply =>
    html ? reply.code(401).type('text/html; charset=utf-8').send(LOGIN_FORM('')) : reply.code(401).send({ error: 'login required' });

  app.get('/', async (req, reply) => {
    if (!session(req)) return denied(reply, true);
    const stores = await view();
    return reply.type('text/html; charset=utf-8').send(page('Chain view', tableHtml(stores, new Date(now()).toISOString()), o.refreshSeconds ?? 5));
  });
  app.get('/api/chain', async (req, reply) => {
    if (!session(req)) return denied(reply, false);
    return reply.send({ stores: await view() });
  });
  app.post('/login', { schema: { body: { type: 'object', required: ['username', 'password'], properties: { username: { type: 'string', maxLength: 64 }, password: { type: 'string', maxLength: 256 } } } } }, async (req, reply) => {
    const { username, password } = req.body as { username: string; password: string };
    const adm = throttle.admit(username, req.ip, now());
    if (!adm.ok) {
      o.log?.warn({ username: username.slice(0, 64), address: req.ip, why: adm.why, retryAfterS: adm.retryAfterS }, 'chain page: login attempt refused before checking');
      const msg = adm.why === 'busy' ? 'Too many sign-ins are being checked; try again in a moment.' : `Too many failed sign-ins; try again in ${adm.retryAfterS} s.`;
      return reply.code(429).header('retry-after', String(adm.retryAfterS)).type('text/html; charset=utf-8').send(LOGIN_FORM(msg));
    }
    const user = o.users.find((u) => u.username === username);
    // An unknown user costs a hash check too, so the answer time does not tell who exists.
    let ok = false;
    try {
      ok = await verifyPassword(password, user?.passwordHash ?? o.users[0]?.passwordHash ?? 'scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=');
    } finally {
      throttle.checked();
    }
    if (user && ok) throttle.succeeded(adm.ticket, now());
    if (!user || !ok) {
      o.log?.warn({ username: username.slice(0, 64) }, 'chain page: login refused');
      return reply.code(401).type('text/html; charset=utf-8').send(LOGIN_FORM('Wrong user or password.'));
    }
    for (const [t, s] of sessions) if (s.expires <= now()) sessions.delete(t);
    const token = randomBytes(32).toString('base64url');
    const maxAge = Math.round(o.sessionHours * 3600);
    sessions.set(token, { user: user.username, expires: now() + maxAge * 1000 });
    o.log?.info({ username: user.username }, 'chain page: login');
    return reply.code(303).header('set-cookie', `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}`).header('location', '/').send();
  });
  app.post('/logout', async (req, reply) => {
    const token = cookieOf(req);
    if (token !== undefined) sessions.delete(token);
    return reply.code(303).header('set-cookie', `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`).header('location', '/').send();
  });
  return app;
}
