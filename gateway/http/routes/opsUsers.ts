/**
 * Ops users from the ops page (admin): list, add (the generated password is shown once, only its
 * scrypt hash is stored), change role, reset password, disable/enable; and `POST /api/me/password`
 * for anyone logged in. Users of the config file are changed there (409). A change to a person
 * ends all their sessions at once, and with them their live feed.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import type { ChangeResult, UserDirectory } from '../../people/userDirectory.js';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, USERNAME_PATTERN, passwordProblem, type UserChange } from '../../people/userPolicy.js';
import type { UserRole } from '../../people/userStore.js';
import { EmptyBody, Refusals, RoleSchema } from '../../protocol/schemas/api/common.js';
import { PasswordChanged, RoleBody, UserAdded, UserChanged, UserList } from '../../protocol/schemas/api/people.js';
import { requireRole, SESSION_COOKIE, type SessionManager } from '../auth.js';
import type { TypedRoutes } from '../typeProvider.js';

export interface OpsUserRouteDeps {
  users: UserDirectory;
  sessions: SessionManager;
}

const Username = Type.String({ pattern: USERNAME_PATTERN });
const AddBody = Type.Object({ username: Username, role: RoleSchema }, { additionalProperties: false });
/** Config usernames may be upper case; the 404/409 answer is clearer than a pattern error. */
const UserParams = Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }) });
const PasswordBody = Type.Object(
  { current: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH }), next: Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: MAX_PASSWORD_LENGTH }) },
  { additionalProperties: false },
);

const STATUS = { SGW_ERR_NOT_FOUND: 404, SGW_ERR_CONFLICT: 409 } as const;
const LOG_MSG = { role: 'ops user role changed', reset: 'ops user password reset', disable: 'ops user disabled', enable: 'ops user enabled' } as const;

export const opsUserRoutes: TypedRoutes<OpsUserRouteDeps> = async (app, deps) => {
  const admin = { preHandler: requireRole('admin') };

  async function refused(res: ChangeResult, reply: FastifyReply): Promise<boolean> {
    if (res.ok) return false;
    await reply.code(STATUS[res.code]).send({ code: res.code, message: res.message });
    return true;
  }

  app.get('/api/admin/users', { ...admin, schema: { response: { 200: UserList, ...Refusals } } }, async () => ({ users: deps.users.list(), writable: true }));

  app.post('/api/admin/users', { ...admin, schema: { body: AddBody, response: { 201: UserAdded, ...Refusals } } }, async (req, reply) => {
    const { username, role } = req.body;
    const by = req.session!.username;
    const res = await deps.users.add(username, role, by);
    if ((await refused(res, reply)) || !res.ok) return reply;
    req.log.info({ by, username, role }, 'ops user added');
    if (res.password === undefined) throw new Error('a new ops user without a generated password');
    // Shown once: only the hash is kept.
    return reply.code(201).send({ username, password: res.password });
  });

  const actions: [string, typeof EmptyBody | typeof RoleBody, (body: { role?: UserRole }) => UserChange][] = [
    ['role', RoleBody, (b) => ({ kind: 'role', role: b.role! })],
    ['reset', EmptyBody, () => ({ kind: 'reset' })],
    ['disable', EmptyBody, () => ({ kind: 'disable' })],
    ['enable', EmptyBody, () => ({ kind: 'enable' })],
  ];
  for (const [action, body, toChange] of actions) {
    app.post(`/api/admin/users/:username/${action}`, { ...admin, schema: { params: UserParams, body, response: { 200: UserChanged, ...Refusals } } }, async (req, reply) => {
      const { username } = req.params;
      const by = req.session!.username;
      const change = toChange(req.body);
      const res = await deps.users.change(by, username, change);
      if ((await refused(res, reply)) || !res.ok) return reply;
      // Enabling grants nothing to an old session (there is none left); every other change ends them.
      const revoked = res.changed && change.kind !== 'enable' ? deps.sessions.revokeUser(username) : 0;
      req.log.info({ by, username, change: change.kind, role: res.user.role, changed: res.changed, revoked }, LOG_MSG[change.kind]);
      return { ...res.user, ...(res.password ? { password: res.password } : {}) };
    });
  }

  app.post('/api/me/password', { preHandler: requireRole('viewer'), schema: { body: PasswordBody, response: { 200: PasswordChanged, ...Refusals } } }, async (req, reply) => {
    const { current, next } = req.body;
    const me = req.session!;
    if (deps.users.find(me.username)?.source === 'config') return reply.code(409).send({ code: 'SGW_ERR_CONFLICT', message: `${me.username} is declared in the config file; change it there` });
    const check = await deps.sessions.checkPassword(me.username, current, req.ip);
    if (!check.ok) {
      req.log.warn({ username: me.username, address: req.ip, code: check.code }, 'password change: current password refused');
      if (check.code === 'SGW_ERR_RATE_LIMITED') {
        if (check.retryAfterS) reply.header('retry-after', String(check.retryAfterS));
        return reply.code(429).send({ code: check.code, message: check.reason });
      }
      return reply.code(403).send({ code: 'SGW_ERR_NOT_AUTHORIZED', message: 'the current password is wrong' });
    }
    const problem = passwordProblem(me.username, next, current);
    if (problem) return reply.code(400).send({ code: 'SGW_ERR_SCHEMA', message: `body.next: ${problem}` });
    const res = await deps.users.setOwnPassword(me.username, next);
    if (await refused(res, reply)) return reply;
    // Other browsers of this person are logged out; this one stays.
    const revoked = deps.sessions.revokeUser(me.username, req.cookies[SESSION_COOKIE]);
    req.log.info({ by: me.username, username: me.username, revoked }, 'ops user changed own password');
    return { ok: true as const, otherSessionsEnded: revoked };
  });
};
