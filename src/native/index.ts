/**
 * The native addon (src/native/typeswitch-native.c), loaded once on first use. It is built
 * by `npm install` (node-gyp, from binding.gyp); when it is missing the callers degrade as
 * documented where they use it, and `nativeAddon()` says why.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pkgroot } from '../lib/paths.ts';

export interface NativeAddon {
  /** fcntl(F_SETLK, F_WRLCK) on the whole file: true if this process now holds the lock. */
  fcntlLock(fd: number): boolean;
  /** fcntl(F_GETLK): the PID of another process holding a write lock on the file, or 0. */
  fcntlLockOwner(fd: number): number;
}

let loaded: NativeAddon | null | undefined;
let loadError = '';

export function nativeAddon(): NativeAddon | null {
  if (loaded !== undefined) return loaded;
  const path = join(pkgroot(), 'build', 'Release', 'typeswitch_native.node');
  try {
    loaded = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    loaded = null;
    loadError = `${path}: ${(err as Error).message}`;
  }
  return loaded;
}

export function nativeAddonError(): string {
  return loadError;
}
