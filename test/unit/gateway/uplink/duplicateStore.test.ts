/**
 * Telling a twin from a replaced box (gateway/uplink/duplicateStore.ts): this box's own status is
 * nothing, another install's status on one connect is a replaced box, on a second connect a twin.
 */
import { describe, expect, it } from 'vitest';
import { CONNECTS_WITH_OTHER_INSTALL, DuplicateWatch, parseStatus } from '../../../../gateway/uplink/duplicateStore.js';

describe('DuplicateWatch', () => {
  const st = (installId: string, state: string, ts: string) => ({ installId, state, text: JSON.stringify({ state, installId, ts }) });

  it('own status is nothing; another install once is a replaced box; a new status of it on a later connect is a twin', () => {
    const w = new DuplicateWatch('me');
    expect(w.seen(1, st('me', 'online', 't1'))).toEqual({ kind: 'own' });
    expect(w.seen(1, st('old-box', 'offline', 't0'))).toEqual({ kind: 'replaced', otherInstallId: 'old-box' });
    // The link flapped before this box wrote its status: the same old status again is still a replaced box.
    expect(w.seen(2, st('old-box', 'offline', 't0'))).toEqual({ kind: 'replaced', otherInstallId: 'old-box' });
    for (let n = 3; n < 3 + 5; n++) expect(w.seen(n, st('me', 'online', `t${n}`)).kind).toBe('own');
    expect(CONNECTS_WITH_OTHER_INSTALL).toBe(2);
    // The other box wrote a new status since (its Will of a later connect): alive, a twin.
    expect(w.seen(9, st('old-box', 'offline', 't8'))).toEqual({ kind: 'duplicate', otherInstallId: 'old-box' });
  });

  it('reads install id and state from a status payload; an older gateway status without one is ignored', () => {
    expect(parseStatus(Buffer.from('{"state":"online","installId":"a-1","storeId":"s"}'))).toMatchObject({ installId: 'a-1', state: 'online' });
    expect(parseStatus(Buffer.from('{"state":"online","storeId":"s"}'))).toBeNull();
    expect(parseStatus(Buffer.from('not json'))).toBeNull();
  });
});
