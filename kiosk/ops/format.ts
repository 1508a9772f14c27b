/** Formatting for the ops page, pure (no clock: `now` is passed in). */

/** Minor units (cents) as money, e.g. 1234 → "12.34 EUR". */
export function money(minor: number | null, currency: string | null): string {
  if (minor === null) return '–';
  const s = (minor / 100).toFixed(2);
  return currency ? `${s} ${currency}` : s;
}

export function percent(x: number | null, digits = 1): string {
  return x === null ? '–' : `${(x * 100).toFixed(digits)} %`;
}

export function ago(ms: number | null, now: number): string {
  if (ms === null) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

export function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString();
}

export function ageS(s: number | null): string {
  if (s === null) return '–';
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
