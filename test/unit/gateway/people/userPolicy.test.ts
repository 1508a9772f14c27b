import { describe, expect, it } from 'vitest';
import { passwordProblem, refuseChange, type UserFacts } from '../../../../gateway/people/userPolicy.js';

const u = (username: string, role: UserFacts['role'], disabled = false, source: UserFacts['source'] = 'store'): UserFacts => ({ username, role, disabled, source });

describe('refuseChange', () => {
  const users = [u('ann', 'admin'), u('bob', 'admin'), u('cat', 'attendant'), u('old', 'admin', true)];

  it('lets an admin disable, demote or reset another admin while one enabled admin remains', () => {
    expect(refuseChange(users, 'ann', users[1], { kind: 'disable' })).toBeNull();
    expect(refuseChange(users, 'ann', users[1], { kind: 'role', role: 'viewer' })).toBeNull();
    expect(refuseChange(users, 'ann', users[1], { kind: 'reset' })).toBeNull();
  });

  it('refuses to take away the last enabled admin (a disabled admin does not count)', () => {
    const two = [u('ann', 'admin'), u('bob', 'admin'), u('old', 'admin', true)];
    const onlyBob = [u('ann', 'attendant'), two[1], two[2]];
    expect(refuseChange(onlyBob, 'ann', onlyBob[1], { kind: 'disable' })).toBe('bob is the last enabled admin; make another admin first');
    expect(refuseChange(onlyBob, 'ann', onlyBob[1], { kind: 'role', role: 'attendant' })).toBe('bob is the last enabled admin; make another admin first');
    // Keeping the admin role, or changing a non-admin, is fine.
    expect(refuseChange(onlyBob, 'ann', onlyBob[1], { kind: 'role', role: 'admin' })).toBeNull();
    expect(refuseChange(onlyBob, 'bob', onlyBob[0], { kind: 'disable' })).toBeNull();
  });

  it('refuses an admin disabling, demoting or resetting themselves', () => {
    expect(refuseChange(users, 'ann', users[0], { kind: 'disable' })).toBe('you cannot disable yourself; ask another admin');
    expect(refuseChange(users, 'ann', users[0], { kind: 'role', role: 'viewer' })).toBe('you cannot take the admin role from yourself; ask another admin');
    expect(refuseChange(users, 'ann', users[0], { kind: 'reset' })).toBe('change your own password with POST /api/me/password');
    expect(refuseChange(users, 'ann', users[0], { kind: 'role', role: 'admin' })).toBeNull();
  });

  it('counts config admins as admins', () => {
    const mixed = [u('root', 'admin', false, 'config'), u('bob', 'admin')];
    expect(refuseChange(mixed, 'root', mixed[1], { kind: 'disable' })).toBeNull();
  });
});

describe('passwordProblem', () => {
  it('wants 10+ characters, not the username, not the current password, not a demo password', () => {
    expect(passwordProblem('anna', 'short')).toBe('must be at least 10 characters');
    expect(passwordProblem('annabelle1', 'ANNABELLE1')).toBe('must not be the username');
    expect(passwordProblem('anna', 'same-as-before', 'same-as-before')).toBe('must differ from the current password');
    expect(passwordProblem('anna', 'demo-admin', 'old-one')).toBe('must not be a published demo password');
    expect(passwordProblem('anna', 'a-good-long-one', 'old-one')).toBeNull();
  });
});
