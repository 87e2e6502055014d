/**
 * Test fixture: a network namespace of the test's own, named with a prefix and the test's PID,
 * for tests that need real interfaces. Nothing is created outside it; destroy() (called from
 * an `after` hook) deletes it and with it every veth and TAP device inside.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface TestNetns {
  readonly name: string;
  /** Runs a command inside the namespace (`ip netns exec`), returns its stdout. */
  exec(cmd: string, ...args: string[]): string;
  /** Runs `ip -n NS ...`. */
  ip(...args: string[]): string;
  /** veth pair a <-> b inside the namespace, both up, transmit checksum offload off. */
  addVeth(a: string, b: string): void;
  destroy(): void;
}

let counter = 0;

/** Why the namespace tests cannot run here, or '' when they can. */
export function netnsUnavailable(): string {
  if (process.getuid?.() !== 0) return 'needs root for network namespaces';
  if (!existsSync('/usr/sbin/ip') && !existsSync('/sbin/ip') && !existsSync('/usr/bin/ip'))
    return 'needs iproute2';
  return '';
}

export function createTestNetns(prefix: string): TestNetns {
  const name = `${prefix}-${process.pid}-${counter++}`;
  const run = (cmd: string, args: string[]): string =>
    execFileSync(cmd, args, {
      encoding: 'utf8',
      timeout: 20_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  run('ip', ['netns', 'add', name]);
  let alive = true;
  const ns: TestNetns = {
    name,
    exec: (cmd, ...args) => run('ip', ['netns', 'exec', name, cmd, ...args]),
    ip: (...args) => run('ip', ['-n', name, ...args]),
    addVeth(a, b) {
      ns.ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
      for (const dev of [a, b]) {
        ns.ip('link', 'set', dev, 'up');
        try {
          ns.exec('ethtool', '-K', dev, 'tx', 'off');
        } catch {
          // ethtool missing: only checksums of kernel-generated frames are affected.
        }
      }
    },
    destroy() {
      if (!alive) return;
      alive = false;
      try {
        run('ip', ['netns', 'del', name]);
      } catch {
        // Already gone.
      }
    },
  };
  try {
    // Keep the kernel's own IPv6 chatter (router and neighbour solicitations, MLD) off the
    // test links, so the frames seen are the ones the test sent.
    ns.exec(
      'sysctl',
      '-qw',
      'net.ipv6.conf.all.disable_ipv6=1',
      'net.ipv6.conf.default.disable_ipv6=1',
    );
    ns.ip('link', 'set', 'lo', 'up');
  } catch (err) {
    ns.destroy();
    throw err;
  }
  return ns;
}
