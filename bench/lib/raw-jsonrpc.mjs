// A deliberately small JSON-RPC client for benchmarks: the same code drives real OVS and
// TypeSwitch, so neither side benefits from our own client library.
import { connect } from 'node:net';

export class RawClient {
  #sock;
  #buf = '';
  #depth = 0;
  #inStr = false;
  #esc = false;
  #start = 0;
  #scan = 0;
  #nextId = 1;
  #pending = new Map();
  onNotify = null;

  static open(path) {
    return new Promise((resolve, reject) => {
      const c = new RawClient();
      c.#sock = connect(path, () => resolve(c));
      c.#sock.setEncoding('utf8');
      c.#sock.on('error', reject);
      c.#sock.on('data', (d) => c.#onData(d));
    });
  }

  #onData(chunk) {
    this.#buf += chunk;
    const s = this.#buf;
    for (let i = this.#scan; i < s.length; i++) {
      const ch = s.charCodeAt(i);
      if (this.#inStr) {
        if (this.#esc) this.#esc = false;
        else if (ch === 92) this.#esc = true;
        else if (ch === 34) this.#inStr = false;
        continue;
      }
      if (ch === 34) this.#inStr = true;
      else if (ch === 123 || ch === 91) {
        if (this.#depth++ === 0) this.#start = i;
      } else if (ch === 125 || ch === 93) {
        if (--this.#depth === 0) this.#dispatch(JSON.parse(s.slice(this.#start, i + 1)));
      }
    }
    if (this.#depth === 0) {
      this.#buf = '';
      this.#scan = 0;
    } else {
      this.#buf = s.slice(this.#start);
      this.#scan = this.#buf.length;
      this.#start = 0;
    }
  }

  #dispatch(msg) {
    if (msg.method === 'echo' && msg.id !== null) {
      this.#sock.write(JSON.stringify({ id: msg.id, result: msg.params, error: null }));
    } else if (msg.method !== undefined) {
      this.onNotify?.(msg);
    } else {
      const p = this.#pending.get(msg.id);
      if (p) {
        this.#pending.delete(msg.id);
        p(msg);
      }
    }
  }

  request(method, params) {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#sock.write(JSON.stringify({ method, params, id }));
    });
  }

  close() {
    this.#sock.destroy();
  }
}
