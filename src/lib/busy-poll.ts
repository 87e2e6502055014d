/**
 * Adaptive busy polling of the event loop between a peer's requests.
 *
 * Why: a peer that waits for each reply before it sends its next request (ovs-ofctl add-flows
 * sends a barrier after every flow_mod; a client of ovsdb-server awaits each transaction) sends
 * that request some tens of µs after our reply. If this thread is asleep in epoll_wait by then,
 * the kernel must wake it, and on a virtual machine whose idle vCPUs halt at once (no guest
 * halt polling: the machines this project runs on) that wake-up alone takes 20–25 µs, a third
 * of the round trip. OVS's main loop rarely sleeps between such requests because it does
 * enough other work per iteration; ours sleeps after every reply. So after traffic from a peer
 * the loop keeps polling without blocking (a chain of setImmediate: libuv then polls with a
 * zero timeout) for a short window, and the next request is read as soon as it lands.
 *
 * The window adapts the way Linux's haltpoll cpuidle governor adapts its poll time: when the
 * next activity came after the window had run out but within the longest window, the window
 * was too short and doubles (from GROW_START_US up to the longest); when it came later than
 * the longest window twice in a row, polling could not have caught it and the window halves, so
 * a peer that talks every millisecond or less often soon costs no polling at all (one long gap
 * alone, a collection or a slow step of the peer's, changes nothing). Activity inside the
 * window leaves it as it is. The longest window is longer than haltpoll's 200 µs: on these
 * machines a client's turn is often 150–400 µs (ovsdb-server's sequential clients).
 *
 * The longest window is `TYPESWITCH_BUSY_POLL_US` (default 500 µs; 0 turns polling off),
 * read once per thread. Polling costs at most one window of CPU per exchange and wakes
 * nothing else.
 */

const GROW_START_US = 50;
const DEFAULT_MAX_US = 500;
/* A peer's turn now and then takes long (a collection, a slow step of its own): only this many
 * gaps longer than the longest window in a row shrink the window. */
const SHRINK_AFTER = 2;

function maxWindowFromEnv(): number {
  const raw = process.env.TYPESWITCH_BUSY_POLL_US;
  if (raw === undefined || raw === '') return DEFAULT_MAX_US;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? Math.min(n, 10_000) : DEFAULT_MAX_US;
}

/** The state of one thread's polling (exported for tests; the daemons use `noteActivity`). */
export class BusyPoller {
  /** Current window, µs. */
  window = 0;
  private readonly maxUs: number;
  private lastActivity = -Infinity;
  private until = 0;
  private spinning = false;
  /** Gaps longer than the longest window in a row. */
  private longGaps = 0;
  /** Whether the last window ran out with no activity in it. */
  private expired = true;
  private readonly clock: () => number;
  private readonly schedule: (fn: () => void) => void;
  private readonly tick = (): void => {
    if (this.clock() < this.until) this.schedule(this.tick);
    else {
      this.spinning = false;
      this.expired = true;
    }
  };

  constructor(
    maxUs: number,
    clock: () => number = () => performance.now(),
    schedule: (fn: () => void) => void = (fn) => setImmediate(fn),
  ) {
    this.maxUs = maxUs;
    this.clock = clock;
    this.schedule = schedule;
    this.window = Math.min(GROW_START_US, maxUs);
  }

  /** Whether the loop is being kept polling right now. */
  get active(): boolean {
    return this.spinning;
  }

  /** A peer's bytes arrived: adapt the window, then keep polling for it. */
  noteActivity(): void {
    if (this.maxUs <= 0) return;
    const now = this.clock();
    if (!this.expired) this.longGaps = 0;
    else {
      const gapUs = (now - this.lastActivity) * 1000;
      if (gapUs <= this.maxUs) {
        this.longGaps = 0;
        this.window = Math.min(this.maxUs, Math.max(GROW_START_US, this.window * 2));
      } else if (gapUs !== Number.POSITIVE_INFINITY && ++this.longGaps >= SHRINK_AFTER) {
        this.window = this.window < 2 ? 0 : this.window / 2;
      }
    }
    this.lastActivity = now;
    if (this.window <= 0) return;
    this.until = now + this.window / 1000;
    this.expired = false;
    if (!this.spinning) {
      this.spinning = true;
      this.schedule(this.tick);
    }
  }
}

let poller: BusyPoller | null = null;

/** Call when a peer's bytes arrive on a request/reply connection (OpenFlow, JSON-RPC). */
export function noteActivity(): void {
  if (poller === null) poller = new BusyPoller(maxWindowFromEnv());
  poller.noteActivity();
}
