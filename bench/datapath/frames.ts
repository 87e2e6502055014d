/*
 * Test traffic: Ethernet/IPv4/UDP frames written byte by byte (not with the project's packet
 * composer, so a defect there cannot flatter the numbers). 64 bytes each, as a traffic
 * generator's "64-byte frame" without the 4-byte FCS: the minimum Ethernet frame.
 */

export const FRAME_LEN = 64;

export interface UdpFlow {
  readonly srcIp: number;
  readonly dstIp: number;
  readonly srcPort: number;
  readonly dstPort: number;
}

export function udpFrame(f: UdpFlow, len = FRAME_LEN): Uint8Array {
  const b = new Uint8Array(len);
  // dl_dst 50:54:00:00:00:02, dl_src 50:54:00:00:00:01, IPv4.
  b.set([0x50, 0x54, 0, 0, 0, 2, 0x50, 0x54, 0, 0, 0, 1, 0x08, 0x00], 0);
  const ipLen = len - 14;
  b[14] = 0x45;
  b[16] = ipLen >> 8;
  b[17] = ipLen & 0xff;
  b[22] = 64; // ttl
  b[23] = 17; // udp
  put32(b, 26, f.srcIp);
  put32(b, 30, f.dstIp);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += (b[i] << 8) | b[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const ck = ~sum & 0xffff;
  b[24] = ck >> 8;
  b[25] = ck & 0xff;
  b[34] = f.srcPort >> 8;
  b[35] = f.srcPort & 0xff;
  b[36] = f.dstPort >> 8;
  b[37] = f.dstPort & 0xff;
  const udpLen = ipLen - 20;
  b[38] = udpLen >> 8;
  b[39] = udpLen & 0xff;
  return b;
}

function put32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = (v >>> 16) & 0xff;
  b[p + 2] = (v >>> 8) & 0xff;
  b[p + 3] = v & 0xff;
}
