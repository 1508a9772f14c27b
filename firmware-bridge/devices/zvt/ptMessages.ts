/**
 * The terminal's side of the codec: PT→ECR messages encoded and ECR→PT commands decoded. The
 * simulator speaks through these; the tests check them against the captured bytes of real
 * terminals, so the simulator's bytes are the ones the driver meets in a store.
 */
import { bcdDigits, encodeApdu, fromBcd, toBcd, type Apdu } from './apdu.js';
import { encodeBmp, encodeTlv, parseTlv, walkBmps, type Tlv } from './bmp.js';
import { encodeText, type StatusInfo } from './codec.js';

export function intermediate(status: number, texts: string[] = [], timeoutMin?: number): Buffer {
  const parts: Buffer[] = [Buffer.from([status])];
  if (timeoutMin !== undefined) parts.push(toBcd(timeoutMin, 1));
  if (texts.length) parts.push(encodeBmp(0x06, encodeTlv([{ tag: 0x24, value: Buffer.alloc(0), children: texts.map((t) => ({ tag: 0x07, value: encodeText(t) })) }])));
  return encodeApdu(0x04, 0xff, Buffer.concat(parts));
}

/** A PAN as BMP 22 nibbles: `*` goes as E (masked), an odd count is padded with F. */
function panBytes(masked: string): Buffer {
  let nibbles = [...masked].map((c) => (c === '*' ? 'e' : c)).join('');
  if (nibbles.length % 2) nibbles += 'f';
  return Buffer.from(nibbles, 'hex');
}

/** A Status-Information in the order real terminals send its BMPs. */
export function statusInformation(s: StatusInfo): Buffer {
  const p: Buffer[] = [];
  const add = (id: number, v: Buffer | undefined) => v && p.push(encodeBmp(id, v));
  add(0x27, s.resultCode === undefined ? undefined : Buffer.from([s.resultCode]));
  add(0x04, s.amount === undefined ? undefined : toBcd(s.amount, 6));
  add(0x0b, s.trace === undefined ? undefined : toBcd(s.trace, 3));
  add(0x0c, s.time === undefined ? undefined : toBcd(s.time, 3));
  add(0x0d, s.date === undefined ? undefined : toBcd(s.date, 2));
  add(0x0e, s.expiry === undefined ? undefined : toBcd(s.expiry, 2));
  add(0x17, s.cardSeqNo === undefined ? undefined : toBcd(s.cardSeqNo, 2));
  add(0x19, s.paymentType === undefined ? undefined : Buffer.from([s.paymentType]));
  add(0x22, s.maskedPan === undefined ? undefined : panBytes(s.maskedPan));
  add(0x29, s.terminalId === undefined ? undefined : toBcd(s.terminalId, 4));
  add(0x2a, s.vuNumber === undefined ? undefined : Buffer.from(s.vuNumber.padEnd(15, ' ').slice(0, 15), 'latin1'));
  add(0x3b, s.authCode === undefined ? undefined : Buffer.concat([Buffer.from(s.authCode, 'latin1'), Buffer.alloc(8)]).subarray(0, 8));
  add(0x3c, s.additionalText === undefined ? undefined : encodeText(s.additionalText));
  add(0x60, s.totals);
  add(0x49, s.currency === undefined ? undefined : toBcd(s.currency, 2));
  add(0x87, s.receiptNo === undefined ? undefined : toBcd(s.receiptNo, 2));
  add(0x88, s.turnoverNo === undefined ? undefined : toBcd(s.turnoverNo, 3));
  add(0x8a, s.cardTypeId === undefined ? undefined : Buffer.from([s.cardTypeId]));
  add(0x8b, s.cardName === undefined ? undefined : Buffer.concat([encodeText(s.cardName), Buffer.from([0])]));
  if (s.tlv) p.push(encodeBmp(0x06, encodeTlv(s.tlv)));
  return encodeApdu(0x04, 0x0f, Buffer.concat(p));
}

export function printLine(attr: number, text = ''): Buffer {
  return encodeApdu(0x06, 0xd1, Buffer.concat([Buffer.from([attr]), encodeText(text)]));
}

/** A Print Text-Block: receipt type (1 merchant, 2 customer, 3 admin), lines, and the end mark when `last`. */
export function textBlock(receiptType: number, lines: string[], last: boolean): Buffer {
  const block: Tlv[] = lines.map((l) => ({ tag: 0x07, value: encodeText(l) }));
  if (last) block.push({ tag: 0x09, value: Buffer.from([0x81]) });
  return encodeApdu(0x06, 0xd3, encodeBmp(0x06, encodeTlv([{ tag: 0x1f07, value: Buffer.from([receiptType]) }, { tag: 0x25, value: Buffer.alloc(0), children: block }])));
}

