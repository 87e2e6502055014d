/**
 * time/stop and time/warp, the clock commands OVS's daemons offer under --enable-dummy so that
 * tests can age flows and MAC entries without waiting.
 */
import { parseWarpArgs, TimeWarpError, timeStop, timeWarp } from '../timeval.ts';
import { type UnixctlCommands, UnixctlError } from './server.ts';

export function registerTimeCommands(cmds: UnixctlCommands): void {
  cmds.register('time/stop', '', 0, 0, () => {
    timeStop();
    return undefined;
  });
  cmds.register('time/warp', '[large_msecs] msecs', 1, 2, async (args) => {
    const { total, step } = parseWarpArgs(args);
    try {
      await timeWarp(total, step);
    } catch (e) {
      if (e instanceof TimeWarpError) throw new UnixctlError(e.message);
      throw e;
    }
    return 'warped';
  });
}
