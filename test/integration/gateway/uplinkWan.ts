/**
 * The store's WAN link, for the uplink tests: a TCP gate between the gateway and the HQ
 * Mosquitto. Closed, it refuses new connections and cuts the open ones (the WAN is down while HQ
 * itself is fine); open, it pipes bytes both ways. Why not just kill Mosquitto: a killed
 * Mosquitto forgets every subscription, so after its restart the gateway could publish (and be
 * PUBACKed) before the HQ simulator has subscribed again — a loss no real HQ with durable
 * sessions has, and a race in the test. Not a test file: imported by uplink*.test.ts.
 */
import net from 'node:net';
import { freePort } from '../../helpers/ports.js';

export interface WanGate {
  port: number;
  url: string;
  readonly isOpen: boolean;
  open(): void;
  /** Closes the gate: open connections are cut, new ones refused. */
  cut(): void;
  close(): Promise<void>;
}

export interface WanGateOptions {
  /**
   * Cut the connection when the gateway sends an MQTT packet bigger than this (before forwarding
   * it): a broker or load balancer that closes on size without announcing a limit in CONNACK.
   */
  maxPacketBytes?: number;
  /** Called with the size of each packet the gate cut the connection on. */
  onCut?: (bytes: number) => void;
}

export async function wanGate(targetPort: number, open = true, opts: WanGateOptions = {}): Promise<WanGate> {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  let isOpen = open;
  const server = net.createServer((inbound) => {
    if (!isOpen) return void inbound.destroy();
    const outbound = net.connect(targetPort, '127.0.0.1');
    sockets.add(inbound).add(outbound);
    outbound.pipe(inbound);
    if (opts.maxPacketBytes === undefined) inbound.pipe(outbound);
    else {
      const sizes = packetSizes();
      inbound.on('data', (chunk: Buffer) => {
        const big = sizes(chunk).find((n) => n > opts.maxPacketBytes!);
        if (big !== undefined) {
          opts.onCut?.(big);
          end();
        } else outbound.write(chunk);
      });
    }
    const end = (): void => {
      inbound.destroy();
      outbound.destroy();
      sockets.delete(inbound);
      sockets.delete(outbound);
    };
    inbound.on('error', end).on('close', end);
    outbound.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const gate: WanGate = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    get isOpen() {
      return isOpen;
    },
    open() {
      isOpen = true;
    },
    cut() {
      isOpen = false;
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((r) => {
        gate.cut();
        server.close(() => r());
      }),
  };
  return gate;
}

/**
 * Sizes of the MQTT packets whose fixed header completes in this chunk: type byte, then the
 * Remaining Length as a variable byte integer [MQTT-1.5.5]. Keeps state across chunks.
 */
function packetSizes(): (chunk: Buffer) => number[] {
  let skip = 0; // body bytes of the current packet still to pass
  let header: number[] = [];
  return (chunk) => {
    const out: number[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - i);
        skip -= n;
        i += n;
        continue;
      }
      header.push(chunk[i++]);
      if (header.length >= 2 && (header[header.length - 1] & 0x80) === 0) {
        let len = 0;
        for (let k = header.length - 1; k >= 1; k--) len = len * 128 + (header[k] & 0x7f);
        out.push(header.length + len);
        skip = len;
        header = [];
      }
    }
    return out;
  };
}
