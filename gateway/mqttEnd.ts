import type { MqttClient } from 'mqtt';

/**
 * Ends an mqtt.js client without ever hanging a component's stop(): a connected client gets a
 * graceful end (in-flight acks go out) bounded by `graceMs`; a client that is down or reconnecting
 * (the WAN is out) is ended at once — mqtt.js may otherwise wait for a connection that never comes.
 */
export async function endClient(c: MqttClient, graceMs = 2000): Promise<void> {
  if (!c.connected) {
    await new Promise<void>((resolve) => c.end(true, {}, () => resolve()));
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const graceful = new Promise<void>((resolve) => c.end(false, {}, () => resolve()));
  const bounded = new Promise<void>((resolve) => {
    timer = setTimeout(() => c.end(true, {}, () => resolve()), graceMs);
  });
  await Promise.race([graceful, bounded]);
  clearTimeout(timer);
}
