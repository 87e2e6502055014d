// bench/visibility's collector: counts sFlow v5 and NetFlow v5 datagrams on two UDP ports of
// 127.0.0.1 (run inside the switch's namespace). Prints the running totals as a JSON line every
// 200 ms, and once more when told to stop (SIGTERM or SIGINT, or stdin closing) or after at
// most `maxSeconds`.
// Usage: node collector.mjs SFLOW_PORT NETFLOW_PORT MAX_SECONDS
import { createSocket } from 'node:dgram';

const [sflowPort, netflowPort, maxSeconds] = process.argv.slice(2).map(Number);
const sflow = { datagrams: 0, flowSamples: 0, counterSamples: 0, bad: 0 };
const netflow = { datagrams: 0, records: 0, packets: 0, bad: 0 };

/* sFlow v5 (sflow.org sflow_version_5.txt): version, agent address (type 1 = IPv4, 2 = IPv6),
 * sub-agent id, sequence, uptime, sample count, then samples as (format, length, body) where
 * format's low 12 bits are 1/3 for (expanded) flow samples and 2/4 for counters. */
function countSflow(b) {
  if (b.length < 28 || b.readUInt32BE(0) !== 5) return void sflow.bad++;
  let off = b.readUInt32BE(4) === 2 ? 24 : 12;
  off += 12;
  const n = b.readUInt32BE(off);
  off += 4;
  for (let i = 0; i < n && off + 8 <= b.length; i++) {
    const fmt = b.readUInt32BE(off) & 0xfff;
    if (fmt === 1 || fmt === 3) sflow.flowSamples++;
    else if (fmt === 2 || fmt === 4) sflow.counterSamples++;
    off += 8 + b.readUInt32BE(off + 4);
  }
  sflow.datagrams++;
}

/* NetFlow v5: a 24-byte header (version 5, record count) and 48-byte records, dPkts at 16. */
function countNetflow(b) {
  if (b.length < 24 || b.readUInt16BE(0) !== 5) return void netflow.bad++;
  const n = b.readUInt16BE(2);
  for (let i = 0; i < n && 24 + (i + 1) * 48 <= b.length; i++) {
    netflow.packets += b.readUInt32BE(24 + i * 48 + 16);
    netflow.records++;
  }
  netflow.datagrams++;
}

const socks = [];
for (const [port, count] of [
  [sflowPort, countSflow],
  [netflowPort, countNetflow],
]) {
  const s = createSocket('udp4');
  s.on('message', count);
  s.bind(port, '127.0.0.1');
  s.on('listening', () => {
    s.bound = true;
    if (socks.every((x) => x.bound)) process.stdout.write('listening\n');
  });
  socks.push(s);
}

let done = false;
function finish() {
  if (done) return;
  done = true;
  process.stdout.write(`${JSON.stringify({ sflow, netflow })}\n`, () => process.exit(0));
}
process.on('SIGTERM', finish);
process.on('SIGINT', finish);
process.stdin.on('end', finish);
process.stdin.resume();
setTimeout(finish, (maxSeconds || 60) * 1000).unref();
setInterval(() => process.stdout.write(`${JSON.stringify({ sflow, netflow })}\n`), 200).unref();
