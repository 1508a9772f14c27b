/**
 * The live feed (`GET /api/events`, Server-Sent Events): devices, today's numbers and new alerts,
 * pushed by the gateway. EventSource reconnects by itself; `onDown` tells the page when the
 * stream is down so it can say so (and check whether the session ended).
 */
import type { LiveMessage } from '../../gateway/protocol/schemas/api/index.js';

/** One handler per event of the feed, each given that event's data as the gateway's schema types it. */
export interface LiveHandlers {
  hello: (h: LiveMessage<'hello'>) => void;
  device: (d: LiveMessage<'device'>) => void;
  kpi: (k: LiveMessage<'kpi'>) => void;
  alert: (a: LiveMessage<'alert'>) => void;
  /** Click & collect tasks: the whole open list after every change. */
  pickups: (p: LiveMessage<'pickups'>) => void;
  up: () => void;
  down: () => void;
}

export function openLive(h: LiveHandlers): () => void {
  const es = new EventSource('/api/events');
  const on = <T>(name: string, fn: (v: T) => void) => es.addEventListener(name, (ev) => fn(JSON.parse((ev as MessageEvent<string>).data) as T));
  on('hello', (v: Parameters<LiveHandlers['hello']>[0]) => {
    h.up();
    h.hello(v);
  });
  on('device', h.device);
  on('kpi', h.kpi);
  on('alert', h.alert);
  on('pickups', h.pickups);
  es.onerror = () => h.down();
  return () => es.close();
}
