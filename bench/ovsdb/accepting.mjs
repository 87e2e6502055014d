// Waits until a server accepts on a unix socket. The file appears at bind(2), before the
// server listens: a connect in between is refused, which a loaded machine makes likely.
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves once `path` accepts a connection; throws after `ms` milliseconds. */
export async function waitAccepting(path, ms = 5000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (existsSync(path)) {
      const ok = await new Promise((resolve) => {
        const s = connect(path, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (ok) return;
    }
    await sleep(20);
  }
  throw new Error(`nothing accepts on ${path} after ${ms} ms`);
}
