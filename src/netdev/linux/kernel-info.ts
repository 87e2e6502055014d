/**
 * What the kernel tells about a device beyond its flags: counters (/proc/net/dev of the
 * calling thread's namespace), driver identity (ethtool -i) and link speed (sysfs). None of
 * these are on a per-packet path: the switch reads them when it writes status back.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The counters of struct rtnl_link_stats64 that /proc/net/dev shows. */
export interface KernelStats {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  rxFifoErrors: number;
  rxFrameErrors: number;
  rxMulticast: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
  txFifoErrors: number;
  collisions: number;
  txCarrierErrors: number;
}

/** Parses the /proc/net/dev line of `name`; undefined when the device is not listed. */
export function parseProcNetDev(text: string, name: string): KernelStats | undefined {
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim() !== name) continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map((s) => Number(s));
    if (f.length < 16 || f.some((x) => !Number.isFinite(x))) return undefined;
    return {
      rxBytes: f[0],
      rxPackets: f[1],
      rxErrors: f[2],
      rxDropped: f[3],
      rxFifoErrors: f[4],
      rxFrameErrors: f[5],
      rxMulticast: f[7],
      txBytes: f[8],
      txPackets: f[9],
      txErrors: f[10],
      txDropped: f[11],
      txFifoErrors: f[12],
      collisions: f[13],
      txCarrierErrors: f[14],
    };
  }
  return undefined;
}

/** The device's counters in the calling thread's network namespace, if it is there. */
export function readKernelStats(name: string): KernelStats | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/thread-self/net/dev', 'utf8');
  } catch {
    return undefined;
  }
  return parseProcNetDev(text, name);
}

export interface DriverInfo {
  driver: string;
  version: string;
  firmware: string;
}

/** Parses `ethtool -i` output (driver:, version:, firmware-version: lines). */
export function parseEthtoolDriverInfo(text: string): DriverInfo | undefined {
  const get = (key: string): string | undefined => {
    const m = new RegExp(`^${key}:[ \\t]*(.*)$`, 'm').exec(text);
    return m ? m[1].trim() : undefined;
  };
  const driver = get('driver');
  if (driver === undefined || driver === '') return undefined;
  return { driver, version: get('version') ?? '', firmware: get('firmware-version') ?? '' };
}

/** The device's driver as ethtool reports it; undefined when the device or tool cannot say. */
export function readDriverInfo(name: string): DriverInfo | undefined {
  try {
    const out = execFileSync('ethtool', ['-i', name], {
      encoding: 'utf8',
      timeout: 2000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return parseEthtoolDriverInfo(out);
  } catch {
    return undefined;
  }
}

/**
 * Link speed in bits per second from sysfs (Mb/s there); undefined when sysfs cannot say,
 * which it does for a device that is down (ethtool still can: see readEthtoolSpeedBps).
 */
export function readSpeedBps(name: string): number | undefined {
  try {
    const mbps = Number(readFileSync(`/sys/class/net/${name}/speed`, 'utf8').trim());
    return Number.isFinite(mbps) && mbps > 0 ? mbps * 1_000_000 : 0;
  } catch {
    return undefined;
  }
}

/** Parses the "Speed: 10000Mb/s" line of `ethtool DEV`; 0 when unknown. */
export function parseEthtoolSpeedBps(text: string): number {
  const m = /^\s*Speed:\s*(\d+)\s*Mb\/s/m.exec(text);
  return m ? Number(m[1]) * 1_000_000 : 0;
}

/** Link speed as ethtool reports it (also for a device that is down); 0 when unknown. */
export function readEthtoolSpeedBps(name: string): number {
  try {
    const out = execFileSync('ethtool', [name], {
      encoding: 'utf8',
      timeout: 2000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return parseEthtoolSpeedBps(out);
  } catch {
    return 0;
  }
}
