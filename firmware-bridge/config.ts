/**
 * The bridge's config: one TypeBox schema, loading is pure (defaults ← file ← STOREGW_BRIDGE_* env),
 * ajv with allErrors, errors named by path (`devices[2].serial.path: is required`), the result
 * frozen. Per-protocol `options` are checked in a second pass against that protocol's own schema,
 * so their errors name the path too. The password file is only resolved here, read by main.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { deepFreeze, setPath, yamlMapping } from '../gateway/protocol/configText.js';
import type { ValidateFunction } from 'ajv';
import { DEVICE_KINDS, ID_PATTERN, type DeviceKind } from '../gateway/protocol/topics.js';
import { createAjv, formatErrors } from '../gateway/protocol/validate.js';
import { PROTOCOL_OPTIONS } from './protocolOptions.js';

export { PROTOCOL_OPTIONS };

export const PROTOCOLS = ['mtsics', 'toledoContinuous', 'chafon', 'hidScanner', 'beams', 'lightTower', 'escpos', 'oepl', 'zvt'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** The device kind each protocol publishes as (gateway/protocol/README.md §Device payloads). */
export const PROTOCOL_KIND: Readonly<Record<Protocol, DeviceKind>> = Object.freeze({
  mtsics: 'scale',
  toledoContinuous: 'scale',
  chafon: 'rfid',
  hidScanner: 'scanner',
  beams: 'footfall',
  lightTower: 'light',
  escpos: 'printer',
  oepl: 'esl',
  zvt: 'payment',
});
/** How a device is reached. */
export const PORT_TYPES = ['serial', 'hid', 'gpio', 'tcp', 'http'] as const;
export type PortType = (typeof PORT_TYPES)[number];
/** The ports each protocol can use; a device entry gives exactly one of them. */
export const PROTOCOL_PORTS: Readonly<Record<Protocol, readonly PortType[]>> = Object.freeze({
  mtsics: ['serial'],
  toledoContinuous: ['serial'],
  chafon: ['serial'],
  hidScanner: ['hid'],
  beams: ['gpio'],
  lightTower: ['gpio'],
  // A receipt printer on the LAN (raw port 9100) or on a serial / USB-serial line.
  escpos: ['tcp', 'serial'],
  oepl: ['http'],
  zvt: ['tcp', 'serial'],
});

const Id = Type.String({ pattern: ID_PATTERN });
const Line = Type.Integer({ minimum: 0, maximum: 4095 });

const Serial = Type.Object(
  {
    path: Type.String({ minLength: 1 }),
    baudRate: Type.Integer({ minimum: 50, maximum: 4_000_000, default: 9600 }),
    dataBits: Type.Union([Type.Literal(5), Type.Literal(6), Type.Literal(7), Type.Literal(8)], { default: 8 }),
    parity: Type.Union(['none', 'even', 'odd', 'mark', 'space'].map((p) => Type.Literal(p)), { default: 'none' }),
    stopBits: Type.Union([Type.Literal(1), Type.Literal(1.5), Type.Literal(2)], { default: 1 }),
    xon: Type.Boolean({ default: false }),
    rtscts: Type.Boolean({ default: false }),
    /** How often the bridge checks that the path still leads to the opened device (0 = off). */
    presenceCheckMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 1000 }),
  },
  { additionalProperties: false },
);

const Hid = Type.Object(
  {
    vendorId: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffff })),
    productId: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffff })),
    path: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

/** Beams use beamA/beamB (A outside, B inside); a light tower uses green/amber/red. */
const Gpio = Type.Object(
  {
    beamA: Type.Optional(Line),
    beamB: Type.Optional(Line),
    green: Type.Optional(Line),
    amber: Type.Optional(Line),
    red: Type.Optional(Line),
    activeLow: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);

/** A LAN device: a card terminal (ZVT, port 20007), a receipt printer (raw, port 9100). */
const Tcp = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:-]+$' }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    connectTimeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 5000 }),
  },
  { additionalProperties: false },
);

/** A device with a web API (an OpenEPaperLink access point): its base URL. */
const Http = Type.Object(
  { url: Type.String({ pattern: '^https?://[^\\s/]+(:[0-9]+)?/?$' }) },
  { additionalProperties: false },
);

const Backoff = Type.Object(
  {
    initialMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 250 }),
    maxMs: Type.Integer({ minimum: 10, maximum: 600_000, default: 10_000 }),
    factor: Type.Number({ minimum: 1, maximum: 10, default: 2 }),
  },
  { additionalProperties: false, default: {} },
);

