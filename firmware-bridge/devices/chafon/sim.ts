/**
 * A Chafon/UHFReader on a ByteTransport with a set of tags in the field. It answers inventory with
 * the codec's encoders, several frames per reply (status 0x03 = more follow, 0x01 = done), and
 * reader info; other commands get status 0xFE.
 */
import { SerialDeviceSim } from '../serialDeviceSim.js';
import { CMD, decodeCommands, encodeInventoryResponse, encodeResponse, type RawFrame, type Variant } from './codec.js';

export interface SimTag {
  epc: string;
  rssi: number;
  antenna: number;
}

export interface ChafonSimOptions {
  adr?: number;
  variant?: Variant;
  /** Tags per reply frame; more tags take more frames. */
  tagsPerFrame?: number;
}

export class ChafonSim extends SerialDeviceSim<RawFrame, ChafonSimOptions> {
  tags: SimTag[] = [];

  /** The reply frames to one inventory command on `antenna`. */
  inventoryReply(antenna: number): Buffer[] {
    const variant = this.options.variant ?? '288';
    const adr = this.options.adr ?? 0x00;
    const seen = variant === '288' ? this.tags.filter((t) => t.antenna === antenna) : this.tags;
    const per = Math.max(1, this.options.tagsPerFrame ?? 2);
    const frames: Buffer[] = [];
    for (let i = 0; i < seen.length; i += per) {
      const last = i + per >= seen.length;
      frames.push(encodeInventoryResponse(variant, { adr, status: last ? 0x01 : 0x03, antenna, tags: seen.slice(i, i + per) }));
    }
    if (frames.length === 0) frames.push(encodeInventoryResponse(variant, { adr, status: 0x01, antenna, tags: [] }));
    return frames;
  }

  protected override decode(buf: Buffer) {
    return decodeCommands(buf);
  }

  protected override handle(f: RawFrame): void {
    const adr = this.options.adr ?? 0x00;
    if (f.adr !== adr && f.adr !== 0xff) return;
    let out: Buffer[];
    if (f.cmd === CMD.inventory) {
      // UHFReader288M: the antenna byte is 0x80 + index (the 288M vector in README.md); UHFReader18 has none.
      const antByte = f.body.length >= 8 ? f.body[7] : 0x80;
      out = this.inventoryReply((antByte & 0x03) + 1);
    } else if (f.cmd === CMD.readerInfo) {
      out = [encodeResponse({ adr, cmd: CMD.readerInfo, status: 0, data: [0x00, 0x16, 0x0c, 0x03, 0x4e, 0x00, 0x1e, 0x0a, 0x01, 0x00, 0x00, 0x00] })];
    } else {
      out = [encodeResponse({ adr, cmd: f.cmd, status: 0xfe })];
    }
    this.send(Buffer.concat(out));
  }
}
