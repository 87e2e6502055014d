// The shell-scenario harness of the *-at-compat tests: one scenario, run with real OVS 3.1's
// tools and then with ours first on the PATH, each in a fresh directory.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, ROOT } from './ovsdb-server-harness.ts';

export const HAVE_REAL =
  existsSync('/usr/sbin/ovsdb-server') && existsSync('/usr/bin/ovsdb-client');

const SCHEMA = JSON.stringify({
  name: 'ordinals',
  version: '5.1.3',
  tables: {
    ordinals: {
      columns: { number: { type: 'integer' }, name: { type: 'string' } },
      indexes: [['number']],
    },
  },
});

const SCHEMA2 = JSON.stringify({
  name: 'mydb',
  tables: {
    Root: {
      columns: {
        managers: {
          type: { key: { type: 'uuid', refTable: 'Manager' }, min: 0, max: 'unlimited' },
        },
      },
    },
    Manager: {
      columns: {
        target: { type: 'string' },
        read_only: { type: { key: 'boolean', min: 0, max: 1 } },
      },
    },
    things: { columns: { n: { type: 'integer' } } },
  },
});

export type Impl = 'real' | 'ours';

/** Runs a bash scenario with one implementation's tools first on the PATH. */
export function scenario(impl: Impl, script: string): { out: string; status: number | null } {
  const dir = mkdtempSync(join(tmpdir(), `ts-atcompat-${impl}-`));
  try {
    writeFileSync(join(dir, 'schema'), SCHEMA);
    writeFileSync(join(dir, 'schema2'), SCHEMA2);
    const path = impl === 'ours' ? `${join(ROOT, 'bin')}:/usr/bin:/bin` : '/usr/sbin:/usr/bin:/bin';
    const r = spawnSync('/bin/bash', ['-c', `exec 2>&1; cd "${dir}"\n${script}`], {
      encoding: 'utf8',
      timeout: 40_000,
      env: {
        PATH: path,
        HOME: dir,
        OVS_RUNDIR: dir,
        OVS_LOGDIR: dir,
        OVS_DBDIR: dir,
        OVS_SYSCONFDIR: dir,
        OVS_PKGDATADIR: dir,
      },
    });
    return { out: `${r.stdout}${r.stderr}`, status: r.status };
  } finally {
    // Whatever the script left running was started with --pidfile in `dir`.
    spawnSync('/bin/sh', ['-c', `cd "${dir}" && for p in *.pid; do kill $(cat $p); done`], {
      stdio: 'ignore',
      timeout: 5000,
    });
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the scenario with both; returns ours, after checking real says the same. */
export function both(script: string, check: (out: string) => void): void {
  ensureBuilt();
  const real = scenario('real', script);
  check(real.out);
  const ours = scenario('ours', script);
  check(ours.out);
}

export const INSERT = (n: number, name: string): string =>
  `'["ordinals",{"op":"insert","table":"ordinals","row":{"number":${n},"name":"${name}"}}]'`;
