/**
 * Starts one switch of bench/openflow (br0, dummy ports p1 and p2) and keeps it, printing its run directory, mgmt target and ovs-vswitchd PID: for
 * strace/perf on one side of the benchmark by hand. It stops on SIGTERM or SIGINT, or after
 * HOLD_SECONDS (default 900).
 * Usage: [HOLD_NODE_ARGS='--perf-basic-prof'] node --import tsx bench/openflow/hold.ts [ours|real]
 */
import { type StackKind, SwitchStack } from '../lib/switch-stack.ts';

const kind = (process.argv[2] ?? 'ours') as StackKind;
const nodeArgs = (process.env.HOLD_NODE_ARGS ?? '').split(' ').filter(Boolean);
const s = await SwitchStack.start(kind, { nodeArgs });
s.vsctl(
  'add-br',
  'br0',
  '--',
  'set',
  'bridge',
  'br0',
  'datapath_type=dummy',
  'fail_mode=secure',
  'protocols=OpenFlow10,OpenFlow13',
  '--',
  'add-port',
  'br0',
  'p1',
  '--',
  'set',
  'interface',
  'p1',
  'type=dummy',
  'ofport_request=1',
  '--',
  'add-port',
  'br0',
  'p2',
  '--',
  'set',
  'interface',
  'p2',
  'type=dummy',
  'ofport_request=2',
);
console.log(JSON.stringify({ dir: s.dir, mgmt: s.mgmt('br0'), pid: s.vswitchdPid }));
const stop = async (): Promise<void> => {
  await s.stop();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
setTimeout(() => void stop(), Number(process.env.HOLD_SECONDS ?? 900) * 1000);
