/**
 * The live feed (`GET /api/events`, Server-Sent Events): devices, today's numbers and new alerts,
 * pushed by the gateway. EventSource reconnects by itself; `onDown` tells the page when the
 * stream is down so it can say so (and check whether the session ended).
 */
import type { DeviceView } from '../../gateway/devices/registry.js';
import type { KpiDay } from '../../gateway/kpi/kpis.js';
import type { AlertRow } from '../../gateway/kpi/kpiStore.js';
import type { PickupTask } from '../../gateway/kiosk/handovers.js';

export interface LiveHandlers {
  hello: (h: { devices: DeviceView[]; kpi: KpiDay; serverTime: number; pickups?: PickupTask[] }) => void;
  device: (d: DeviceView) => void;
  kpi: (k: KpiDay) => void;
  alert: (a: AlertRow) => void;
  /** Click & collect tasks: the whole open list after every change. */
  pickups: (p: { tasks: PickupTask[] }) => void;
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