export function completion(o: { statusByte?: number; terminalId?: string; currency?: string; tlv?: Tlv[] } = {}): Buffer {
  const p: Buffer[] = [];
  if (o.statusByte !== undefined) p.push(encodeBmp(0x19, Buffer.from([o.statusByte])));
  if (o.terminalId !== undefined) p.push(encodeBmp(0x29, toBcd(o.terminalId, 4)));
  if (o.currency !== undefined) p.push(encodeBmp(0x49, toBcd(o.currency, 2)));
  if (o.tlv) p.push(encodeBmp(0x06, encodeTlv(o.tlv)));
  return encodeApdu(0x06, 0x0f, Buffer.concat(p));
}

/** The Completion of a Status Enquiry: optional SW version (LLLVAR), then the terminal status. */
export function statusCompletion(terminalStatus: number, swVersion?: string): Buffer {
  if (swVersion === undefined) return encodeApdu(0x06, 0x0f, Buffer.from([terminalStatus]));
  const v = encodeText(swVersion);
  const len = Buffer.from([...v.length.toString().padStart(3, '0')].map((c) => 0xf0 | Number(c)));
  return encodeApdu(0x06, 0x0f, Buffer.concat([len, v, Buffer.from([terminalStatus])]));
}

export function abortMessage(resultCode: number): Buffer {
  return encodeApdu(0x06, 0x1e, Buffer.from([resultCode]));
}

export type EcrCommand =
  | { type: 'registration'; password?: string; config?: number; currency?: string; serviceByte?: number; tlv: Tlv[] }
  | { type: 'authorization'; amount?: number; currency?: string; paymentType?: number }
  | { type: 'reversal'; password?: string; receiptNo?: string; amount?: number }
  | { type: 'repeatReceipt'; password?: string; serviceByte?: number }
  | { type: 'endOfDay'; password?: string }
  | { type: 'statusEnquiry'; password?: string; serviceByte?: number }
  | { type: 'abort' }
  | { type: 'logOff' }
  | { type: 'ack' }
  | { type: 'nak'; code: number }
  | { type: 'unknown'; cls: number; ins: number };

/** An ECR→PT APDU as a command (never throws: unreadable fields stay undefined). */
export function decodeCommand(a: Apdu): EcrCommand {
  const d = a.data;
  const pwd = d.length >= 3 ? bcdDigits(d.subarray(0, 3)) : undefined;
  const bmp = (at: number, id: number) => walkBmps(d, at).bmps.find((b) => b.id === id)?.value;
  const k = `${a.cls.toString(16)}:${a.ins.toString(16)}`;
  switch (k) {
    case '80:0':
      return { type: 'ack' };
    case '6:0': {
      const tlv = bmp(6, 0x06);
      return {
        type: 'registration',
        password: pwd,
        config: d[3],
        currency: d.length >= 6 ? bcdDigits(d.subarray(4, 6))?.slice(1) : undefined,
        serviceByte: bmp(6, 0x03)?.[0],
        tlv: tlv ? parseTlv(tlv).items : [],
      };
    }
    case '6:1': {
      const amount = bmp(0, 0x04);
      const cc = bmp(0, 0x49);
      return { type: 'authorization', amount: amount && fromBcd(amount), currency: cc && bcdDigits(cc)?.slice(1), paymentType: bmp(0, 0x19)?.[0] };
    }
    case '6:30': {
      const r = bmp(3, 0x87);
      const amount = bmp(3, 0x04);
      return { type: 'reversal', password: pwd, receiptNo: r && bcdDigits(r), amount: amount && fromBcd(amount) };
    }
    case '6:20':
      return { type: 'repeatReceipt', password: pwd, serviceByte: bmp(3, 0x03)?.[0] };
    case '6:50':
      return { type: 'endOfDay', password: pwd };
    case '5:1':
      return { type: 'statusEnquiry', password: pwd, serviceByte: bmp(3, 0x03)?.[0] };
    case '6:b0':
      return { type: 'abort' };
    case '6:2':
      return { type: 'logOff' };
  }
  if (a.cls === 0x84) return { type: 'nak', code: a.ins };
  return { type: 'unknown', cls: a.cls, ins: a.ins };
}
