/**
 * Terminals bench (`--module terminals`): the real-device paths of the store's checkout hardware,
 * each against its simulator speaking the device's own bytes.
 *
 *   zvt-pay      kiosk `pay` → ZVT terminal over TCP → sale recorded (terminalsZvt.ts)
 *   oepl-2000    2,000 labels through one OpenEPaperLink AP (terminalsOepl.ts)
 *   receipt      bytes per printed receipt, and print → ack through an ESC/POS printer (terminalsReceipt.ts)
 *
 * One failing part does not lose the others: its error is printed and the rest still run.
 */
import { benchOepl } from './terminalsOepl.js';
import { benchReceipt } from './terminalsReceipt.js';
import { benchZvt } from './terminalsZvt.js';
import type { TerminalBenchRow } from './terminalRig.js';

export async function benchTerminals(opts: { quick?: boolean; progress?: (s: string) => void } = {}): Promise<TerminalBenchRow[]> {
  const say = opts.progress ?? (() => undefined);
  const rows: TerminalBenchRow[] = [];
  const parts: [string, () => Promise<TerminalBenchRow[]>][] = [
    ['zvt', () => benchZvt(opts)],
    ['oepl', () => benchOepl(opts)],
    ['receipt', () => benchReceipt(opts)],
  ];
  const failed: string[] = [];
  for (const [name, run] of parts) {
    try {
      rows.push(...(await run()));
    } catch (err) {
      failed.push(name);
      say(`  terminals/${name}: FAILED: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (failed.length === parts.length) throw new Error(`every terminals bench failed (${failed.join(', ')})`);
  return rows;
}
