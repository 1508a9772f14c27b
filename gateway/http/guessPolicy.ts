/**
 * Who may try a password now, decided before any hash runs (pure: the clock is passed in).
 *
 * - Per address: a token bucket of attempts (every attempt takes a token first, so 40 parallel
 *   guesses are counted before one hash starts); a success gives its token back.
 * - Per address and username: after `pairFreeFailures` failures the pair slows down (a wait that
 *   doubles per further failure, capped), it is never locked for good; a success clears it.
 * - Per username, over all addresses: past `userFailures` failures in `userWindowMs`, attempts
 *   for that name are refused, except from an address where that person logged in before
 *   (known-good), so guessing from elsewhere cannot lock an admin out at their own desk.
 * A failure is charged when the attempt is admitted (parallel attempts see each other) and given
 * back by `succeeded`. Every map is bounded: the oldest entries go first.
 */
export interface GuessLimits {
  addressBurst: number;
  addressPerMinute: number;
  pairFreeFailures: number;
  pairBaseDelayS: number;
  pairMaxDelayS: number;
  userFailures: number;
  userWindowMs: number;
  knownGoodMs: number;
  maxKeys: number;
}

export const DEFAULT_GUESS_LIMITS: GuessLimits = {
  addressBurst: 10,
  addressPerMinute: 10,
  pairFreeFailures: 5,
  pairBaseDelayS: 30,
  pairMaxDelayS: 15 * 60,
  userFailures: 20,
  userWindowMs: 15 * 60_000,
  knownGoodMs: 30 * 24 * 3600_000,
  maxKeys: 10_000,
};

export type Admission = { ok: true; ticket: Ticket } | { ok: false; why: 'address' | 'pair' | 'user'; retryAfterS: number };
export interface Ticket {
  username: string;
  address: string;
}

interface Bucket {
  tokens: number;
  at: number;
}
interface Pair {
  failures: number;
  nextAt: number;
}
interface UserFailures {
  count: number;
  first: number;
}

export class GuessPolicy {
  private readonly buckets = new Map<string, Bucket>();
  private readonly pairs = new Map<string, Pair>();
  private readonly users = new Map<string, UserFailures>();
  private readonly knownGood = new Map<string, number>();

  constructor(private readonly l: GuessLimits = DEFAULT_GUESS_LIMITS) {}

  /** Takes the attempt's token and charges a failure up front; refuses without charging. */
  admit(username: string, address: string, now: number): Admission {
    const pairKey = `${address}\n${username}`;
    const pair = this.pairs.get(pairKey);
    if (pair && now < pair.nextAt) return { ok: false, why: 'pair', retryAfterS: secondsUntil(pair.nextAt, now) };
    const user = this.userFailures(username, now);
    if (user && user.count >= this.l.userFailures && !this.isKnownGood(username, address, now)) {
      return { ok: false, why: 'user', retryAfterS: secondsUntil(user.first + this.l.userWindowMs, now) };
    }
    const bucket = this.refill(address, now);
    if (bucket.tokens < 1) return { ok: false, why: 'address', retryAfterS: Math.max(1, Math.ceil(((1 - bucket.tokens) * 60) / this.l.addressPerMinute)) };
    bucket.tokens -= 1;

    const p = pair ?? { failures: 0, nextAt: 0 };
    p.failures++;
    if (p.failures >= this.l.pairFreeFailures) {
      const delayS = Math.min(this.l.pairMaxDelayS, this.l.pairBaseDelayS * 2 ** (p.failures - this.l.pairFreeFailures));
      p.nextAt = now + delayS * 1000;
    }
    put(this.pairs, pairKey, p, this.l.maxKeys);
    const u = user ?? { count: 0, first: now };
    u.count++;
    put(this.users, username, u, this.l.maxKeys);
    return { ok: true, ticket: { username, address } };
  }

  /** The password was right: the charged failure and the token go back, the address becomes known-good. */
  succeeded(t: Ticket, now: number): void {
    this.pairs.delete(`${t.address}\n${t.username}`);
    const u = this.users.get(t.username);
    if (u && u.count > 0) u.count--;
    const b = this.buckets.get(t.address);
    if (b) b.tokens = Math.min(this.l.addressBurst, b.tokens + 1);
    put(this.knownGood, `${t.address}\n${t.username}`, now, this.l.maxKeys);
  }

  /** No hash ran (the gate was busy): the failure charged on admission is given back, not the token. */
  notChecked(t: Ticket): void {
    const p = this.pairs.get(`${t.address}\n${t.username}`);
    if (p && p.failures > 0) {
      p.failures--;
      if (p.failures < this.l.pairFreeFailures) p.nextAt = 0;
    }
    const u = this.users.get(t.username);
    if (u && u.count > 0) u.count--;
  }

  private userFailures(username: string, now: number): UserFailures | undefined {
    const u = this.users.get(username);
    if (u && now - u.first >= this.l.userWindowMs) {
      this.users.delete(username);
      return undefined;
    }
    return u;
  }

  private isKnownGood(username: string, address: string, now: number): boolean {
    const at = this.knownGood.get(`${address}\n${username}`);
    return at !== undefined && now - at < this.l.knownGoodMs;
  }

  private refill(address: string, now: number): Bucket {
    let b = this.buckets.get(address);
    if (!b) {
      b = { tokens: this.l.addressBurst, at: now };
      put(this.buckets, address, b, this.l.maxKeys);
    } else {
      b.tokens = Math.min(this.l.addressBurst, b.tokens + ((now - b.at) * this.l.addressPerMinute) / 60_000);
      b.at = now;
    }
    return b;
  }
}

/** A token bucket per key (kiosk hellos per address, member codes per kiosk); bounded like the above. */
export class AttemptBuckets {
  private readonly buckets = new Map<string, Bucket>();
  constructor(private readonly l: { burst: number; perMinute: number; maxKeys: number }) {}

  /** Takes a token: 0 when allowed, else the seconds until one is free. */
  take(key: string, now: number): number {
    let b = this.buckets.get(key);
    if (!b) b = { tokens: this.l.burst, at: now };
    else b.tokens = Math.min(this.l.burst, b.tokens + ((now - b.at) * this.l.perMinute) / 60_000);
    b.at = now;
    put(this.buckets, key, b, this.l.maxKeys);
    if (b.tokens < 1) return Math.max(1, Math.ceil(((1 - b.tokens) * 60) / this.l.perMinute));
    b.tokens -= 1;
    return 0;
  }

  /** Gives a token back (the attempt succeeded). */
  refund(key: string): void {
    const b = this.buckets.get(key);
    if (b) b.tokens = Math.min(this.l.burst, b.tokens + 1);
  }
}

function secondsUntil(at: number, now: number): number {
  return Math.max(1, Math.ceil((at - now) / 1000));
}

/** Map insertion order is age order: refreshing a key moves it to the end, a full map drops the oldest. */
function put<V>(m: Map<string, V>, k: string, v: V, max: number): void {
  m.delete(k);
  m.set(k, v);
  if (m.size > max) m.delete(m.keys().next().value!);
}
