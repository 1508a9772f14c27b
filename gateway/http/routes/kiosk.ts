/**
 * The kiosk page's WebSocket `/ws/kiosk` and `GET /api/kiosks`.
 *
 * The socket's first message must be `{type:'hello', kioskId, token}`, checked against that
 * kiosk's scrypt hash; after it the socket sees only that kiosk's cart (the full view, with a
 * version, after every change) and may send intents only. A price or total inside an intent is
 * never read: the gateway prices everything from the catalog. A kiosk token is no ops session,
 * so every /api route answers it 401.
 *
 * Guessing: a hello takes a token of its address's bucket before the token hash runs (a costly
 * hash also waits for the shared hash gate); member codes take a token of the kiosk's bucket
 * before the lookup, so the member list cannot be walked from a kiosk page.
 */
import type { WebSocket } from 'ws';
import type { Config } from '../../config.js';
import type { KioskService } from '../../kiosk/sessions.js';
import type { CartView, KioskPaymentPrompt, KioskServerMsg } from '../../protocol/schemas/kiosk.js';
import type { Metrics } from '../../metrics.js';
import { LogLimiter } from '../../log.js';
import { checkIntent, isHello } from '../../kiosk/intentCheck.js';
import { DEVICE_SECRET_COST, hashCost, verifySecret } from '../../scryptHash.js';
import { KioskList } from '../../protocol/schemas/api/checkout.js';
import { requireRole } from '../auth.js';
import { Refusals } from '../../protocol/schemas/api/common.js';
import type { TypedRoutes } from '../typeProvider.js';
import { AttemptBuckets } from '../guessPolicy.js';
import { HashGate } from '../hashGate.js';

export interface KioskRouteDeps {
  kiosks: Config['kiosks'];
  /** `prompts`: the terminal's latest prompt, sent to a page that connects mid-payment. */
  service: Pick<KioskService, 'kioskIds' | 'view' | 'devices' | 'changes' | 'language' | 'intent'> & Partial<Pick<KioskService, 'prompts' | 'soundVolume'>>;
  metrics?: Metrics;
  /** The gate people's password hashes share; a kiosk token hashed at people's cost waits in it too. */
  gate?: HashGate;
  now?: () => number;
}

const MAX_MESSAGE = 4096;
/** A kiosk page says hello when it loads or reconnects: ten at once per address, then one per 6 s. */
const HELLO_LIMITS = { burst: 10, perMinute: 10, maxKeys: 10_000 };
/** A shopper types or scans a member card once or twice; a page trying codes gets five a minute. */
const MEMBER_LIMITS = { burst: 5, perMinute: 5, maxKeys: 1000 };

