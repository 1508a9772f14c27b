/** Health of one device, pure (pure): online, stale, offline or disabled. */
export type Health = 'online' | 'stale' | 'offline' | 'disabled';

export function healthOf(d: { disabled: boolean; online: boolean; lastSeen: number | null }, staleAfterMs: number, now: number): Health {
  if (d.disabled) return 'disabled';
  if (!d.online) return 'offline';
  // Connected but silent for longer than its kind checks in: the link is up, the device is not.
  if (d.lastSeen === null || now - d.lastSeen > staleAfterMs) return 'stale';
  return 'online';
}
