/**
 * Event counters for `coverage/show`, after OVS's lib/coverage.c: `const c = coverage('name')`,
 * `c.inc()` on the event (one addition: cheap enough for hot paths). A 5-second sampler, started
 * only by daemons, keeps per-interval deltas for the minute and hour averages.
 */
const INTERVAL_MS = 5000;
const MIN_SLOTS = 12; // 12 × 5 s = 1 minute
const HR_SLOTS = 60; // 60 × 1 min = 1 hour

export class CoverageCounter {
  total = 0;
  lastSampled = 0;
  readonly min = new Float64Array(MIN_SLOTS);
  readonly hr = new Float64Array(HR_SLOTS);
  constructor(readonly name: string) {}
  inc(n = 1): void {
    this.total += n;
  }
}

const counters: CoverageCounter[] = [];
const byName = new Map<string, CoverageCounter>();
let idx = 0;
let timer: NodeJS.Timeout | undefined;

export function coverage(name: string): CoverageCounter {
  let c = byName.get(name);
  if (!c) {
    c = new CoverageCounter(name);
    byName.set(name, c);
    counters.push(c);
  }
  return c;
}

/** Takes one 5-second sample (exported so tests can drive it without waiting). */
export function coverageSample(): void {
  const slot = idx % MIN_SLOTS;
  for (const c of counters) {
    c.min[slot] = c.total - c.lastSampled;
    c.lastSampled = c.total;
  }
  idx++;
  if (idx % MIN_SLOTS === 0) {
    const h = (idx / MIN_SLOTS - 1) % HR_SLOTS;
    for (const c of counters) c.hr[h] = c.min.reduce((a, b) => a + b, 0);
  }
}

export function startCoverageSampler(): void {
  if (timer) return;
  timer = setInterval(coverageSample, INTERVAL_MS);
  timer.unref();
}

function hash(): string {
  // FNV-1a over the names of counters that were hit, like OVS's hash of the coverage set: it
  // tells two reports with the same events apart from ones with different events.
  let h = 0x811c9dc5;
  for (const c of counters) {
    if (!c.total) continue;
    for (let i = 0; i < c.name.length; i++) {
      h ^= c.name.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  return h.toString(16).padStart(8, '0');
}

/** coverage/show's text. */
export function coverageShow(): string {
  const lines = [
    `Event coverage, avg rate over last: ${INTERVAL_MS / 1000} seconds, last minute, last hour,  hash=${hash()}:`,
  ];
  let neverHit = 0;
  const last = (idx + MIN_SLOTS - 1) % MIN_SLOTS;
  for (const c of counters) {
    if (!c.total) {
      neverHit++;
      continue;
    }
    const sumMin = c.min.reduce((a, b) => a + b, 0);
    const sumHr = c.hr.reduce((a, b) => a + b, 0);
    lines.push(
      `${c.name.padEnd(24)} ${((c.min[last] * 1000) / INTERVAL_MS).toFixed(1).padStart(5)}/sec ${(sumMin / 60).toFixed(3).padStart(9)}/sec ${(sumHr / 3600).toFixed(4).padStart(13)}/sec   total: ${c.total}`,
    );
  }
  lines.push(`${neverHit} events never hit`);
  return `${lines.join('\n')}\n`;
}

/** coverage/read-counter: the total of one counter, or null if there is none by that name. */
export function coverageRead(name: string): number | null {
  return byName.get(name)?.total ?? null;
}
