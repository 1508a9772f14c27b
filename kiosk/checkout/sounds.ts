/**
 * Sound cues, generated with the Web Audio API (no sound files): a short high beep when a scan is
 * accepted, a low double tone for an error, a rising two-note chime when help is called. Each cue
 * differs in pitch and rhythm, not only in loudness, so it can be told apart in a noisy store.
 * The volume is the store's (`kiosk.soundVolume`, 0 = silent). A kiosk browser is started with
 * autoplay allowed; elsewhere the first touch unlocks the audio (browsers' autoplay policy).
 */
export type Cue = 'accept' | 'error' | 'help';

/** One tone: frequency (Hz), start offset and length (s). */
const TONES: Record<Cue, [number, number, number][]> = {
  accept: [[1760, 0, 0.09]],
  error: [[330, 0, 0.16], [262, 0.2, 0.22]],
  help: [[523, 0, 0.14], [784, 0.16, 0.22]],
};

export class SoundCues {
  private ctx: AudioContext | null = null;
  /** The last cue played and how many so far (on the page root as `data-cue`, for tests and support). */
  last: { cue: Cue; n: number } | null = null;

  constructor(private volume: number) {}

  setVolume(v: number): void {
    this.volume = Math.min(1, Math.max(0, v));
  }

  play(cue: Cue): void {
    this.last = { cue, n: (this.last?.n ?? 0) + 1 };
    if (this.volume <= 0 || typeof AudioContext === 'undefined') return;
    try {
      this.ctx ??= new AudioContext();
      if (this.ctx.state === 'suspended') void this.ctx.resume();
      const t0 = this.ctx.currentTime;
      for (const [hz, at, len] of TONES[cue]) {
        const osc = this.ctx.createOscillator();
        const gain = this.ctx.createGain();
        osc.type = cue === 'error' ? 'square' : 'sine';
        osc.frequency.value = hz;
        // A short attack and decay: no click at the start or end of the tone.
        gain.gain.setValueAtTime(0, t0 + at);
        gain.gain.linearRampToValueAtTime(this.volume * 0.5, t0 + at + 0.01);
        gain.gain.exponentialRampToValueAtTime(0.0001, t0 + at + len);
        osc.connect(gain).connect(this.ctx.destination);
        osc.start(t0 + at);
        osc.stop(t0 + at + len + 0.02);
      }
    } catch {
      // no audio device: the screen still says everything the sound does
    }
  }
}

interface Seen {
  sessionId: string;
  pieces: number;
  notice: string | null;
  requests: number;
  helpCalled: boolean;
}

/** Notices that are good news: no error sound. */
const GOOD_NEWS = new Set(['memberOk', 'pickupBringing']);

/** Which cue a new view calls for, compared with the last one seen (pure); null for none. */
export function cueFor(prev: Seen | null, v: { sessionId: string; lines: { qty: number }[]; notice: { code: string; detail?: string } | null; requests: unknown[]; helpCalled: boolean }): { cue: Cue | null; seen: Seen } {
  const pieces = v.lines.reduce((n, l) => n + l.qty, 0);
  const notice = v.notice ? `${v.notice.code}:${v.notice.detail ?? ''}` : null;
  const seen: Seen = { sessionId: v.sessionId, pieces, notice, requests: v.requests.length, helpCalled: v.helpCalled };
  if (prev === null || prev.sessionId !== v.sessionId) return { cue: null, seen };
  // An error that also calls help (an unknown item) sounds as the error: it is what the shopper must act on.
  if ((notice !== null && notice !== prev.notice && !GOOD_NEWS.has(v.notice!.code)) || v.requests.length > prev.requests) return { cue: 'error', seen };
  if (v.helpCalled && !prev.helpCalled) return { cue: 'help', seen };
  if (pieces > prev.pieces) return { cue: 'accept', seen };
  return { cue: null, seen };
}
