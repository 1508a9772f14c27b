/**
 * Exit-gate exemptions (ops): a tag exempted until a time never alarms at a gate. Durable in
 * kiosk.db before the answer, so a restart keeps it. Attendants may exempt; viewers may list.
 */
import type { Serials } from '../../kiosk/serials.js';
import { decodeSgtin96 } from '../../kiosk/sgtin.js';
import { gtin14 } from '../../kiosk/rfidTags.js';
import { ExemptBody, Exemption, Exemptions } from '../../protocol/schemas/api/exitGate.js';
import { Refusals } from '../../protocol/schemas/api/common.js';
import { requireRole } from '../auth.js';
import type { TypedRoutes } from '../typeProvider.js';

export interface ExitGateRouteDeps {
  serials: Serials;
  now: () => number;
}

export const exitGateRoutes: TypedRoutes<ExitGateRouteDeps> = async (app, deps) => {
  app.get('/api/exit-gate/exemptions', { preHandler: requireRole('viewer'), schema: { response: { 200: Exemptions, ...Refusals } } }, async () => ({ exemptions: await deps.serials.exemptions() }));

  app.post('/api/exit-gate/exemptions', { preHandler: requireRole('attendant'), schema: { body: ExemptBody, response: { 200: Exemption, ...Refusals } } }, async (req, reply) => {
    const b = req.body;
    let gtin: string;
    let serial: string;
    if (b.epc !== undefined) {
      if (b.gtin !== undefined || b.serial !== undefined) return reply.code(400).send({ code: 'SGW_ERR_SCHEMA', message: 'body: give either epc, or gtin and serial, not both' });
      const t = decodeSgtin96(b.epc);
      if (!t.ok) return reply.code(400).send({ code: 'SGW_ERR_SCHEMA', message: `body.epc: ${t.reason}` });
      gtin = t.gtin14;
      serial = String(t.serial);
    } else if (b.gtin !== undefined && b.serial !== undefined) {
      gtin = gtin14(b.gtin);
      serial = String(Number(b.serial)); // an SGTIN-96 serial is a number: "007" is read as 7
    } else return reply.code(400).send({ code: 'SGW_ERR_SCHEMA', message: 'body: needs epc, or gtin and serial' });
    const e = { gtin, serial, until: deps.now() + b.ttlMs, by: req.session!.username, reason: b.reason };
    await deps.serials.exempt(e);
    return e;
  });
};
