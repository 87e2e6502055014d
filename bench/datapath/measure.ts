/*
 * Timing for the in-process benchmarks: calibrate a run to a target duration, warm up (so V8
 * has optimised the hot paths before the clock starts), then time several repetitions and
 * keep the median rate. Each benchmark is a function that does `n` units of work and returns
 * how many items (packets, lookups) it processed.
 */

export interface Rate {
  /** Items per second of wall-clock time, median of the repetitions. */
  readonly median: number;
  /** Every repetition's rate, in run order. */
  readonly all: readonly number[];
  /** Items per second of this process's CPU time (user + system), median: what one core
   * does when it has the machine to itself, much less sensitive to other load than `median`. */
  readonly cpuMedian: number;
  /** Work units per repetition after calibration. */
  readonly units: number;
}

export interface MeasureOptions {
  /** Seconds of warm-up before timing. */
  readonly warmup: number;
  /** Target seconds per repetition. */
  readonly rep: number;
  readonly reps: number;
  /** Called before every timed repetition, outside the clock (e.g. to flush a flow table). */
  readonly before?: () => void;
  /** Largest number of units one repetition may use (e.g. a fixed set of unique packets). */
  readonly maxUnits?: number;
  /** Called once between warm-up and the timed repetitions (e.g. to snapshot counters). */
  readonly warmedUp?: () => void;
  /** Warm-up runs at least this many rounds (default 8), however long the first (cold) ones
   * take, so that calibration never rests on an unoptimised run. */
  readonly minWarmupRounds?: number;
}

function seconds(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export function measure(work: (units: number) => number, o: MeasureOptions): Rate {
  const cap = o.maxUnits ?? Number.MAX_SAFE_INTEGER;
  // Warm-up doubles the work until the warm-up time is spent; the last size calibrates.
  let units = 1;
  let spent = 0;
  let perUnit = 0;
  const w0 = process.hrtime.bigint();
  const minRounds = o.minWarmupRounds ?? 8;
  for (let round = 0; round < minRounds || seconds(w0) < o.warmup; round++) {
    o.before?.();
    const t0 = process.hrtime.bigint();
    work(units);
    const dt = seconds(t0);
    spent += dt;
    perUnit = dt / units;
    if (units < cap) units = Math.min(cap, units * 2);
  }
  if (spent === 0 || perUnit === 0) perUnit = 1e-6;
  const n = Math.max(1, Math.min(cap, Math.round(o.rep / perUnit)));
  o.warmedUp?.();
  const all: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < o.reps; r++) {
    o.before?.();
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const items = work(n);
    const wall = seconds(t0);
    const c = process.cpuUsage(c0);
    all.push(items / wall);
    cpu.push(items / ((c.user + c.system) / 1e6));
  }
  return { median: median(all), all, cpuMedian: median(cpu), units: n };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A small deterministic PRNG (xorshift32) so every run builds the same rules and traffic. */
export class Rng {
  private x: number;
  constructor(seed = 1) {
    this.x = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.x = x >>> 0;
    return this.x;
  }
  /** Uniform in [0, n). */
  range(n: number): number {
    return this.next() % n;
  }
}
