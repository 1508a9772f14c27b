/** The demo store's simulated scan: a code typed here is sent as a scan (only when the gateway runs in demo mode). */
import { useState } from 'preact/hooks';
import { BigButton } from '../../ui/BigButton.js';
import type { Strings } from '../strings.js';

export function DemoScan(p: { t: Strings; scan: (code: string) => void }) {
  const [code, setCode] = useState('');
  const send = () => {
    p.scan(code);
    setCode('');
  };
  return (
    <form class="k-demo" onSubmit={(e) => { e.preventDefault(); send(); }}>
      <label>{p.t.demoScan} <input value={code} onInput={(e) => setCode((e.target as HTMLInputElement).value)} data-testid="demo-code" /></label>
      <BigButton label={p.t.demoScan} onClick={send} testId="demo-scan" />
    </form>
  );
}
