/**
 * A deliberately naive raw JSON-RPC client for the server's tests: it writes JSON text and
 * collects every message it receives, so tests assert on exactly what the server sent.
 */
import net from 'node:net';
import type { Json, JsonObject } from '../../lib/json.ts';
import { JsonFramer } from '../../lib/jsonrpc/framer.ts';

export class RawClient {
  readonly received: JsonObject[] = [];
  closed = false;
  private waiters: (() => void)[] = [];
  private nextId = 1;

  private constructor(readonly socket: net.Socket) {
    const framer = new JsonFramer();
    socket.on('data', (chunk) => {
      framer.feed(chunk, (v) => {
        this.received.push(v as JsonObject);
        this.wake();
      });
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static connect(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(path, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  sendText(text: string): void {
    this.socket.write(text);
  }

  send(msg: Json): void {
    this.socket.write(JSON.stringify(msg));
  }

  /** Sends a request and resolves with its reply message. */
  async request(method: string, params: Json[], timeoutMs = 5000): Promise<JsonObject> {
    const id = this.nextId++;
    this.send({ method, params, id });
    return this.waitFor((m) => m.id === id && !('method' in m && m.method), timeoutMs);
  }

  /** Resolves with (and removes) the first received message that matches. */
  async waitFor(pred: (m: JsonObject) => boolean, timeoutMs = 5000): Promise<JsonObject> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.received.findIndex(pred);
      if (i >= 0) return this.received.splice(i, 1)[0];
      if (this.closed) throw new Error('connection closed while waiting');
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out waiting; received ${JSON.stringify(this.received)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('connection still open');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
