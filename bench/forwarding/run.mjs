// bench/forwarding: one switch between two network namespaces on veth links; TypeSwitch, real
// Open vSwitch 3.1 (userspace datapath) and the Linux bridge in one run (see bench.ts).
// Usage: node bench/forwarding/run.mjs [--quick] [--json] [--kinds ours,real,linux]
//          [--cases udp-1,udp-10k,tcp]
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// tsx from the project's node_modules: the bench imports the netns harness in test/.
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', join(here, 'bench.ts'), ...process.argv.slice(2)],
  { stdio: 'inherit', cwd: join(here, '..', '..'), timeout: 600_000 },
);
process.exitCode = r.status ?? 1;
