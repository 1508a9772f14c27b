/** Latency samples (milliseconds) with exact percentiles: every sample is kept, sorted once. */
export class Samples {
  private buf = new Float64Array(1 << 16);
  private n = 0;
  private sorted: Float64Array | null = null;

  add(ms: number): void {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = ms;
    this.sorted = null;
  }

  get count(): number {
    return this.n;
  }

  /** Nearest-rank percentile, p in [0, 100]; NaN without samples. */
  percentile(p: number): number {
    if (this.n === 0) return NaN;
    this.sorted ??= this.buf.slice(0, this.n).sort();
    const rank = Math.min(this.n - 1, Math.max(0, Math.ceil((p / 100) * this.n) - 1));
    return this.sorted[rank];
  }

  max(): number {
    return this.percentile(100);
  }

  /** How many samples are at least `ms`. */
  atLeast(ms: number): number {
    let k = 0;
    for (let i = 0; i < this.n; i++) if (this.buf[i] >= ms) k++;
    return k;
  }
}