export const kioskRoutes: TypedRoutes<KioskRouteDeps> = async (app, deps) => {
  const now = deps.now ?? Date.now;
  const gate = deps.gate ?? new HashGate({ concurrent: 2, queued: 4 });
  const hellos = new AttemptBuckets(HELLO_LIMITS);
  const members = new AttemptBuckets(MEMBER_LIMITS);
  const refused = (kind: string) => deps.metrics?.httpRefused.labels(kind).inc();
  const logLimit = new LogLimiter(now);

  app.get('/api/kiosks', { preHandler: requireRole('viewer'), schema: { response: { 200: KioskList, ...Refusals } } }, async () => ({
    kiosks: deps.service.kioskIds.map((id) => {
      const v = deps.service.view(id)!;
      return { kioskId: id, devices: deps.service.devices(id), phase: v.phase, sessionId: v.sessionId, version: v.version, lines: v.lines.length, total: v.total, currency: v.currency, memberCode: v.memberCode, requests: v.requests, helpCalled: v.helpCalled, bagging: v.bagging, payment: v.payment };
    }),
  }));

  app.get('/ws/kiosk', { websocket: true }, (socket: WebSocket, req) => {
    let kioskId: string | null = null;
    let checking = false;
    const send = (m: KioskServerMsg) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(m));
    };
    // Every refused message is counted; the log lines are rate-limited per kiosk or address.
    const bad = (message: string) => {
      deps.metrics?.kioskRefused.labels('badMessage').inc();
      const who = kioskId ?? req.ip;
      const suppressed = logLimit.take(`bad:${who}`);
      if (suppressed >= 0) req.log.warn({ kioskId: kioskId ?? undefined, address: req.ip, problem: message.slice(0, 200), suppressed }, 'kiosk message refused');
      send({ type: 'error', code: 'SGW_ERR_BAD_MESSAGE', message });
    };
    const onView = (id: string, v: CartView) => {
      if (id === kioskId) send(v);
    };
    const onPrompt = (id: string, m: KioskPaymentPrompt) => {
      if (id === kioskId) send(m);
    };
    const hello = setTimeout(() => socket.close(4401, 'hello expected'), 10_000);
    socket.on('close', () => {
      clearTimeout(hello);
      deps.service.changes.off('view', onView);
      deps.service.changes.off('prompt', onPrompt);
    });
    socket.on('message', (raw: Buffer, isBinary: boolean) => {
      if (isBinary || raw.length > MAX_MESSAGE) return bad('(root): text JSON messages up to 4 KiB');
      let m: unknown;
      try {
        m = JSON.parse(raw.toString('utf8'));
      } catch {
        return bad('(root): not valid JSON');
      }
      // `null`, `5` or `[]` parse too; reading a field of them would throw inside the socket's handler.
      if (typeof m !== 'object' || m === null || Array.isArray(m)) return bad('(root): must be a JSON object');
      if (kioskId === null) {
        if (checking) return;
        if (!isHello(m)) return socket.close(4401, 'hello expected');
        // Counted before the hash: a page cannot make the gateway hash faster than the bucket allows.
        const address = req.ip;
        const wait = hellos.take(address, now());
        if (wait > 0) {
          refused('kiosk_hello_rate');
          return socket.close(4429, `too many hello attempts; retry in ${wait} s`);
        }
        checking = true;
        const entry = deps.kiosks.find((k) => k.id === m.kioskId);
        const hash = entry?.tokenHash ?? DUMMY;
        const token = m.token;
        // A device-cost hash (2^8) costs microseconds; a people-cost one waits for the shared gate.
        const verify = hashCost(hash) > DEVICE_SECRET_COST ? gate.run(() => verifySecret(token, hash)) : verifySecret(token, hash).then((value) => ({ busy: false as const, value }));
        void verify.then((res) => {
          checking = false;
          if (res.busy) {
            refused('kiosk_hello_busy');
            return socket.close(4429, 'busy checking tokens; retry in 1 s');
          }
          if (!res.value || !entry) {
            const suppressed = logLimit.take(`hello:${address}`);
            if (suppressed >= 0) req.log.warn({ kioskId: m.kioskId.slice(0, 64), address, suppressed }, 'kiosk hello refused');
            return socket.close(4401, 'unknown kiosk or wrong token');
          }
          hellos.refund(address);
          // Closed while the hash ran: its close handler has run, so a listener added now would never go.
          if (socket.readyState !== socket.OPEN) return;
          clearTimeout(hello);
          kioskId = entry.id;
          deps.service.changes.on('view', onView);
          deps.service.changes.on('prompt', onPrompt);
          send({ type: 'welcome', kioskId, language: deps.service.language, ...(deps.service.soundVolume !== undefined ? { soundVolume: deps.service.soundVolume } : {}) }); // the store's default language
          const view = deps.service.view(kioskId);
          if (view) send(view);
          // A page that reconnects mid-payment still sees what the terminal asks.
          const prompt = deps.service.prompts?.current(kioskId);
          if (prompt) send(prompt);
        });
        return;
      }
      const checked = checkIntent(m);
      if (!checked.ok) return bad(checked.problem);
      const intent = checked.intent;
      if (intent.type === 'member') {
        const wait = members.take(kioskId, now());
        if (wait > 0) {
          refused('member_rate');
          return send({ type: 'error', code: 'SGW_ERR_RATE_LIMITED', message: `code: too many member codes; try again in ${wait} s`, retryAfterS: wait });
        }
      }
      void deps.service.intent(kioskId, intent);
    });
  });
};

// A hash nobody's token matches, so an unknown kiosk id costs the same scrypt time as a known one.
const DUMMY = 'scrypt$8$8$1$c3RvcmVndy1kdW1teS1zYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
