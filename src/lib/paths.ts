import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where TypeSwitch keeps its files. OVS's environment variables win, so that a real
 * ovs-vsctl or ovs-appctl pointed at the same OVS_RUNDIR finds our sockets. Without them we
 * use an embedded default under the user's home (no root needed), not /var/run/openvswitch.
 */
export function typeswitchHome(): string {
  return process.env.TYPESWITCH_HOME ?? join(homedir(), '.typeswitch');
}
export function rundir(): string {
  return process.env.OVS_RUNDIR ?? join(typeswitchHome(), 'run');
}
export function dbdir(): string {
  return process.env.OVS_DBDIR ?? join(typeswitchHome(), 'db');
}
export function logdir(): string {
  return process.env.OVS_LOGDIR ?? join(typeswitchHome(), 'log');
}
export function sysconfdir(): string {
  return process.env.OVS_SYSCONFDIR ?? join(typeswitchHome(), 'etc');
}
/** The package's root directory (where schema/ lives), found from this module's location. */
export function pkgroot(): string {
  // src/lib/paths.ts in development, dist/cli/<bundle>.js once built: walk up to package.json.
  let dir = dirname(fileURLToPath(import.meta.url));
  while (dirname(dir) !== dir && !existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}
/** OVS_PKGDATADIR or our schema/ folder: where vswitch.ovsschema and _server.ovsschema are. */
export function pkgdatadir(): string {
  return process.env.OVS_PKGDATADIR ?? join(pkgroot(), 'schema');
}
/** The default database file, as `ovsdb-tool create` and ovsdb-server use it. */
export function defaultDbPath(): string {
  return join(dbdir(), 'conf.db');
}
export function defaultSchemaPath(): string {
  return join(pkgdatadir(), 'vswitch.ovsschema');
}
/** The database server's default socket, as ovs-vsctl and ovsdb-client look for it. */
export function defaultDbSocket(): string {
  return join(rundir(), 'db.sock');
}
