/**
 * When a label counts as delivered: only once the AP reports that the tag took the upload
 * (`updatecount` past the count at upload plus what was queued ahead, nothing pending), never on
 * the upload's HTTP 200; de-duplicated content by what the tag is known to show; and the JSON
 * template a label becomes.
 */
import { describe, expect, it } from 'vitest';
import { Deliveries } from '../../../../../firmware-bridge/devices/oepl/delivery.js';
import type { OeplTag } from '../../../../../firmware-bridge/devices/oepl/messages.js';
import { DEFAULT_LAYOUT, chooseLayout, fillLayout, formatPrice, templateJson } from '../../../../../firmware-bridge/devices/oepl/template.js';

const MAC = '0000021EF2F2341B';
const tag = (o: Partial<OeplTag>): OeplTag => ({ mac: MAC, hash: '0'.repeat(32), lastseen: 100, nextcheckin: 140, pending: 0, updatecount: 3, ...o });

describe('OEPL delivery rule', () => {
  it('settles a label when the tag took it, not before', () => {
    const d = new Deliveries();
    expect(d.expect(MAC, 'L1', 'c1', 'cmd-1', tag({}), 0)).toEqual({ settled: [], upload: true });
    d.uploading(MAC, tag({}), 0);
    expect(d.onTag(tag({ pending: 1 }))).toEqual([]); // queued at the AP
    expect(d.onTag(tag({ pending: 1, lastseen: 140 }))).toEqual([]); // a check-in that did not take it
    const s = d.onTag(tag({ pending: 0, updatecount: 4, hash: 'aa'.repeat(8) + '0'.repeat(16), lastseen: 180 }));
    expect(s).toEqual([{ mac: MAC, labelId: 'L1', contentHash: 'c1', cmdIds: ['cmd-1'], ok: true }]);
    // The tag shows c1 now: asking for it again needs no upload.
    expect(d.expect(MAC, 'L1', 'c1', 'cmd-2', tag({ updatecount: 4, hash: 'aa'.repeat(8) + '0'.repeat(16) }), 1)).toEqual({
      settled: [{ mac: MAC, labelId: 'L1', contentHash: 'c1', cmdIds: ['cmd-2'], ok: true }],
      upload: false,
    });
  });

  it('waits for the items queued ahead of its upload', () => {
    const d = new Deliveries();
    d.expect(MAC, 'L1', 'c2', 'cmd-1', null, 0);
    d.uploading(MAC, tag({ pending: 1 }), 0);
    expect(d.onTag(tag({ pending: 1, updatecount: 4 }))).toEqual([]);
    expect(d.onTag(tag({ pending: 0, updatecount: 5 }))[0]).toMatchObject({ ok: true, contentHash: 'c2' });
  });

  it('joins a re-sent command to the waiting upload, and supersedes older content', () => {
    const d = new Deliveries();
    d.expect(MAC, 'L1', 'c1', 'cmd-1', tag({}), 0);
    expect(d.expect(MAC, 'L1', 'c1', 'cmd-2', tag({}), 0)).toEqual({ settled: [], upload: false });
    expect(d.get(MAC)!.cmdIds).toEqual(['cmd-1', 'cmd-2']);
    const r = d.expect(MAC, 'L1', 'c9', 'cmd-3', tag({}), 0);
    expect(r.upload).toBe(true);
    expect(r.settled).toEqual([{ mac: MAC, labelId: 'L1', contentHash: 'c1', cmdIds: ['cmd-1', 'cmd-2'], ok: false, error: 'superseded by newer content' }]);
  });

  it('takes two idle check-ins after the upload as "the AP found the image unchanged"', () => {
    const d = new Deliveries();
    d.expect(MAC, 'L1', 'c1', 'cmd-1', null, 0);
    d.uploading(MAC, tag({ lastseen: 100 }), 0);
    expect(d.onTag(tag({ lastseen: 140 }))).toEqual([]);
    expect(d.onTag(tag({ lastseen: 180 }))[0]).toMatchObject({ ok: true });
  });

  it('fails on the AP transfer timeout and after the delivery timeout', () => {
    const d = new Deliveries();
    d.expect(MAC, 'L1', 'c1', 'cmd-1', tag({}), 0);
    d.uploading(MAC, tag({}), 0);
    expect(d.fail(MAC, 'xfer timeout')).toEqual([{ mac: MAC, labelId: 'L1', contentHash: 'c1', cmdIds: ['cmd-1'], ok: false, error: 'xfer timeout' }]);
    d.expect(MAC, 'L1', 'c1', 'cmd-2', tag({}), 0);
    d.uploading(MAC, tag({}), 10);
    expect(d.sweep(1000, 5000)).toEqual([]);
    expect(d.sweep(6000, 5000)[0]).toMatchObject({ ok: false, cmdIds: ['cmd-2'] });
    expect(d.size).toBe(0);
  });
});

describe('OEPL JSON template', () => {
  const label = { labelId: 'L1', gtin: '4006381333931', name: 'Äpfel "Elstar"', price: 249, currency: 'EUR', unit: 'kg' as const, contentHash: 'h' };

  it('fills the built-in layout with the gateway’s price, formatted, as JSON the AP draws', () => {
    const els = JSON.parse(templateJson(label, DEFAULT_LAYOUT, 'de-DE')) as Record<string, unknown[]>[];
    expect(els[0]).toEqual({ text: [4, 4, 'Äpfel "Elstar"', 'fonts/bahnschrift20', 1, 0] });
    expect(els[2]).toEqual({ text: [292, 44, '2,49\u00a0€', 'fonts/bahnschrift70', 1, 2] });
    expect(els[3]!.text![2]).toBe('/ kg');
  });

  it('shows a promotion in red with the regular price beside it', () => {
    const els = JSON.parse(templateJson({ ...label, promo: { price: 199, text: '-20%' } }, DEFAULT_LAYOUT, 'de-DE')) as Record<string, unknown[]>[];
    expect(els[2]).toEqual({ text: [292, 44, '1,99\u00a0€', 'fonts/bahnschrift70', 2, 2] });
    expect(els[4]!.text![2]).toBe('-20%');
    expect(els[5]!.text![2]).toBe('2,49\u00a0€');
  });

  it('uses the currency’s own decimals and a layout by template or hardware type', () => {
    expect(formatPrice(1200, 'JPY', 'en-US')).toBe('¥1,200');
    const layouts = { small: [{ text: [0, 0, '{price} {nope}', 'f', 1] }], big: [{ box: [0, 0, 1, 1, 1] }] };
    expect(chooseLayout({ layouts }, 'small', 1)).toBe(layouts.small);
    expect(chooseLayout({ layouts, layoutByHwType: { '3': 'big' } }, undefined, 3)).toBe(layouts.big);
    expect(chooseLayout({ layouts }, 'missing', 9)).toBe(DEFAULT_LAYOUT);
    expect(fillLayout(layouts.small, { price: '1' })).toEqual([{ text: [0, 0, '1 {nope}', 'f', 1] }]);
  });
});
