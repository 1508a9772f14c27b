/**
 * The ops page's live feed (`GET /api/events`, Server-Sent Events): one schema per event name. The
 * gateway writes each frame's data as JSON; the page parses it as the matching type.
 */
import { Type, type Static } from '@sinclair/typebox';
import { DeviceViewSchema } from './devices.js';
import { AlertRowSchema, KpiDaySchema } from './ops.js';
import { PickupList, PickupTaskSchema } from './checkout.js';

/** Sent once per stream: every device, today's numbers, and the state of later components. */
export const LiveHello = Type.Object({
  devices: Type.Array(DeviceViewSchema),
  kpi: KpiDaySchema,
  serverTime: Type.Integer({ minimum: 0 }),
  /** The open click & collect tasks, when this gateway runs kiosks. */
  pickups: Type.Optional(Type.Array(PickupTaskSchema)),
});

/** Event name → the schema of its data. */
export const LiveEvents = {
  hello: LiveHello,
  /** A device view after a change (online/offline, health, activity). */
  device: DeviceViewSchema,
  /** Today's numbers after they change. */
  kpi: KpiDaySchema,
  /** A new alert of the alert book. */
  alert: AlertRowSchema,
  /** The whole open click & collect list after every change. */
  pickups: PickupList,
} as const;

export type LiveEventName = keyof typeof LiveEvents;
export type LiveMessage<E extends LiveEventName> = Static<(typeof LiveEvents)[E]>;
