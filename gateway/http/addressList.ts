/**
 * An allow-list of client addresses ("10.1.2.3", "10.1.2.0/24", "::1/128") for `GET /metrics`.
 * Pure: parsing names the bad entry, matching is net.BlockList's (no DNS, no I/O).
 */
import net from 'node:net';

/** An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d; match it against the IPv4 rules. */
function plain(address: string): string {
  return address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
}

type Parsed = { ok: true; address: string; prefix: number; family: 'ipv4' | 'ipv6' } | { ok: false; reason: string };

function parseEntry(entry: string): Parsed {
  const [address, bits, extra] = entry.split('/');
  const v = net.isIP(address);
  if (v === 0 || extra !== undefined) return { ok: false, reason: `"${entry}" is not an IP address or CIDR range` };
  const max = v === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (bits !== undefined && (!/^[0-9]{1,3}$/.test(bits) || prefix > max)) return { ok: false, reason: `"${entry}": prefix must be 0-${max}` };
  return { ok: true, address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

/** Config check: one error per bad entry, named by its path (`http.metrics.allow[2]: …`). */
export function addressListErrors(list: unknown, field: string): string[] {
  if (!Array.isArray(list)) return [];
  const errors: string[] = [];
  list.forEach((e, i) => {
    if (typeof e !== 'string') return; // the schema names it
    const p = parseEntry(e);
    if (!p.ok) errors.push(`${field}[${i}]: ${p.reason}`);
  });
  return errors;
}

export class AddressList {
  private readonly list = new net.BlockList();
  constructor(entries: readonly string[]) {
    for (const e of entries) {
      const p = parseEntry(e);
      if (!p.ok) throw new Error(`address list: ${p.reason}`);
      this.list.addSubnet(p.address, p.prefix, p.family);
    }
  }

  has(address: string | undefined): boolean {
    if (!address) return false;
    const a = plain(address);
    const v = net.isIP(a);
    return v !== 0 && this.list.check(a, v === 4 ? 'ipv4' : 'ipv6');
  }
}
