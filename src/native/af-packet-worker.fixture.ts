// Worker side of the af-packet test: a datapath-like thread that enters the test namespace,
// opens its own socket and sleeps in waitReadable() between batches.
import { parentPort, workerData } from 'node:worker_threads';
import { AfPacketSocket } from './af-packet.ts';
import { inNetns } from './netdev-ioctl.ts';

const { netns, dev, want } = workerData as { netns: string; dev: string; want: number };
const sock = inNetns(netns, () => AfPacketSocket.open(dev));
parentPort?.postMessage({ ready: true });
const out = new Uint32Array(512);
let got = 0;
const deadline = Date.now() + 3000;
while (got < want && Date.now() < deadline) {
  if (!sock.waitReadable(50)) continue;
  const n = sock.recv(out, 256);
  for (let i = 0; i < n; i++) {
    const f = sock.ring.subarray(out[2 * i], out[2 * i] + out[2 * i + 1]);
    if (f[12] === 0x88 && f[13] === 0xb5) got++;
  }
  sock.release();
}
sock.close();
parentPort?.postMessage({ got });
