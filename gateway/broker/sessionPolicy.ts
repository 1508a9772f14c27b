/**
 * Who may hold an MQTT session, as pure policy (broker.ts asks at CONNECT): the CONNECT flags a
 * store accepts, and the book binding each client id to the credential that used it.
 *
 * Binding rule (README "Client ids and sessions"): first come, held while connected and for
 * `mqtt.clientIdHoldS` after the last disconnect. Real firmware picks its client id from its MAC or
 * chip id (Tasmota `DVES_XXXXXX`, ESP-IDF `ESP32_xxxxxx`, many Paho ports a fixed string), not from
 * its username, so "the id must derive from the username" would lock out devices whose firmware we
 * cannot change. Holding the binding past a disconnect stops a squatter taking a rebooting
 * device's (or the bridge's predictable) id in the seconds it is away. The same credential always
 * takes its own id back, and takes over its own live session [MQTT-3.1.4-2].
 *
 * First come needs the owner to come first, which after a gateway restart is a race. So the ids
 * the store's own software uses are reserved from boot: `storegw-{kind}-{id}` belongs to the
 * device `{kind}/{id}` and `storegw-bridge-{id}` to `bridge/{id}` (firmware-bridge/bridge.ts).
 */

export type ConnectRefusal = { result: string; code: 2 | 3 | 5; reason: string };

export interface ConnectFlags {
  /** The CONNECT carried a zero-length client id (aedes then assigns one). */
  emptyClientId: boolean;
  /** The clean session flag as the client sent it (the broker forces 1 afterwards). */
  askedClean: boolean;
  keepalive: number;
}

/**
 * CONNECT flags refused before any password is checked. Keep-alive 0 would let a dead device stay
 * "online" forever, and MQTT 3.1.1 gives a server no way to impose another value, so it is refused
 * (like Mosquitto's max_keepalive) with CONNACK 2 "identifier rejected".
 */
export function checkConnectFlags(f: ConnectFlags, maxKeepaliveS: number): ConnectRefusal | null {
  // [MQTT-3.1.3-8] a zero-length client id with clean session 0: CONNACK 2, then close.
  if (f.emptyClientId && !f.askedClean) return { result: 'client_id_rejected', code: 2, reason: 'clientId: a zero-length client id needs clean session 1' };
  if (f.keepalive === 0 || f.keepalive > maxKeepaliveS) return { result: 'keepalive', code: 2, reason: `keepalive: must be 1..${maxKeepaliveS} s (got ${f.keepalive})` };
  return null;
}

const RESERVED_PREFIX = 'storegw-';

/** The credential a reserved client id belongs to (`storegw-{kind}-{id}` → `{kind}/{id}`), or null. */
export function reservedOwner(clientId: string): string | null {
  if (!clientId.startsWith(RESERVED_PREFIX)) return null;
  const dash = clientId.indexOf('-', RESERVED_PREFIX.length);
  if (dash < 0) return null;
  return `${clientId.slice(RESERVED_PREFIX.length, dash)}/${clientId.slice(dash + 1)}`;
}

interface Binding {
  username: string;
  /** Connections holding the id now (2 for a moment during a takeover). */
  holders: number;
  releasedAt: number;
  /** A server-assigned id: nobody can present it again, so it is forgotten at disconnect. */
  assigned: boolean;
}

export interface ClientIdBookOptions {
  holdMs: number;
  maxPerCredential: number;
  now: () => number;
  /** Released bindings remembered at most (oldest forgotten first); live ones are always kept. */
  maxRemembered?: number;
}

export class ClientIdBook {
  private readonly byId = new Map<string, Binding>();
  /** username → client ids it holds live. */
  private readonly liveIds = new Map<string, number>();
  private readonly maxRemembered: number;

  constructor(private readonly o: ClientIdBookOptions) {
    this.maxRemembered = o.maxRemembered ?? 50_000;
  }

  /** Binds `clientId` to `username` for one more connection, or says why not. */
  bind(clientId: string, username: string, assigned: boolean): ConnectRefusal | null {
    const reserved = reservedOwner(clientId);
    if (reserved !== null && reserved !== username) return { result: 'client_id_taken', code: 5, reason: `clientId: "${clientId}" is reserved for ${reserved}` };
    const now = this.o.now();
    const b = this.byId.get(clientId);
    if (b && b.username !== username) {
      if (b.holders > 0 || now - b.releasedAt < this.o.holdMs) {
        return { result: 'client_id_taken', code: 5, reason: `clientId: "${clientId}" is bound to another credential` };
      }
      this.byId.delete(clientId);
    }
    const mine = b && b.username === username ? b : null;
    if (mine && mine.holders > 0) {
      mine.holders++; // a takeover of its own session: not one more connection
      return null;
    }
    const live = this.liveIds.get(username) ?? 0;
    if (live >= this.o.maxPerCredential) {
      return { result: 'credential_cap', code: 3, reason: `${username} already holds ${live} connections (mqtt.maxConnectionsPerCredential)` };
    }
    this.liveIds.set(username, live + 1);
    if (mine) this.byId.delete(clientId); // re-inserted below: the Map's order is least recently bound first
    this.byId.set(clientId, { username, holders: 1, releasedAt: 0, assigned });
    if (this.byId.size > this.maxRemembered) this.forgetOldest();
    return null;
  }

  /** One connection that held `clientId` ended. */
  release(clientId: string): void {
    const b = this.byId.get(clientId);
    if (!b || b.holders === 0) return;
    b.holders--;
    if (b.holders > 0) return;
    const live = (this.liveIds.get(b.username) ?? 1) - 1;
    if (live > 0) this.liveIds.set(b.username, live);
    else this.liveIds.delete(b.username);
    b.releasedAt = this.o.now();
    if (b.assigned || this.o.holdMs === 0) this.byId.delete(clientId);
  }

  /** Who holds or held `clientId` (tests, ops). */
  holder(clientId: string): { username: string; live: boolean } | null {
    const b = this.byId.get(clientId);
    return b ? { username: b.username, live: b.holders > 0 } : null;
  }

  get size(): number {
    return this.byId.size;
  }

  private forgetOldest(): void {
    for (const [id, b] of this.byId) {
      if (this.byId.size <= this.maxRemembered) return;
      if (b.holders === 0) this.byId.delete(id);
    }
  }
}
