// Child process of pmd.test.ts: a datapath whose PMD worker drives a veth of the test's
// namespace, then ended one of two ways ("close": close everything and let the process run
// out; "exit": process.exit while the worker runs). Prints "up" once the worker has the port.
import { inNetns } from '../native/netdev-ioctl.ts';
import { NetdevRegistry } from '../netdev/registry.ts';
import { DpifNetdev } from './dpif-netdev.ts';

const [netns, dev, mode] = process.argv.slice(2);
const registry = new NetdevRegistry({ enableDummy: false, override: false, linux: true });
const dpif = inNetns(netns, () => new DpifNetdev('netdev', false, registry));
inNetns(netns, () => dpif.portAdd(registry.open(dev, 'system')));
await dpif.syncStats();
process.stdout.write(dpif.pmdRunning ? 'up\n' : 'no worker\n');
if (mode === 'exit') process.exit(0);
await dpif.close();
for (const p of [...dpif.ports()]) p.netdev.close();
