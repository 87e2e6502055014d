/**
 * The version line every TypeSwitch program prints for `--version` and unixctl `version`.
 * Real OVS prints `ovsdb-server (Open vSwitch) 3.1.0`; we keep that shape with our own name in
 * the parentheses, `ovsdb-server (TypeSwitch) 0.1.0`, so scripts that split the line on spaces
 * still find the program first and the version last, without us claiming to be OVS.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pkgroot } from '../paths.ts';

let cached: string | undefined;

export function packageVersion(): string {
  if (cached === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(join(pkgroot(), 'package.json'), 'utf8')) as {
        version?: string;
      };
      cached = pkg.version ?? '0.0.0';
    } catch {
      cached = '0.0.0';
    }
  }
  return cached;
}

export function versionString(program: string): string {
  return `${program} (TypeSwitch) ${packageVersion()}`;
}

/** The OVS release whose tools, protocols and schema TypeSwitch is compatible with. */
export const OVS_COMPAT_VERSION = '3.1.0';

/**
 * The start-up line a daemon logs. It names the OVS release we are compatible with in OVS's own
 * words, because scripts (OVS's test suite among them) filter that line out of a daemon's
 * start-up output by its text, then our own name and version.
 */
export function startupBanner(program: string): string {
  return `${program} (Open vSwitch) ${OVS_COMPAT_VERSION}, TypeSwitch ${packageVersion()}`;
}
