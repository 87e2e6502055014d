// npm run bench: every benchmark, each comparing TypeSwitch with real Open vSwitch in one run.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
for (const bench of [
  'ovsdb/run.mjs',
  'vsctl/run.mjs',
  'datapath/run.mjs',
  'forwarding/run.mjs',
  'openflow/run.mjs',
  'visibility/run.mjs',
]) {
  const r = spawnSync(process.execPath, [join(here, bench), ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = 1;
}
