/**
 * Two gateways configured with one storeId, the pure part. Both would connect to HQ with the same
 * MQTT client id (`storegw-{storeId}`), and a broker lets only one connection hold a client id: a
 * new CONNECT takes the session over and closes the older connection [MQTT-3.1.4-3]. The two
 * boxes would throw each other off HQ in turns, and HQ, which takes each (storeId, seq) once,
 * would drop one box's records as duplicates of the other's.
 *
 * Each box has an install id, generated once in its data folder (installId.ts), and puts it in its
 * retained status (`hq/v1/store/{storeId}/status`), its Last Will included. On every connect the
 * uplink reads that retained status before it writes its own. When another box held the link, the
 * broker has just published that box's Will (or it is still `online`), so the status names another
 * install id. Seen once, it may be the box this one replaced (its last status stays retained):
 * logged, nothing more. Seen again on a later connect with a status the other box wrote since (a
 * twin writes a new one on each connect: `online`, then its Will with that connect's time), another
 * box is alive and taking the link back: the uplink stops, and the store's operators are told
 * (DUPLICATE_STORE_ID) with both install ids. A replaced box's status never changes, so a link that
 * flaps before this box wrote its own status does not look like a twin.
 * Only the retained status and the Will are used, so any MQTT broker (Mosquitto, EMQX, HiveMQ)
 * behaves alike.
 */

/** Connects that saw another install's status, after which the uplink refuses to go on. */
export const CONNECTS_WITH_OTHER_INSTALL = 2;

export interface StatusSeen {
  installId: string;
  state: string;
  /** The payload's text: a new one means the other box wrote its status again. */
  text: string;
}

export type DuplicateVerdict = { kind: 'own' } | { kind: 'replaced'; otherInstallId: string } | { kind: 'duplicate'; otherInstallId: string };

/** Remembers, across connects, how often the status of another install was seen. */
export class DuplicateWatch {
  private readonly connectsWithOther = new Set<number>();
  private readonly statusesOfOthers = new Set<string>();

  constructor(private readonly installId: string) {}

  /** A status message read on connect number `connect`; what it means for this box. */
  seen(connect: number, status: StatusSeen): DuplicateVerdict {
    if (status.installId === this.installId) return { kind: 'own' };
    if (this.statusesOfOthers.has(status.text)) return { kind: 'replaced', otherInstallId: status.installId };
    this.statusesOfOthers.add(status.text);
    this.connectsWithOther.add(connect);
    if (this.connectsWithOther.size >= CONNECTS_WITH_OTHER_INSTALL) return { kind: 'duplicate', otherInstallId: status.installId };
    return { kind: 'replaced', otherInstallId: status.installId };
  }
}

/** A status payload's install id and state, or null when it has none (an older gateway's status). */
export function parseStatus(payload: Buffer): StatusSeen | null {
  try {
    const text = payload.toString('utf8');
    const s = JSON.parse(text) as { installId?: unknown; state?: unknown };
    return typeof s.installId === 'string' && typeof s.state === 'string' ? { installId: s.installId, state: s.state, text } : null;
  } catch {
    return null;
  }
}
