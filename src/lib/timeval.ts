/**
 * The daemon's millisecond clock, which OVS's test commands `time/stop` and `time/warp` can
 * stop and move forward (OVS registers them only under --enable-dummy; so do we).
 *
 * Everything that ages or expires by the clock (flow timeouts, MAC aging, datapath flow idle
 * expiry, statistics written to the database) must read `timeMsec()` and be driven by
 * `every()` / `after()` rather than raw timers: a warp then runs the work that became due at
 * each step before `time/warp` replies, as OVS runs its main loop once per step. While the
 * clock is stopped, only warps move it, so nothing expires behind a test's back.
 *
 * This is per thread (per isolate): the PMD worker keeps real time, as it forwards Linux
 * ports only, which no warping test uses.
 */

let warpMs = 0;
let stoppedAt: number | null = null;
let warping = false;

/** Monotonic-enough milliseconds: the wall clock, plus warps; frozen by timeStop(). */
export function timeMsec(): number {
  return (stoppedAt ?? Date.now()) + warpMs;
}

/** Whole seconds of timeMsec(), as OVS's time_now(). */
export function timeNow(): number {
  return Math.floor(timeMsec() / 1000);
}

export function clockStopped(): boolean {
  return stoppedAt !== null;
}

/** A timer on this clock; cancel() is idempotent. */
export interface ClockTimer {
  cancel(): void;
}

interface Task {
  due: number;
  /** 0 = fire once. */
  readonly period: number;
  readonly fn: () => unknown;
  real: ReturnType<typeof setTimeout> | null;
  live: boolean;
}

const tasks = new Set<Task>();

function arm(t: Task): void {
  if (t.real) clearTimeout(t.real);
  t.real = null;
  if (!t.live || stoppedAt !== null) return;
  t.real = setTimeout(() => void check(t), Math.max(0, t.due - timeMsec()));
  t.real.unref();
}

async function fire(t: Task): Promise<void> {
  if (t.period > 0) t.due = timeMsec() + t.period;
  else {
    t.live = false;
    tasks.delete(t);
  }
  try {
    await t.fn();
  } catch {
    // The task's owner logs its own failures; a timer must keep running regardless.
  }
}

async function check(t: Task): Promise<void> {
  t.real = null;
  if (!t.live) return;
  if (timeMsec() >= t.due) await fire(t);
  arm(t);
}

function schedule(delayMs: number, period: number, fn: () => unknown): ClockTimer {
  const t: Task = { due: timeMsec() + delayMs, period, fn, real: null, live: true };
  tasks.add(t);
  arm(t);
  return {
    cancel: () => {
      t.live = false;
      if (t.real) clearTimeout(t.real);
      t.real = null;
      tasks.delete(t);
    },
  };
}

/** Runs `fn` every `periodMs` of clock time (first run one period from now). */
export function every(periodMs: number, fn: () => unknown): ClockTimer {
  return schedule(periodMs, periodMs, fn);
}

/** Runs `fn` once, `delayMs` of clock time from now. */
export function after(delayMs: number, fn: () => unknown): ClockTimer {
  return schedule(delayMs, 0, fn);
}

/** time/stop: the clock moves only by warps from now on. */
export function timeStop(): void {
  if (stoppedAt === null) stoppedAt = Date.now();
  for (const t of tasks) arm(t);
}

/** Runs every task that is due on the clock, once each, in the order they were scheduled. */
async function runDue(): Promise<void> {
  const now = timeMsec();
  for (const t of [...tasks]) {
    if (t.live && t.due <= now) await fire(t);
  }
  for (const t of tasks) arm(t);
}

/** A real-time pause between warp steps, so that sockets and workers get a turn (as OVS does). */
const STEP_PAUSE_MS = 10;

export class TimeWarpError extends Error {
  override readonly name = 'TimeWarpError';
}

/**
 * time/warp [LARGE_MSECS] MSECS: moves the clock forward by LARGE_MSECS in steps of MSECS (or
 * by MSECS once), running what became due after each step. Resolves when done.
 */
export async function timeWarp(totalMs: number, stepMs: number): Promise<void> {
  if (!(stepMs > 0) || !(totalMs >= 0) || !Number.isFinite(stepMs + totalMs)) {
    throw new TimeWarpError('invalid MSECS');
  }
  if (warping) throw new TimeWarpError('A previous warp in progress');
  warping = true;
  try {
    let left = totalMs;
    do {
      const step = left === 0 ? stepMs : Math.min(stepMs, left);
      left -= Math.min(left, step);
      warpMs += step;
      await runDue();
      await new Promise<void>((resolve) => setTimeout(resolve, STEP_PAUSE_MS));
    } while (left > 0);
  } finally {
    warping = false;
  }
}

/** Parses time/warp's arguments as OVS's atoll does (leading digits; garbage is 0). */
export function parseWarpArgs(args: readonly string[]): { total: number; step: number } {
  const num = (s: string): number => {
    const m = /^\s*([+-]?\d+)/.exec(s);
    return m ? Number(m[1]) : 0;
  };
  return args.length > 1
    ? { total: num(args[0] as string), step: num(args[1] as string) }
    : { total: 0, step: num(args[0] ?? '') };
}

/** For tests: back to the real clock with no tasks. */
export function resetClockForTests(): void {
  for (const t of tasks) if (t.real) clearTimeout(t.real);
  tasks.clear();
  warpMs = 0;
  stoppedAt = null;
  warping = false;
}
