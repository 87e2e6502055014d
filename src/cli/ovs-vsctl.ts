/** ovs-vsctl: configure Open vSwitch through its database (drop-in for OVS's ovs-vsctl(8)). */
import { main } from './vsctl/main.ts';

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`ovs-vsctl: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
