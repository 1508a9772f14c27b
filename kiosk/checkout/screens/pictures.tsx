/**
 * The screens' pictures, drawn as inline SVG and animated with CSS (no image files to ship or
 * cache). Decorative: each sits beside words that say the same, so screen readers skip them.
 */
import type { CardPictureKind } from './phaseScreen.js';

/** A product's barcode passing the scanner window, its red line sweeping. */
export function ScanPicture() {
  return (
    <svg class="k-pic k-pic-scan" viewBox="0 0 240 160" aria-hidden="true" focusable="false">
      <rect x="20" y="112" width="200" height="36" rx="8" fill="#0d2a4a" />
      <rect x="60" y="118" width="120" height="10" rx="4" fill="#7fb3e6" />
      <g class="k-pic-item">
        <rect x="78" y="28" width="84" height="70" rx="8" fill="#fff" stroke="#0d2a4a" stroke-width="4" />
        {[88, 94, 98, 104, 112, 116, 122, 130, 134, 140, 146].map((x, i) => (
          <rect key={x} x={x} y="44" width={i % 3 === 0 ? 4 : 2} height="40" fill="#111" />
        ))}
      </g>
      <rect class="k-pic-beam" x="64" y="62" width="112" height="4" rx="2" fill="#e0241b" />
    </svg>
  );
}

/** An attendant walking over. */
export function HelpPicture() {
  return (
    <svg class="k-pic k-pic-help" viewBox="0 0 80 80" aria-hidden="true" focusable="false">
      <circle cx="40" cy="40" r="38" fill="#fff" />
      <g class="k-pic-walk" fill="#b3261e">
        <circle cx="42" cy="18" r="8" />
        <path d="M34 30h14l6 20h-7l-3-10-3 12 6 16h-7l-6-15-5 15h-7l7-22z" />
      </g>
    </svg>
  );
}

/** The card terminal: a card going into its slot, held over it, or the PIN pad lit. */
export function CardPicture(p: { kind: CardPictureKind }) {
  const { kind } = p;
  return (
    <svg class={`k-pic k-pic-card k-pic-${kind}`} viewBox="0 -30 200 250" aria-hidden="true" focusable="false" data-picture={kind}>
      <rect x="50" y="40" width="100" height="170" rx="14" fill="#0d2a4a" />
      <rect x="62" y="54" width="76" height="44" rx="4" fill="#cfe3f7" />
      {[0, 1, 2, 3].map((row) =>
        [0, 1, 2].map((col) => (
          <rect key={`${row}-${col}`} x={66 + col * 24} y={110 + row * 20} width="18" height="14" rx="3" fill={kind === 'pin' ? '#ffbf47' : '#7fb3e6'} class={kind === 'pin' ? 'k-pic-key' : undefined} />
        )),
      )}
      {(kind === 'insert' || kind === 'any') && (
        <g class="k-pic-insert">
          <rect x="64" y="196" width="72" height="6" rx="3" fill="#111" />
          <rect x="72" y="150" width="56" height="50" rx="5" fill="#146c2e" />
          <rect x="80" y="158" width="14" height="11" rx="2" fill="#ffd400" />
        </g>
      )}
      {(kind === 'tap' || kind === 'any') && (
        <g class="k-pic-tap">
          <path d="M80 26q20-14 40 0M86 16q14-10 28 0" stroke="#146c2e" stroke-width="4" fill="none" stroke-linecap="round" />
          <rect x="66" y="-28" width="68" height="26" rx="5" fill="#146c2e" transform="rotate(-8 100 -15)" />
        </g>
      )}
    </svg>
  );
}
