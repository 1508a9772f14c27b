/**
 * Member entry behind its own button: most shoppers have no card to type in, so the main screen
 * shows one button, and the code field opens only when asked for (and closes once sent).
 */
import { useState } from 'preact/hooks';
import { BigButton } from '../../ui/BigButton.js';
import type { Strings } from '../strings.js';

export function MemberEntry(p: { t: Strings; disabled: boolean; send: (code: string) => void }) {
  const [open, setOpen] = useState(false);
  const [code, setCode] = useState('');
  if (!open) return <BigButton label={p.t.memberOpen} disabled={p.disabled} onClick={() => setOpen(true)} testId="member-open" />;
  return (
    <form
      class="k-member"
      onSubmit={(e) => {
        e.preventDefault();
        p.send(code);
        setCode('');
        setOpen(false);
      }}
    >
      <label>
        {p.t.memberCode} <input value={code} autoFocus onInput={(e) => setCode((e.target as HTMLInputElement).value)} disabled={p.disabled} data-testid="member-input" />
      </label>
    </form>
  );
}
