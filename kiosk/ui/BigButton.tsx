/** A large touch target (≥ 64 px) with an accessible name (and `pressed` for a toggle); shared by the kiosk and ops pages. */
import type { ComponentChildren } from 'preact';

export function BigButton(props: { label: string; onClick: () => void; kind?: 'primary' | 'danger' | 'plain'; disabled?: boolean; children?: ComponentChildren; testId?: string; pressed?: boolean }) {
  return (
    <button type="button" class={`ui-btn ui-btn-${props.kind ?? 'plain'}`} aria-label={props.label} aria-pressed={props.pressed} disabled={props.disabled} onClick={props.onClick} data-testid={props.testId}>
      {props.children ?? props.label}
    </button>
  );
}