export const BridgeConfigSchema = Type.Object(
  {
    log: Type.Object(
      { level: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }) },
      { additionalProperties: false, default: {} },
    ),
    mqtt: Type.Object(
      {
        url: Type.String({ pattern: '^(mqtts?|wss?)://[^\\s/]+(:[0-9]+)?(/.*)?$', description: 'the gateway: mqtt://host:port' }),
        /** The bridge's one credential: `bridge/{id}` (the gateway's config lists the id under bridges). */
        username: Type.String({ pattern: `^bridge/${ID_PATTERN.slice(1, -1)}$` }),
        password: Type.Optional(Type.String({ minLength: 1 })),
        passwordFile: Type.Optional(Type.String({ minLength: 1 })),
        /** mqtts:// to a gateway's TLS listener: the store CA that signed its certificate (PEM). */
        caFile: Type.Optional(Type.String({ minLength: 1 })),
        /** A client certificate from the store CA whose CN is `bridge/{id}`, and its key (0600). */
        certFile: Type.Optional(Type.String({ minLength: 1 })),
        keyFile: Type.Optional(Type.String({ minLength: 1 })),
        // The gateway refuses a keep-alive above its mqtt.maxKeepaliveS (default 300) with CONNACK 2.
        keepaliveS: Type.Integer({ minimum: 5, maximum: 300, default: 30 }),
        reconnect: Backoff,
        /** QoS 1 events in flight or queued while the gateway is away; beyond it events are dropped and counted. */
        maxQueued: Type.Integer({ minimum: 10, maximum: 1_000_000, default: 10_000 }),
      },
      { additionalProperties: false },
    ),
    /** How a vanished port is reopened (USB unplug). */
    portBackoff: Backoff,
    devices: Type.Array(
      Type.Object(
        {
          kind: Type.Union(DEVICE_KINDS.map((k) => Type.Literal(k))),
          id: Id,
          protocol: Type.Union(PROTOCOLS.map((p) => Type.Literal(p))),
          serial: Type.Optional(Serial),
          hid: Type.Optional(Hid),
          gpio: Type.Optional(Gpio),
          tcp: Type.Optional(Tcp),
          http: Type.Optional(Http),
          options: Type.Record(Type.String(), Type.Unknown(), { default: {} }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
  },
  { additionalProperties: false },
);

export type BridgeConfig = Static<typeof BridgeConfigSchema>;
export type BridgeDeviceConfig = BridgeConfig['devices'][number];


export type BridgeConfigResult = { ok: true; config: Readonly<BridgeConfig> } | { ok: false; errors: string[] };

const ajv = createAjv();
let validateConfig: ValidateFunction | null = null;
const validateOptions = new Map<Protocol, ValidateFunction>();
function compiled(): { config: ValidateFunction; options: Map<Protocol, ValidateFunction> } {
  // Compiled on first use, not at import (nothing costly happens at import time).
  validateConfig ??= ajv.compile(BridgeConfigSchema);
  if (validateOptions.size === 0) for (const p of PROTOCOLS) validateOptions.set(p, ajv.compile(PROTOCOL_OPTIONS[p]));
  return { config: validateConfig, options: validateOptions };
}

/** STOREGW_BRIDGE_* overrides, each mapped to one path (env wins over the file). */
const ENV_MAP: Record<string, string[]> = {
  STOREGW_BRIDGE_MQTT_URL: ['mqtt', 'url'],
  STOREGW_BRIDGE_PASSWORD: ['mqtt', 'password'],
  STOREGW_BRIDGE_LOG_LEVEL: ['log', 'level'],
};

/** Checks a schema cannot express: kind ↔ protocol, the port each protocol needs, duplicates. */
function semanticErrors(c: BridgeConfig): string[] {
  const errors: string[] = [];
  if (c.mqtt.password === undefined && c.mqtt.passwordFile === undefined) errors.push('mqtt.password: is required (or mqtt.passwordFile)');
  if (c.mqtt.password !== undefined && c.mqtt.passwordFile !== undefined) errors.push('mqtt.passwordFile: give password or passwordFile, not both');
  if ((c.mqtt.certFile === undefined) !== (c.mqtt.keyFile === undefined)) errors.push(c.mqtt.certFile === undefined ? 'mqtt.certFile: is required with mqtt.keyFile' : 'mqtt.keyFile: is required with mqtt.certFile');
  for (const f of ['caFile', 'certFile', 'keyFile'] as const) {
    if (c.mqtt[f] !== undefined && !/^(mqtts|wss):/.test(c.mqtt.url)) errors.push(`mqtt.${f}: needs a TLS url (mqtts:// or wss://), mqtt.url is ${c.mqtt.url}`);
  }
  const seen = new Map<string, number>();
  const ports = new Map<string, number>();
  const { options } = compiled();
  c.devices.forEach((d, i) => {
    const at = `devices[${i}]`;
    const key = `${d.kind}/${d.id}`;
    if (seen.has(key)) errors.push(`${at}.id: duplicates devices[${seen.get(key)}] (${key})`);
    else seen.set(key, i);
    const kind = PROTOCOL_KIND[d.protocol];
    if (d.kind !== kind) errors.push(`${at}.kind: protocol ${d.protocol} publishes as kind "${kind}" (got "${d.kind}")`);
    const allowed = PROTOCOL_PORTS[d.protocol];
    const given = PORT_TYPES.filter((t) => d[t] !== undefined);
    const wanted = allowed.join(' or ');
    if (!given.some((t) => allowed.includes(t))) errors.push(`${at}.${allowed[0]}: is required for protocol ${d.protocol}${allowed.length > 1 ? ` (or ${allowed.slice(1).join(' or ')})` : ''}`);
    for (const t of given) if (!allowed.includes(t)) errors.push(`${at}.${t}: is not used by protocol ${d.protocol} (it needs ${wanted})`);
    if (given.filter((t) => allowed.includes(t)).length > 1) errors.push(`${at}.${given.filter((t) => allowed.includes(t))[1]}: give one of ${wanted}, not several`);
    const needs = allowed[0];
    if (d.serial) {
      const other = ports.get(d.serial.path);
      if (other !== undefined) errors.push(`${at}.serial.path: ${d.serial.path} is already used by devices[${other}]`);
      else ports.set(d.serial.path, i);
    }
    if (d.tcp) {
      const address = `tcp://${d.tcp.host}:${d.tcp.port}`;
      const other = ports.get(address);
      if (other !== undefined) errors.push(`${at}.tcp: ${address} is already used by devices[${other}]`);
      else ports.set(address, i);
    }
    if (needs === 'hid' && d.hid && !d.hid.path && (d.hid.vendorId === undefined || d.hid.productId === undefined)) {
      errors.push(`${at}.hid: give path, or vendorId and productId`);
    }
    if (needs === 'gpio' && d.gpio) {
      const lines = d.protocol === 'beams' ? (['beamA', 'beamB'] as const) : (['green', 'amber', 'red'] as const);
      for (const l of lines) if (d.gpio[l] === undefined) errors.push(`${at}.gpio.${l}: is required for protocol ${d.protocol}`);
    }
    const v = options.get(d.protocol)!;
    if (!v(d.options)) errors.push(...formatErrors(v.errors, `${at}.options`));
  });
  return errors;
}

/** Pure: text + env → a frozen config or every error with its path. `baseDir` resolves passwordFile. */
export function parseBridgeConfig(text: string, env: Record<string, string | undefined> = {}, baseDir = '.'): BridgeConfigResult {
  const parsed = yamlMapping(text);
  if (!parsed.ok) return parsed;
  const obj = parsed.obj;
  for (const [name, p] of Object.entries(ENV_MAP)) {
    const v = env[name];
    if (v !== undefined && v !== '') setPath(obj, p, v);
  }
  const v = compiled().config;
  const errors = v(obj) ? [] : formatErrors(v.errors, '');
  if (errors.length === 0) errors.push(...semanticErrors(obj as BridgeConfig));
  if (errors.length > 0) return { ok: false, errors };
  const config = obj as BridgeConfig;
  for (const f of ['passwordFile', 'caFile', 'certFile', 'keyFile'] as const) {
    const v = config.mqtt[f];
    if (v && !path.isAbsolute(v)) config.mqtt[f] = path.resolve(baseDir, v);
  }
  return { ok: true, config: deepFreeze(config) };
}

export function loadBridgeConfigFile(file: string, env: Record<string, string | undefined> = process.env): BridgeConfigResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, errors: [`(file) ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`] };
  }
  return parseBridgeConfig(text, env, path.dirname(path.resolve(file)));
}

/** The bridge id of the username `bridge/{id}`. */
export function bridgeIdOf(c: Readonly<BridgeConfig>): string {
  return c.mqtt.username.slice('bridge/'.length);
}

/** TLS options for mqtt.js from `mqtt.caFile/certFile/keyFile` (empty without them). Throws naming the field. */
export function readTlsOptions(c: Readonly<BridgeConfig>): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const out: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  for (const [field, opt] of [['caFile', 'ca'], ['certFile', 'cert'], ['keyFile', 'key']] as const) {
    const file = c.mqtt[field];
    if (file === undefined) continue;
    try {
      out[opt] = readFileSync(file);
    } catch (err) {
      throw new Error(`mqtt.${field}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  return out;
}

/** The password, from the config or its file (trailing newline dropped). Throws naming the file. */
export function readPassword(c: Readonly<BridgeConfig>): string {
  if (c.mqtt.password !== undefined) return c.mqtt.password;
  const file = c.mqtt.passwordFile!;
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new Error(`mqtt.passwordFile: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
