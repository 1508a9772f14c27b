/**
 * TLS settings of the two listeners (MQTT for devices, HTTPS for pages and API): their schema,
 * their files resolved against the config's folder and checked readable at load time (check-config
 * names the field), and the files read into what node:tls wants. Both are off unless configured:
 * the demo and loopback-only boxes run without them. README, "TLS and the store CA".
 */
import { Type } from '@sinclair/typebox';
import { accessSync, constants as fsConstants, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const File = (description: string) => Type.String({ minLength: 1, description });

export const MqttTlsSchema = Type.Object(
  {
    host: Type.Optional(Type.String({ description: 'address of the TLS listener (default: mqtt.host); e.g. 0.0.0.0 here with mqtt.host 127.0.0.1 keeps plain MQTT to local clients' })),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8883, description: 'MQTT over TLS port (8883 is MQTT\'s registered TLS port)' }),
    certFile: File('PEM server certificate (chain) the devices check, issued by the store CA'),
    keyFile: File('PEM private key of certFile; must be 0600 (or 0640 owned by root)'),
    caFile: Type.Optional(File('PEM store CA: client certificates it signed are accepted, their CN is the MQTT username ({kind}/{id}, bridge/{id} or a service user)')),
    crlFile: Type.Optional(File('PEM certificate revocation list of the store CA (openssl ca -gencrl): revoked client certificates are refused; renew it before its next update')),
    requireClientCert: Type.Boolean({ default: false, description: 'refuse devices without a client certificate signed by caFile at the handshake' }),
  },
  { additionalProperties: false, description: 'MQTT over TLS for devices beside the plain listener; off when absent' },
);

export const HttpTlsSchema = Type.Object(
  {
    certFile: File('PEM server certificate (chain) of the ops and kiosk pages'),
    keyFile: File('PEM private key of certFile; must be 0600 (or 0640 owned by root)'),
  },
  { additionalProperties: false, description: 'HTTPS on http.port instead of HTTP (session cookies are then Secure); off when absent' },
);

interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile?: string;
  crlFile?: string;
  requireClientCert?: boolean;
}
type WithTls = { mqtt: { tls?: TlsFiles }; http: { tls?: TlsFiles } };

/** Resolves `mqtt.tls.*File` and `http.tls.*File` against `baseDir` (in place, before the freeze) and checks each is readable. */
export function tlsFileErrors(config: object, baseDir: string): string[] {
  const c = config as WithTls;
  const errors: string[] = [];
  for (const [where, section] of [['mqtt.tls', c.mqtt.tls], ['http.tls', c.http.tls]] as const) {
    if (!section) continue;
    for (const field of ['certFile', 'keyFile', 'caFile', 'crlFile'] as const) {
      const f = section[field];
      if (f === undefined) continue;
      const abs = path.isAbsolute(f) ? f : path.resolve(baseDir, f);
      section[field] = abs;
      try {
        accessSync(abs, fsConstants.R_OK);
        if (!statSync(abs).isFile()) errors.push(`${where}.${field}: ${abs} is not a file`);
      } catch (err) {
        errors.push(`${where}.${field}: cannot read ${abs} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
    }
  }
  if (c.mqtt.tls?.crlFile && !c.mqtt.tls.caFile) errors.push('mqtt.tls.caFile: is required with mqtt.tls.crlFile (the CA whose revocations it lists)');
  if (c.mqtt.tls?.requireClientCert && !c.mqtt.tls.caFile) errors.push('mqtt.tls.caFile: is required with mqtt.tls.requireClientCert (the CA that signs device certificates)');
  return errors;
}

const LOOPBACK = /^(127\.|::1$|localhost$)/;

/**
 * Listeners that put secrets on the LAN in clear: plain MQTT (device secrets in CONNECT) or plain
 * HTTP (ops passwords, session cookies) bound beyond loopback. Logged at start, not refused: a
 * store may terminate TLS in a reverse proxy or run on an isolated device VLAN.
 */
export function plainLanListeners(c: { mqtt: { host: string }; http: { host: string; tls?: unknown; secureCookies: boolean } }): string[] {
  const out: string[] = [];
  if (!LOOPBACK.test(c.mqtt.host)) out.push(`mqtt.host: plain MQTT listens on ${c.mqtt.host}; device secrets cross the LAN in clear (set mqtt.tls, and mqtt.host 127.0.0.1 for local clients)`);
  if (!LOOPBACK.test(c.http.host) && !c.http.tls && !c.http.secureCookies) out.push(`http.host: plain HTTP listens on ${c.http.host}; ops passwords and session cookies cross the LAN in clear (set http.tls, or a TLS proxy and http.secureCookies)`);
  return out;
}

/** The files of a TLS section as node:tls options (read at start; a rotated certificate needs a restart). */
export function readTlsFiles(section: TlsFiles): { cert: Buffer; key: Buffer; ca?: Buffer; crl?: Buffer } {
  return {
    cert: readFileSync(section.certFile),
    key: readFileSync(section.keyFile),
    ...(section.caFile ? { ca: readFileSync(section.caFile) } : {}),
    ...(section.crlFile ? { crl: readFileSync(section.crlFile) } : {}),
  };
}
