import type { Metrics } from '../../metrics.js';
import { Ok, Refusals } from '../../protocol/schemas/api/common.js';
import { LoginBody, Me } from '../../protocol/schemas/api/people.js';
import type { TypedRoutes } from '../typeProvider.js';
import { LogLimiter } from '../../log.js';
import { SESSION_COOKIE, type SessionManager } from '../auth.js';

export interface LoginRouteDeps {
  sessions: SessionManager;
  metrics: Metrics;
  secureCookies: boolean;
  ttlS: number;
}

/** `POST /api/login` → session cookie; `POST /api/logout`; `GET /api/me`. No GET changes state. */
export const loginRoutes: TypedRoutes<LoginRouteDeps> = async (app, deps) => {
  // A guesser triggers one warning per attempt: five per address in 10 s, then a count of the rest.
  const logLimit = new LogLimiter(Date.now);
  app.post('/api/login', { schema: { body: LoginBody, response: { 200: Me, ...Refusals } } }, async (req, reply) => {
    const { username, password } = req.body;
    const res = await deps.sessions.login(username, password, req.ip);
    if (!res.ok) {
      deps.metrics.httpLoginFailures.labels(res.code === 'SGW_ERR_RATE_LIMITED' ? 'rate_limited' : 'bad_credentials').inc();
      const suppressed = logLimit.take(`login:${req.ip}`);
      if (suppressed >= 0) req.log.warn({ username: username.slice(0, 64), address: req.ip, code: res.code, refusal: res.refusal, suppressed }, 'login failed');
      if (res.retryAfterS) reply.header('retry-after', String(res.retryAfterS));
      return reply.code(res.code === 'SGW_ERR_RATE_LIMITED' ? 429 : 401).send({ code: res.code, message: res.reason });
    }
    req.log.info({ username, role: res.session.role }, 'login');
    reply.setCookie(SESSION_COOKIE, res.session.token, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: deps.secureCookies,
      maxAge: deps.ttlS,
    });
    return { username: res.session.username, role: res.session.role, source: res.session.source };
  });

  app.post('/api/logout', { schema: { response: { 200: Ok, ...Refusals } } }, async (req, reply) => {
    deps.sessions.logout(req.cookies[SESSION_COOKIE]);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true as const };
  });

  app.get('/api/me', { schema: { response: { 200: Me, ...Refusals } } }, async (req, reply) => {
    if (!req.session) return reply.code(401).send({ code: 'SGW_ERR_UNAUTHENTICATED', message: 'not logged in' });
    return { username: req.session.username, role: req.session.role, source: req.session.source };
  });
};
