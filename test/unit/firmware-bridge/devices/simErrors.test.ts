/**
 * A simulator whose port fails (socat stopped under it, as in the unplug tests, the demo and the
 * bench) keeps its process alive: an 'error' from its transport is recorded, never thrown.
 */
import { describe, expect, it } from 'vitest';
import { MemoryByteTransport } from '../../../../firmware-bridge/transports/memory.js';
import { MtsicsSim } from '../../../../firmware-bridge/devices/mtsics/sim.js';
import { ChafonSim } from '../../../../firmware-bridge/devices/chafon/sim.js';
import { ToledoSim } from '../../../../firmware-bridge/devices/toledoContinuous/sim.js';

const sims = {
  mtsics: (t: MemoryByteTransport) => new MtsicsSim(t),
  chafon: (t: MemoryByteTransport) => new ChafonSim(t),
  toledoContinuous: (t: MemoryByteTransport) => new ToledoSim(t),
};

describe('simulators survive transport errors', () => {
  for (const [name, make] of Object.entries(sims)) {
    it(`${name}: an EBADF from its port is recorded, not thrown`, async () => {
      const t = new MemoryByteTransport(`${name}-sim`);
      const sim = make(t);
      await sim.start();
      const err = Object.assign(new Error('EBADF: bad file descriptor, write'), { code: 'EBADF' });
      expect(() => t.emit('error', err)).not.toThrow();
      expect(sim.lastError).toBe(err);
      await sim.stop();
    });
  }
});
