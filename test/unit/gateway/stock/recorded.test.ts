/**
 * The ops stock routes tell the two storage failures apart: stock.db did not store the movement
 * (nothing changed, send the same request id again) is not "kept, its record written later".
 */
import { describe, expect, it } from 'vitest';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { recorded } from '../../../../gateway/http/routes/stock.js';
import { MovementsNotStored } from '../../../../gateway/stock/stockService.js';

function fakes() {
  const logged: { obj: Record<string, unknown>; msg: string }[] = [];
  const req = { session: { username: 'att' }, log: { error: (obj: Record<string, unknown>, msg: string) => logged.push({ obj, msg }) } } as unknown as FastifyRequest;
  const out: { status?: number; body?: { code: string; message: string } } = {};
  const reply = {
    code(n: number) {
      out.status = n;
      return this;
    },
    send(b: { code: string; message: string }) {
      out.body = b;
      return this;
    },
  } as unknown as FastifyReply;
  return { req, reply, out, logged };
}

describe('stock route storage failures', () => {
  it('a movement stock.db did not store: SGW_ERR_STORAGE, nothing changed, send it again', async () => {
    const f = fakes();
    await recorded(f.req, f.reply, 'adjustment', () => Promise.reject(new MovementsNotStored(new Error('SQLITE_FULL: database or disk is full'))));
    expect(f.out.status).toBe(503);
    expect(f.out.body!.code).toBe('SGW_ERR_STORAGE');
    expect(f.out.body!.message).toBe('the adjustment was not recorded (SQLITE_FULL: database or disk is full); nothing changed: send it again with the same requestId');
    expect(f.out.body!.message).not.toMatch(/kept/);
    expect(f.logged).toEqual([{ obj: expect.objectContaining({ by: 'att', what: 'adjustment' }), msg: 'stock movement not stored' }]);
  });

  it('a movement stored whose record is not written yet: SGW_ERR_RECORD_FAILED, kept', async () => {
    const f = fakes();
    await recorded(f.req, f.reply, 'count', () => Promise.reject(new Error('outbox: disk full')));
    expect(f.out.status).toBe(503);
    expect(f.out.body!.code).toBe('SGW_ERR_RECORD_FAILED');
    expect(f.out.body!.message).toMatch(/^the count is kept but its record could not be written yet \(outbox: disk full\)/);
    expect(f.logged[0].msg).toBe('stock movement kept, its record not written yet');
  });

  it('success passes the answer through untouched', async () => {
    const f = fakes();
    await expect(recorded(f.req, f.reply, 'receipt', async () => ({ movements: 2 }))).resolves.toEqual({ movements: 2 });
    expect(f.out.status).toBeUndefined();
  });
});
