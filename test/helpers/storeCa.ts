/**
 * A throwaway store CA for TLS tests, made with the `openssl` CLI exactly as the README tells a
 * store to (so the documented commands are the tested ones): a CA, a server certificate for
 * 127.0.0.1/localhost, and client certificates whose CN is an MQTT username (`{kind}/{id}`).
 * Keys are written 0600 (the gateway refuses key files others can read).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Issued {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

export interface StoreCa {
  dir: string;
  caFile: string;
  ca: Buffer;
  /** A server certificate for the gateway (SAN IP:127.0.0.1, DNS:localhost). */
  server(name?: string): Issued;
  /** A client certificate whose subject CN is `cn` (e.g. `footfall/door-1`). */
  client(cn: string, name?: string): Issued;
  /** Revokes `issued` (openssl ca -revoke) and writes the CA's CRL; returns the CRL file. */
  revoke(issued: Issued): string;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.error?.message ?? ''}`);
}

/** `/CN=…` with the slashes of a username escaped for openssl's -subj. */
const subject = (cn: string) => `/CN=${cn.replace(/\//g, '\\/')}`;

/** Makes a CA called `name` in `dir` (ca.key, ca.crt). */
export function makeStoreCa(dir: string, name = 'store-ca'): StoreCa {
  const caKey = `${name}.key`;
  const caCrt = `${name}.crt`;
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', caKey, '-out', caCrt, '-days', '2', '-subj', `/CN=${name}`], dir);
  chmodSync(path.join(dir, caKey), 0o600);
  let serial = 0;
  const issue = (cn: string, base: string, ext: string): Issued => {
    const extFile = `${base}.ext`;
    writeFileSync(path.join(dir, extFile), ext);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', subject(cn)], dir);
    openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', caCrt, '-CAkey', caKey, '-set_serial', String(1000 + ++serial), '-out', `${base}.crt`, '-days', '2', '-extfile', extFile], dir);
    const keyFile = path.join(dir, `${base}.key`);
    chmodSync(keyFile, 0o600);
    const certFile = path.join(dir, `${base}.crt`);
    return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
  };
  // `openssl ca` keeps revocations in a small database (README: the same commands).
  const caCnf = `${name}-ca.cnf`;
  writeFileSync(path.join(dir, caCnf), `[ca]\ndefault_ca=store\n[store]\ndatabase=${name}-index.txt\ncrlnumber=${name}-crlnumber\ndefault_md=sha256\ndefault_crl_days=30\n`);
  writeFileSync(path.join(dir, `${name}-index.txt`), '');
  writeFileSync(path.join(dir, `${name}-crlnumber`), '01\n');
  return {
    revoke: (issued) => {
      openssl(['ca', '-config', caCnf, '-keyfile', caKey, '-cert', caCrt, '-revoke', issued.certFile], dir);
      openssl(['ca', '-config', caCnf, '-keyfile', caKey, '-cert', caCrt, '-gencrl', '-out', `${name}.crl`], dir);
      return path.join(dir, `${name}.crl`);
    },
    dir,
    caFile: path.join(dir, caCrt),
    ca: readFileSync(path.join(dir, caCrt)),
    server: (base = `${name}-server`) => issue('storegw', base, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'),
    client: (cn, base = `${name}-client-${cn.replace(/\W/g, '_')}`) => issue(cn, base, 'extendedKeyUsage=clientAuth\n'),
  };
}
