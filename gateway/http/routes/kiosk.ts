/**
 * The kiosk page's WebSocket `/ws/kiosk` and `GET /api/kiosks` (issue 7).
 *
 * The socket's first message must be `{type:'hello', kioskId, token}`, checked against that
 * kiosk's scrypt hash; after it the socket sees only that kiosk's cart (the full view, with a
 * version, after every change) and may send intents only. A price or total inside an intent is
 * never read: the gateway prices everything from the catalog. A kiosk token is no ops session,
 * so every /api route answers it 401.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { WebSocket } from 'ws';
import type { Config } from '../../config.js';
import type { KioskService } from '../../kiosk/sessions.js';
import type { CartView, KioskIntent } from '../../protocol/schemas/kiosk.js';
import { verifySecret } from '../../scryptHash.js';
import { requireRole } from '../auth.js';

export interface KioskRouteDeps {
  kiosks: Config['kiosks'];
  service: KioskService;
}

const INTENTS = new Set(['scan', 'setQty', 'remove', 'member', 'pay', 'cancel', 'help', 'pickProduce', 'pickupConfirm', 'pickupClose']);
const MAX_MESSAGE = 4096;

export const kioskRoutes: FastifyPluginAsync<KioskRouteDeps> = async (app, deps) => {
  app.get('/api/kiosks', { preHandler: requireRole('viewer') }, async () => ({
    kiosks: deps.service.kioskIds.map((id) => {
      const v = deps.service.view(id)!;
      return { kioskId: id, devices: deps.service.devices(id), phase: v.phase, sessionId: v.sessionId, version: v.version, lines: v.lines.length, total: v.total, currency: v.currency, memberCode: v.memberCode, requests: v.requests, helpCalled: v.helpCalled, bagging: v.bagging, payment: v.payment };
    }),
  }));

  app.get('/ws/kiosk', { websocket: true }, (socket: WebSocket, req) => {
    let kioskId: string | null = null;
    let checking = false;
    const send = (m: unknown) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(m));
    };
    const onView = (id: string, v: CartView) => {
      if (id === kioskId) send(v);
    };
    const hello = setTimeout(() => socket.close(4401, 'hello expected'), 10_000);
    socket.on('close', () => {
      clearTimeout(hello);
      deps.service.changes.off('view', onView);
    });
    socket.on('message', (raw: Buffer, isBinary: boolean) => {
      if (isBinary || raw.length > MAX_MESSAGE) return send({ type: 'error', code: 'SGW_ERR_BAD_MESSAGE', message: 'text JSON messages up to 4 KiB' });
      let m: { type?: unknown } & Record<string, unknown>;
      try {
        m = JSON.parse(raw.toString('utf8')) as typeof m;
      } catch {
        return send({ type: 'error', code: 'SGW_ERR_BAD_MESSAGE', message: 'not JSON' });
      }
      if (kioskId === null) {
        if (checking) return;
        if (m.type !== 'hello' || typeof m.kioskId !== 'string' || typeof m.token !== 'string') return socket.close(4401, 'hello expected');
        checking = true;
        const entry = deps.kiosks.find((k) => k.id === m.kioskId);
        void verifySecret(m.token, entry?.tokenHash ?? DUMMY).then((ok) => {
          checking = false;
          if (!ok || !entry) {
            req.log.warn({ kioskId: String(m.kioskId).slice(0, 64) }, 'kiosk hello refused');
            return socket.close(4401, 'unknown kiosk or wrong token');
          }
          clearTimeout(hello);
          kioskId = entry.id;
          deps.service.changes.on('view', onView);
          send({ type: 'welcome', kioskId });
          send(deps.service.view(kioskId));
        });
        return;
      }
      if (typeof m.type !== 'string' || !INTENTS.has(m.type)) return send({ type: 'error', code: 'SGW_ERR_BAD_MESSAGE', message: 'unknown intent' });
      void deps.service.intent(kioskId, m as unknown as KioskIntent);
    });
  });
};

// A hash nobody's token matches, so an unknown kiosk id costs the same scrypt time as a known one.
const DUMMY = 'scrypt$8$8$1$c3RvcmVndy1kdW1teS1zYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
