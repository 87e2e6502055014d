// bench/openflow: flow table programming (ovs-ofctl add-flows / dump-flows / del-flows of
// 100,000 flows) and packet-in round trips with a controller, TypeSwitch beside real Open
// vSwitch 3.1 in one run (see bench.ts).
// Usage: node bench/openflow/run.mjs [--quick] [--json] [--flows N] [--rounds N] [--kinds real,ours]
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// tsx from the project's node_modules: the controller encodes with our OpenFlow codec.
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', join(here, 'bench.ts'), ...process.argv.slice(2)],
  { stdio: 'inherit', cwd: join(here, '..', '..'), timeout: 900_000 },
);
process.exitCode = r.status ?? 1;
