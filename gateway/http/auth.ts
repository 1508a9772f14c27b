/**
 * Ops sessions: login against scrypt hashes, an opaque random token in an HttpOnly SameSite=Strict
 * cookie, roles (viewer < attendant < admin), and failed logins rate-limited per user and address.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { verifySecret } from '../scryptHash.js';

export type Role = 'viewer' | 'attendant' | 'admin';
const RANK: Record<Role, number> = { viewer: 1, attendant: 2, admin: 3 };

export interface Session {
  token: string;
  username: string;
  role: Role;
  expiresAt: number;
}

export const SESSION_COOKIE = 'sgw_session';

export type LoginResult = { ok: true; session: Session } | { ok: false; code: 'SGW_ERR_UNAUTHENTICATED' | 'SGW_ERR_RATE_LIMITED'; reason: string; retryAfterS?: number };

export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private readonly failures = new Map<string, { count: number; first: number }>();
  /** A failed-login window: after `maxFailures` within `windowMs` the key is locked for the rest of it. */
  private readonly maxFailures = 5;
  private readonly windowMs = 5 * 60_000;

  constructor(
    private readonly opts: { users: Config['opsUsers']; ttlS: number; now: () => number },
  ) {}

  async login(username: string, password: string, address: string): Promise<LoginResult> {
    const t = this.opts.now();
    const keys = [`u:${username}`, `a:${address}`];
    for (const k of keys) {
      const f = this.failures.get(k);
      if (f && t - f.first < this.windowMs && f.count >= this.maxFailures) {
        return { ok: false, code: 'SGW_ERR_RATE_LIMITED', reason: 'too many failed logins; try again later', retryAfterS: Math.ceil((f.first + this.windowMs - t) / 1000) };
      }
    }
    const user = this.opts.users.find((u) => u.username === username);
    // Verify against a dummy hash for unknown users too, so timing does not reveal who exists.
    const ok = await verifySecret(password, user?.passwordHash ?? DUMMY_HASH);
    if (!user || !ok) {
      for (const k of keys) {
        const f = this.failures.get(k);
        if (!f || t - f.first >= this.windowMs) this.failures.set(k, { count: 1, first: t });
        else f.count++;
      }
      return { ok: false, code: 'SGW_ERR_UNAUTHENTICATED', reason: 'wrong username or password' };
    }
    this.failures.delete(`u:${username}`);
    const session: Session = { token: randomBytes(32).toString('base64url'), username, role: user.role, expiresAt: t + this.opts.ttlS * 1000 };
    this.sessions.set(session.token, session);
    return { ok: true, session };
  }

  get(token: string | undefined): Session | null {
    if (!token) return null;
    const s = this.sessions.get(token);
    if (!s) return null;
    if (s.expiresAt <= this.opts.now()) {
      this.sessions.delete(token);
      return null;
    }
    return s;
  }

  logout(token: string | undefined): void {
    if (token) this.sessions.delete(token);
  }
}

// scrypt of a random string nobody knows; only there to spend the same time as a real check.
const DUMMY_HASH = 'scrypt$15$8$1$c3RvcmVndy1kdW1teS1zYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

export function hasRole(s: Session, need: Role): boolean {
  return RANK[s.role] >= RANK[need];
}

declare module 'fastify' {
  interface FastifyRequest {
    session: Session | null;
  }
}

/** A preHandler that requires a logged-in ops user with at least `role`. */
export function requireRole(role: Role) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (!req.session) return reply.code(401).send({ code: 'SGW_ERR_UNAUTHENTICATED', message: 'log in first (POST /api/login)' });
    if (!hasRole(req.session, role)) return reply.code(403).send({ code: 'SGW_ERR_NOT_AUTHORIZED', message: `needs the ${role} role` });
  };
}
