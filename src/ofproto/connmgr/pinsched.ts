/*
 * Packet-in rate limiting for one controller connection (OVS's pinsched, driven by the
 * Controller table's controller_rate_limit and controller_burst_limit): a token bucket of
 * `burst` packet-ins refilled at `rate` per second. Packet-ins beyond it wait in a queue of
 * at most `burst` entries, sent as tokens come back; beyond that they are dropped and counted.
 */

/* OVS's floors for the two settings. */
export const MIN_RATE = 100;
export const MIN_BURST = 25;

export interface PinschedStats {
  sent: number;
  queued: number;
  dropped: number;
}

export class Pinsched {
  readonly rate: number;
  readonly burst: number;
  private tokens: number;
  private last: number;
  private readonly queue: Array<() => void> = [];
  private timer: NodeJS.Timeout | null = null;
  readonly stats: PinschedStats = { sent: 0, queued: 0, dropped: 0 };

  constructor(
    rate: number,
    burst: number | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.rate = Math.max(MIN_RATE, rate);
    this.burst = Math.max(MIN_BURST, burst ?? Math.floor(this.rate / 4));
    this.tokens = this.burst;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    const add = ((t - this.last) * this.rate) / 1000;
    if (add > 0) {
      this.tokens = Math.min(this.burst, this.tokens + add);
      this.last = t;
    }
  }

  /** Sends now, queues, or drops; returns which. */
  send(emit: () => void): 'sent' | 'queued' | 'dropped' {
    this.refill();
    if (this.queue.length === 0 && this.tokens >= 1) {
      this.tokens--;
      this.stats.sent++;
      emit();
      return 'sent';
    }
    if (this.queue.length >= this.burst) {
      this.stats.dropped++;
      return 'dropped';
    }
    this.queue.push(emit);
    this.stats.queued++;
    this.arm();
    return 'queued';
  }

  /** Sends what the refilled tokens allow; called by the timer (and by tests). */
  run(): void {
    this.refill();
    while (this.queue.length > 0 && this.tokens >= 1) {
      this.tokens--;
      this.stats.sent++;
      this.queue.shift()?.();
    }
    if (this.queue.length > 0) this.arm();
  }

  private arm(): void {
    if (this.timer) return;
    const wait = Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.rate));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.run();
    }, wait);
    this.timer.unref?.();
  }

  get queued(): number {
    return this.queue.length;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }
}
