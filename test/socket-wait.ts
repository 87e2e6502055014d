/**
 * Waits until a server accepts on a unix socket. The socket file appears at bind(), a moment
 * before the server listens, so waiting for the file alone lets a client be refused.
 */
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export async function waitAccepting(path: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (existsSync(path) && (await accepts(path))) return;
    await sleep(20);
  }
  throw new Error(`nothing accepts on ${path} after ${ms} ms`);
}
