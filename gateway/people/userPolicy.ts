/**
 * The rules for managing ops users, as pure functions (the directory and the routes apply them):
 * what a username and a chosen password must look like, and which changes would lock the store
 * out of its own admin page.
 */
import { DEMO_SECRETS } from '../demoSecrets.js';
import type { UserRole } from './userStore.js';

/** Lower case only, so "Anna" and "anna" can never be two people at the same till. */
export const USERNAME_PATTERN = '^[a-z][a-z0-9._-]{1,31}$';
export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 256;

export interface UserFacts {
  username: string;
  role: UserRole;
  disabled: boolean;
  source: 'config' | 'store';
}

export type UserChange = { kind: 'role'; role: UserRole } | { kind: 'disable' } | { kind: 'enable' } | { kind: 'reset' };

/** Why a password a person chose is refused (null when fine); the length is also in the route schema. */
export function passwordProblem(username: string, next: string, current?: string): string | null {
  if (next.length < MIN_PASSWORD_LENGTH) return `must be at least ${MIN_PASSWORD_LENGTH} characters`;
  if (next.length > MAX_PASSWORD_LENGTH) return `must be at most ${MAX_PASSWORD_LENGTH} characters`;
  if (next.toLowerCase() === username.toLowerCase()) return 'must not be the username';
  if (current !== undefined && next === current) return 'must differ from the current password';
  // A published demo secret is refused in a real store's config (gateway/README.md §Trust); so it is here.
  if ((DEMO_SECRETS as readonly string[]).includes(next)) return 'must not be a published demo password';
  return null;
}

/**
 * Why `actor` may not make `change` to `target` (null when allowed). The store must keep at least
 * one enabled admin, or nobody could manage users or devices until the config file is edited; an
 * admin does not lock themselves out by a slip of the mouse either.
 */
export function refuseChange(users: readonly UserFacts[], actor: string, target: UserFacts, change: UserChange): string | null {
  const losesAdmin = (change.kind === 'disable' || (change.kind === 'role' && change.role !== 'admin')) && target.role === 'admin' && !target.disabled;
  if (losesAdmin) {
    const others = users.filter((u) => u.username !== target.username && u.role === 'admin' && !u.disabled).length;
    if (others === 0) return `${target.username} is the last enabled admin; make another admin first`;
  }
  if (target.username === actor) {
    if (change.kind === 'disable') return 'you cannot disable yourself; ask another admin';
    if (change.kind === 'role' && change.role !== 'admin') return 'you cannot take the admin role from yourself; ask another admin';
    // Resetting would end this very session too; the page's own "change my password" keeps it.
    if (change.kind === 'reset') return 'change your own password with POST /api/me/password';
  }
  return null;
}
