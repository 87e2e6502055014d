import { type PidfileLocker, setPidfileLocker } from '../lib/pidfile.ts';
import { nativeAddon } from './index.ts';

/**
 * Makes pidfiles carry OVS's fcntl write lock, so that real `ovs-appctl -t NAME` accepts our
 * daemons (it trusts a pidfile only while its PID holds the lock). Returns false when the addon
 * is not built; pidfiles then work for our own tools only.
 */
export function installPidfileLocker(): boolean {
  const addon = nativeAddon();
  if (!addon) return false;
  const locker: PidfileLocker = {
    lock: (fd) => addon.fcntlLock(fd),
    owner: (fd) => addon.fcntlLockOwner(fd),
  };
  setPidfileLocker(locker);
  return true;
}
