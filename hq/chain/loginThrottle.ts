/**
 * Password guessing on the chain page, limited before any hash runs (the clock is passed in).
 *
 * An attempt is charged when it is admitted, so parallel guesses see each other; a success gives
 * its charge back. Limits, each over a sliding window (default 15 minutes):
 * - per address: `addressFailures` failed attempts, whatever the user names;
 * - per user name, over all addresses: `userFailures` (a slow guess spread over many addresses).
 *   A user who logged in from an address before still gets in from there, so a guesser elsewhere
 *   cannot lock HQ's people out at their own desks;
 * - at most `concurrentHashes` password checks at once (each costs tens of milliseconds of CPU on
 *   purpose); one more is refused with a short wait rather than queued behind a flood.
 * A refusal says how long to wait (HTTP 429 with Retry-After). Every map is bounded: past
 * `maxKeys` entries the oldest go first.
 */
export interface LoginLimits {
  addressFailures: number;
  userFailures: number;
  windowMs: number;
  concurrentHashes: number;
  knownGoodMs: number;
  maxKeys: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  addressFailures: 10,
  userFailures: 20,
  windowMs: 15 * 60_000,
  concurrentHashes: 2,
  knownGoodMs: 30 * 24 * 3600_000,
  maxKeys: 10_000,
};

export type LoginAdmission = { ok: true; ticket: { username: string; address: string; at: number } } | { ok: false; why: 'address' | 'user' | 'busy'; retryAfterS: number };

export class LoginThrottle {
  /** key → times of failed (or still running) attempts, oldest first. */
  private readonly byAddress = new Map<string, number[]>();
  private readonly byUser = new Map<string, number[]>();
  /** `${username}\0${address}` → last successful login. */
  private readonly knownGood = new Map<string, number>();
  private running = 0;

  constructor(private readonly limits: LoginLimits = DEFAULT_LOGIN_LIMITS) {}

  admit(username: string, address: string, now: number): LoginAdmission {
    const addr = this.recent(this.byAddress, address, now);
    if (addr.length >= this.limits.addressFailures) return { ok: false, why: 'address', retryAfterS: this.waitS(addr, now) };
    const known = (this.knownGood.get(`${username}\0${address}`) ?? -Infinity) > now - this.limits.knownGoodMs;
    const user = this.recent(this.byUser, username, now);
    if (!known && user.length >= this.limits.userFailures) return { ok: false, why: 'user', retryAfterS: this.waitS(user, now) };
    if (this.running >= this.limits.concurrentHashes) return { ok: false, why: 'busy', retryAfterS: 1 };
    this.running++;
    this.charge(this.byAddress, address, now);
    this.charge(this.byUser, username, now);
    return { ok: true, ticket: { username, address, at: now } };
  }

  /** The admitted attempt's hash check is over (whatever its outcome). */
  checked(): void {
    this.running = Math.max(0, this.running - 1);
  }

  /** The attempt logged in: its charge is given back and the address is known-good for that user. */
  succeeded(ticket: { username: string; address: string; at: number }, now: number): void {
    this.uncharge(this.byAddress, ticket.address, ticket.at);
    this.uncharge(this.byUser, ticket.username, ticket.at);
    const key = `${ticket.username}\0${ticket.address}`;
    this.knownGood.delete(key);
    this.knownGood.set(key, now);
    this.bound(this.knownGood);
  }

  private recent(map: Map<string, number[]>, key: string, now: number): number[] {
    const times = map.get(key);
    if (!times) return [];
    while (times.length > 0 && times[0]! <= now - this.limits.windowMs) times.shift();
    if (times.length === 0) map.delete(key);
    return times;
  }

  private charge(map: Map<string, number[]>, key: string, now: number): void {
    const times = map.get(key) ?? [];
    times.push(now);
    // Re-inserted: the map's order is the order of last use, so bound() drops the stalest key.
    map.delete(key);
    map.set(key, times);
    this.bound(map);
  }

  private uncharge(map: Map<string, number[]>, key: string, at: number): void {
    const times = map.get(key);
    const i = times?.lastIndexOf(at) ?? -1;
    if (i >= 0) times!.splice(i, 1);
    if (times?.length === 0) map.delete(key);
  }

  private waitS(times: readonly number[], now: number): number {
    return Math.max(1, Math.ceil((times[0]! + this.limits.windowMs - now) / 1000));
  }

  private bound(map: Map<string, unknown>): void {
    while (map.size > this.limits.maxKeys) map.delete(map.keys().next().value!);
  }
}
