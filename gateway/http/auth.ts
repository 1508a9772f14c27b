/**
 * Ops sessions: login against scrypt hashes, an opaque random token in an HttpOnly SameSite=Strict
 * cookie, roles (viewer < attendant < admin). Every password attempt passes the guessing policy
 * (guessPolicy.ts) before any hash runs, and then the hash gate (hashGate.ts): a few at a time.
 * People are looked up in the user directory (config file + users.db); a disabled user cannot log
 * in, and a user whose role, password or state changes loses every session at once (revokeUser).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { verifySecret } from '../scryptHash.js';
import { HashGate } from './hashGate.js';
import { GuessPolicy } from './guessPolicy.js';

export type Role = 'viewer' | 'attendant' | 'admin';
const RANK: Record<Role, number> = { viewer: 1, attendant: 2, admin: 3 };

export interface Session {
  token: string;
  username: string;
  role: Role;
  /** Where the person is kept: the config file's users change their password there, not on the page. */
  source: 'config' | 'store';
  expiresAt: number;
}

export const SESSION_COOKIE = 'sgw_session';

/** Why an attempt was refused before any hash ran: the guessing policy, or the hash gate was full. */
export type Refusal = 'login_rate' | 'hash_busy';
export type LoginResult =
  | { ok: true; session: Session }
  | { ok: false; code: 'SGW_ERR_UNAUTHENTICATED' | 'SGW_ERR_RATE_LIMITED'; reason: string; retryAfterS?: number; refusal?: Refusal };
export type PasswordCheck = { ok: true; user: LoginUser } | Extract<LoginResult, { ok: false }>;

/** What a login needs to know of a person (gateway/people/userDirectory.ts implements it). */
export interface LoginUser {
  username: string;
  role: Role;
  passwordHash: string;
  disabled: boolean;
  source: 'config' | 'store';
}
export interface UserLookup {
  find(username: string): LoginUser | undefined;
}

export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private readonly endedListeners: ((tokens: string[]) => void)[] = [];
  private readonly policy: GuessPolicy;
  private readonly gate: HashGate;

  constructor(
    private readonly opts: {
      users: UserLookup;
      ttlS: number;
      now: () => number;
      policy?: GuessPolicy;
      /** People's hashes at once, and how many more may wait (config `http.passwordChecks`). */
      gate?: HashGate;
      /** Told of each hash that ran, and of each attempt refused before one ran (metrics). */
      onVerified?: () => void;
      onRefused?: (kind: Refusal) => void;
    },
  ) {
    this.policy = opts.policy ?? new GuessPolicy();
    this.gate = opts.gate ?? new HashGate({ concurrent: 2, queued: 4 });
  }

  async login(username: string, password: string, address: string): Promise<LoginResult> {
    const res = await this.checkPassword(username, password, address);
    if (!res.ok) return res;
    if (res.user.disabled) return { ok: false, code: 'SGW_ERR_UNAUTHENTICATED', reason: 'this user is disabled; ask a store admin' };
    const session: Session = { token: randomBytes(32).toString('base64url'), username, role: res.user.role, source: res.user.source, expiresAt: this.opts.now() + this.opts.ttlS * 1000 };
    this.sessions.set(session.token, session);
    return { ok: true, session };
  }

  /**
   * Checks a password under the guessing policy: the login, and a person proving who they are
   * before changing their own password, count the same attempts. The attempt is counted before
   * the hash runs, so parallel guesses cannot all get through before the first failure lands.
   */
  async checkPassword(username: string, password: string, address: string): Promise<PasswordCheck> {
    const adm = this.policy.admit(username, address, this.opts.now());
    if (!adm.ok) return this.refuse('login_rate', 'too many failed logins; try again later', adm.retryAfterS);
    const user = this.opts.users.find(username);
    // Verify against a dummy hash for unknown users too, so timing does not reveal who exists.
    const res = await this.gate.run(() => verifySecret(password, user?.passwordHash ?? DUMMY_HASH));
    if (res.busy) {
      this.policy.notChecked(adm.ticket);
      return this.refuse('hash_busy', 'too many logins are being checked; try again in a moment', 1);
    }
    this.opts.onVerified?.();
    if (!user || !res.value) return { ok: false, code: 'SGW_ERR_UNAUTHENTICATED', reason: 'wrong username or password' };
    this.policy.succeeded(adm.ticket, this.opts.now());
    return { ok: true, user };
  }

  private refuse(refusal: Refusal, reason: string, retryAfterS: number): PasswordCheck {
    this.opts.onRefused?.(refusal);
    return { ok: false, code: 'SGW_ERR_RATE_LIMITED', reason, retryAfterS, refusal };
  }

  get(token: string | undefined): Session | null {
    if (!token) return null;
    const s = this.sessions.get(token);
    if (!s) return null;
    // Revocation ends sessions at each change; this also catches a user who vanished or changed.
    const u = this.opts.users.find(s.username);
    if (s.expiresAt <= this.opts.now() || !u || u.disabled || u.role !== s.role) {
      this.end([token]);
      return null;
    }
    return s;
  }

  logout(token: string | undefined): void {
    if (token && this.sessions.has(token)) this.end([token]);
  }

  /** Ends every session of `username` (but `except`, the caller's own); returns how many ended. */
  revokeUser(username: string, except?: string): number {
    const tokens = [...this.sessions.values()].filter((s) => s.username === username && s.token !== except).map((s) => s.token);
    this.end(tokens);
    return tokens.length;
  }

  /** Tells `fn` the tokens of sessions that ended (logout, revocation): the live feed closes their streams. */
  onEnded(fn: (tokens: string[]) => void): void {
    this.endedListeners.push(fn);
  }

  private end(tokens: string[]): void {
    if (tokens.length === 0) return;
    for (const t of tokens) this.sessions.delete(t);
    for (const fn of this.endedListeners) {
      try {
        fn(tokens);
      } catch {
        // A listener is best effort: the session is gone either way, and the feed also rechecks.
      }
    }
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
