/**
 * Side by side runs of our ovs-ofctl and real ovs-ofctl 3.1 against one real ovs-vswitchd
 * (--enable-dummy, a dummy bridge br0 with dummy ports p1 and p2 as OpenFlow ports 1 and 2) and
 * a real ovsdb-server in a temp dir. Durations and ages, which differ between two runs, are
 * masked; everything else (stdout, stderr, exit status) is compared as is. Writes are compared
 * by the switch state they leave, dumped by real ovs-ofctl.
 */
import { spawnSync } from 'node:child_process';
import { ourCli } from './ovs-vsctl-harness.ts';
import { dummyBridge, type Stack, startStack, stopStack, vsctl } from './vswitchd-harness.ts';

/* By name, as a user types it: getopt's messages start with argv[0]. */
export const REAL_OFCTL = 'ovs-ofctl';

export interface Switch {
  stack: Stack;
  ours: string;
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export async function startSwitch(): Promise<Switch> {
  const ours = ourCli('ovs-ofctl');
  const stack = await startStack({ which: 'real', ovsdb: 'real' });
  const r = vsctl(stack, [...dummyBridge('br0', [1, 2])]);
  if (r.status !== 0) {
    stopStack(stack);
    throw new Error(`add-br: ${r.stderr}`);
  }
  return { stack, ours };
}

export function stopSwitch(sw: Switch): void {
  stopStack(sw.stack);
}

/** Masks what legitimately differs between two runs: durations, ages, log timestamps. */
export function mask(s: string): string {
  return s
    .replace(/duration=[0-9.]+s/g, 'duration=X')
    .replace(/duration:[0-9.]+s/g, 'duration:X')
    .replace(/idle_age=[0-9]+/g, 'idle_age=X')
    .replace(/hard_age=[0-9]+/g, 'hard_age=X')
    .replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|\d+\|/gm, 'TS|N|');
}

export function run(sw: Switch, which: 'real' | 'ours', args: string[], input?: string): Run {
  const [cmd, argv] =
    which === 'real' ? [REAL_OFCTL, args] : [process.execPath, [sw.ours, ...args]];
  const r = spawnSync(cmd, argv, {
    encoding: 'utf8',
    env: sw.stack.env,
    input,
    timeout: 20000,
  });
  return { status: r.status, stdout: mask(r.stdout), stderr: mask(r.stderr) };
}

export function real(sw: Switch, args: string[]): Run {
  return run(sw, 'real', args);
}

/** The switch's flows, groups and meters as real ovs-ofctl prints them (flows sorted). */
export function switchState(sw: Switch): string {
  const flows = real(sw, ['-O', 'OpenFlow15', '--no-stats', 'dump-flows', 'br0']).stdout;
  const groups = real(sw, ['-O', 'OpenFlow15', 'dump-groups', 'br0']).stdout;
  const meters = real(sw, ['-O', 'OpenFlow15', 'dump-meters', 'br0']).stdout;
  return `${flows.split('\n').sort().join('\n')}\n${groups}${meters}`;
}

/** Empties the switch's tables, groups and meters, then installs `flows` with real ovs-ofctl. */
export function resetSwitch(sw: Switch, flows: string[] = []): void {
  for (const c of ['del-flows', 'del-groups', 'del-meters']) {
    const r = real(sw, ['-O', 'OpenFlow15', c, 'br0']);
    if (r.status !== 0) throw new Error(`${c}: ${r.stderr}`);
  }
  for (const f of flows) {
    const r = real(sw, ['-O', 'OpenFlow13', 'add-flow', 'br0', f]);
    if (r.status !== 0) throw new Error(`add-flow ${f}: ${r.stderr}`);
  }
}

export interface WriteResult {
  run: Run;
  state: string;
}

/**
 * Runs a writing command with one tool from the same starting state (`setup` flows) and
 * returns what it printed and the switch state it left.
 */
export function writeWith(
  sw: Switch,
  which: 'real' | 'ours',
  args: string[],
  setup: string[],
  input?: string,
): WriteResult {
  resetSwitch(sw, setup);
  const r = run(sw, which, args, input);
  return { run: r, state: switchState(sw) };
}
