/**
 * Starts one switch of bench/openflow (br0, dummy ports p1 and p2) and keeps it, printing its
 * run directory, mgmt target and ovs-vswitchd PID: for strace/perf on one side of the
 * benchmark by hand. It stops on SIGTERM or SIGINT, or after
 * HOLD_SECONDS (default 900).
 * Usage: [HOLD_NODE_ARGS='--perf-basic-prof'] node --import tsx bench/openflow/hold.ts [ours|real]
 */
import { type StackKind, SwitchStack } from '../lib/switch-stack.ts';
import { BENCH_BRIDGE_VSCTL } from './flows.ts';

const kind = (process.argv[2] ?? 'ours') as StackKind;
const nodeArgs = (process.env.HOLD_NODE_ARGS ?? '').split(' ').filter(Boolean);
const s = await SwitchStack.start(kind, { nodeArgs });
s.vsctl(...BENCH_BRIDGE_VSCTL);
console.log(JSON.stringify({ dir: s.dir, mgmt: s.mgmt('br0'), pid: s.vswitchdPid }));
const stop = async (): Promise<void> => {
  await s.stop();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
setTimeout(() => void stop(), Number(process.env.HOLD_SECONDS ?? 900) * 1000);
