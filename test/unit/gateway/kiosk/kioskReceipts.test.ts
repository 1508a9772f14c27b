import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig, type Config } from '../../../../gateway/config.js';
import { createLogger } from '../../../../gateway/log.js';
import { KioskReceipts } from '../../../../gateway/kiosk/kioskReceipts.js';
import { receiptPrintMode } from '../../../../gateway/kiosk/kioskConfig.js';
import type { KioskTransactionRec } from '../../../../gateway/protocol/schemas/kiosk.js';
import type { SaleRow } from '../../../../gateway/kiosk/store.js';

const HASH = 'scrypt$4$8$1$SZh1sId7N5TCMmt0bMGgkw==$sufVcQ9x0ZRTR4/6qYcnAL5D5uDm9UqqZ5BEPPAKax0=';
const SALE: KioskTransactionRec = {
  ts: '2026-12-05T10:15:00.000Z',
  transactionId: 'tx-1',
  kioskId: 'k1',
  lines: [{ gtin: '4006381333931', name: 'Milk 1 L', qty: 1, unitPrice: 129, price: 129, vatRateBp: 700 }],
  subtotal: 129,
  discounts: 0,
  total: 129,
  currency: 'EUR',
  vat: [{ rateBp: 700, gross: 129, net: 121, vat: 8 }],
  payment: { requestId: 'r-1', authCode: 'A1', amount: 129, receiptNo: '0042' },
  attendant: [],
};

function config(receipt: Record<string, unknown>, printer = true): Config {
  const r = parseConfig(
    stringify({
      storeId: 'store-1',
      data: { dir: '/tmp/unused' },
      devices: [
        { kind: 'payment', id: 'pay-1', secretHash: HASH },
        ...(printer ? [{ kind: 'printer', id: 'pr-1', secretHash: HASH }] : []),
      ],
      kiosks: [{ id: 'k1', tokenHash: HASH }],
      kiosk: { devices: { k1: { payment: 'pay-1', ...(printer ? { printer: 'pr-1' } : {}) } }, receipt: { qrUrl: 'https://r.example/{transactionId}', ...receipt } },
    }),
  );
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.config;
}

function receipts(c: Config) {
  const sent: { id: string; type: string; data: Record<string, unknown> }[] = [];
  const r = new KioskReceipts({ config: c, log: createLogger({ level: 'silent' }), memberTier: () => undefined, command: async (_k, id, type, data) => (sent.push({ id, type, data }), `c-${sent.length}`) });
  return { r, sent };
}

describe('KioskReceipts', () => {
  it('ask (the default): offered, printed once however often asked, and only for the kiosk\'s current sale', () => {
    const c = config({});
    expect(receiptPrintMode(c.kiosk.receipt.print)).toBe('ask');
    const { r, sent } = receipts(c);
    r.prepare('k1', SALE);
    expect(r.recorded('k1', 'tx-1')).toBe(false);
    expect(r.viewOf('k1', 'tx-1')!.print).toEqual({ offer: true, printed: false });
    expect(r.print('k1', 'tx-other')).toBe(false);
    expect(r.print('k1', 'tx-1')).toBe(true);
    expect(r.print('k1', 'tx-1')).toBe(false);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ id: 'pr-1', type: 'print', data: { receipt: { transactionId: 'tx-1', qr: 'https://r.example/tx-1' } } });
    expect(r.viewOf('k1', 'tx-1')!.print).toEqual({ offer: false, printed: true });
    expect(r.viewOf('k1', 'tx-other')).toBeNull();
  });

  it('always (and the old `true`) prints when recorded, once; never (and `false`) and a kiosk without a printer do not', () => {
    for (const print of ['always', true]) {
      const { r, sent } = receipts(config({ print }));
      r.prepare('k1', SALE);
      expect(r.recorded('k1', 'tx-1')).toBe(true);
      expect(r.print('k1', 'tx-1')).toBe(false);
      expect(sent).toHaveLength(1);
      expect(r.viewOf('k1', 'tx-1')!.print).toEqual({ offer: false, printed: true });
    }
    for (const c of [config({ print: 'never' }), config({ print: false }), config({ print: 'always' }, false)]) {
      const { r, sent } = receipts(c);
      r.prepare('k1', SALE);
      r.recorded('k1', 'tx-1');
      expect(r.print('k1', 'tx-1')).toBe(false);
      expect(sent).toEqual([]);
      expect(r.viewOf('k1', 'tx-1')).toMatchObject({ model: { transactionId: 'tx-1', total: 129 }, print: { offer: false, printed: false } });
    }
  });

  it('after a restart the finished sale\'s receipt is shown again (with the terminal\'s lines) but not offered for print', async () => {
    const { r, sent } = receipts(config({}));
    const row: SaleRow = { requestId: 'r-1', transactionId: 'tx-1', kioskId: 'k1', record: SALE as unknown as Record<string, unknown>, seq: 7, terminalReceipt: ['KUNDENBELEG'] };
    const session = { kioskId: 'k1', phase: 'done' as const, receipt: { transactionId: 'tx-1', total: 129, authCode: 'A1', vat: [] }, payment: { requestId: 'r-1', amount: 129, status: 'recorded' as const } };
    await r.restore(session as Parameters<KioskReceipts['restore']>[0], async (id) => (id === 'r-1' ? row : null));
    expect(r.viewOf('k1', 'tx-1')).toMatchObject({ model: { payment: { receiptNo: '0042', terminalLines: ['KUNDENBELEG'] } }, print: { offer: false, printed: false } });
    expect(r.print('k1', 'tx-1')).toBe(false);
    expect(sent).toEqual([]);
  });
});
