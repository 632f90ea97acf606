import { z } from 'zod';

export const LatencySummary = z.object({
  count: z.number(),
  p50: z.number(),
  p90: z.number(),
  p99: z.number(),
  max: z.number(),
  mean: z.number(),
});
export type LatencySummary = z.infer<typeof LatencySummary>;

/** Samples kept at most; beyond it only the count grows (bounded memory in long runs). */
const MAX_SAMPLES = 2_000_000;

/**
 * Every sample in milliseconds, sorted once when summarised. Exact percentiles are cheap at this
 * size (a few hundred thousand requests per run), so no bucketed histogram and its rounding.
 */
export class LatencyRecorder {
  #samples = new Float64Array(4096);
  #size = 0;
  #count = 0;
  #sum = 0;

  add(ms: number): void {
    this.#count++;
    this.#sum += ms;
    if (this.#size >= MAX_SAMPLES) return;
    if (this.#size === this.#samples.length) {
      const bigger = new Float64Array(Math.min(MAX_SAMPLES, this.#samples.length * 2));
      bigger.set(this.#samples);
      this.#samples = bigger;
    }
    this.#samples[this.#size++] = ms;
  }

  get count(): number {
    return this.#count;
  }

  summary(): LatencySummary {
    const sorted = this.#samples.slice(0, this.#size).sort();
    const at = (q: number) =>
      sorted.length === 0
        ? 0
        : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
    return {
      count: this.#count,
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      max: sorted.length ? (sorted[sorted.length - 1] ?? 0) : 0,
      mean: this.#count ? this.#sum / this.#count : 0,
    };
  }

  reset(): void {
    this.#size = 0;
    this.#count = 0;
    this.#sum = 0;
  }
}
