// bench/visibility: forwarding rate with sFlow (1 in 64) and with NetFlow, each against the
// same switch's rate without, TypeSwitch beside real Open vSwitch 3.1 in one run (see bench.ts).
// Usage: node bench/visibility/run.mjs [--quick] [--json] [--rounds N] [--kinds ours,real]
//          [--cases udp-1,udp-10k]
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// tsx from the project's node_modules: the bench imports bench/forwarding and the netns harness.
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', join(here, 'bench.ts'), ...process.argv.slice(2)],
  { stdio: 'inherit', cwd: join(here, '..', '..'), timeout: 900_000 },
);
process.exitCode = r.status ?? 1;
