/**
 * The device catalogue as data (zigbee2mqtt style): for every kind, its events (schema + event
 * class) and its commands. The event classes: gateway/README.md §Event classes.
 */
import type { TSchema } from '@sinclair/typebox';
import type { DeviceKind } from '../topics.js';
import { Ack, Alert, Heartbeat } from './common.js';
import { EslAck, EslShow, EslStatus } from './esl.js';
import { ScaleTare, ScaleWeight, ScaleZero } from './scale.js';
import { ScannerBeep, ScannerEnable, ScannerScan } from './scanner.js';
import { RfidInventory, RfidRead } from './rfid.js';
import { FootfallCount, FootfallCross } from './footfall.js';
import { LightSet } from './light.js';
import { PaymentCancel, PaymentCharge, PaymentEndOfDay, PaymentEndOfDayResult, PaymentResult, PaymentReverse, PaymentStatus } from './payment.js';
import { KioskAttendant, KioskHandover, KioskPickup, KioskTransaction, PointsChange } from './kiosk.js'; // kiosk
import { StockMove } from './stock.js'; // stock
import { PriceMismatch } from './priceMismatch.js'; // shelf = till
import { CouponRedeemed, CouponReleased } from './coupon.js'; // coupons
import { PrinterPrint, PrinterStatus } from './printer.js';
import { ExitAlarm } from './exitAlarm.js'; // exit gate
import { SaleVoided } from './saleVoid.js'; // post-sale void

export const EVENT_CLASSES = ['exact', 'aggregate', 'presence', 'latest', 'sampled'] as const;
export type EventClass = (typeof EVENT_CLASSES)[number];

export interface EventSpec {
  schema: TSchema;
  cls: EventClass;
}
export interface KindSpec {
  events: Record<string, EventSpec>;
  commands: Record<string, TSchema>;
}

const common: Record<string, EventSpec> = {
  heartbeat: { schema: Heartbeat, cls: 'latest' },
  alert: { schema: Alert, cls: 'exact' },
  ack: { schema: Ack, cls: 'exact' },
};

export const CATALOGUE: Record<DeviceKind, KindSpec> = {
  esl: {
    events: { ...common, status: { schema: EslStatus, cls: 'latest' }, ack: { schema: EslAck, cls: 'exact' } },
    commands: { show: EslShow },
  },
  scale: {
    events: { ...common, weight: { schema: ScaleWeight, cls: 'sampled' } },
    commands: { tare: ScaleTare, zero: ScaleZero },
  },
  scanner: {
    events: { ...common, scan: { schema: ScannerScan, cls: 'exact' } },
    commands: { beep: ScannerBeep, enable: ScannerEnable },
  },
  rfid: {
    events: { ...common, read: { schema: RfidRead, cls: 'presence' }, exitAlarm: { schema: ExitAlarm, cls: 'exact' } },
    commands: { inventory: RfidInventory },
  },
  footfall: {
    events: { ...common, count: { schema: FootfallCount, cls: 'aggregate' }, cross: { schema: FootfallCross, cls: 'aggregate' } },
    commands: {},
  },
  light: { events: { ...common, stockMove: { schema: StockMove, cls: 'exact' } }, commands: { set: LightSet } }, // stockMove: the gateway's own stock records
  payment: {
    events: { ...common, result: { schema: PaymentResult, cls: 'exact' }, status: { schema: PaymentStatus, cls: 'latest' }, endOfDay: { schema: PaymentEndOfDayResult, cls: 'exact' } },
    commands: { charge: PaymentCharge, cancel: PaymentCancel, reverse: PaymentReverse, endOfDay: PaymentEndOfDay },
  },
  kiosk: { events: { ...common, transaction: { schema: KioskTransaction, cls: 'exact' }, attendant: { schema: KioskAttendant, cls: 'exact' }, pickup: { schema: KioskPickup, cls: 'exact' }, handover: { schema: KioskHandover, cls: 'exact' }, priceMismatch: { schema: PriceMismatch, cls: 'exact' }, pointsChange: { schema: PointsChange, cls: 'exact' }, couponRedeemed: { schema: CouponRedeemed, cls: 'exact' }, couponReleased: { schema: CouponReleased, cls: 'exact' }, saleVoided: { schema: SaleVoided, cls: 'exact' } }, commands: {} }, // kiosk
  printer: { events: { ...common, status: { schema: PrinterStatus, cls: 'latest' } }, commands: { print: PrinterPrint } },
};

export * from './common.js';
export * from './esl.js';
export * from './scale.js';
export * from './scanner.js';
export * from './rfid.js';
export * from './footfall.js';
export * from './light.js';
export * from './payment.js';
export * from './kiosk.js'; // kiosk
export * from './stock.js'; // stock
export * from './priceMismatch.js'; // shelf = till
export * from './coupon.js'; // coupons
export * from './printer.js';
export * from './exitAlarm.js'; // exit gate
export * from './saleVoid.js'; // post-sale void
