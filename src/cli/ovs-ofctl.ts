/**
 * ovs-ofctl: OpenFlow switch management, byte-compatible with Open vSwitch 3.1's ovs-ofctl.
 * The implementation lives in ./ofctl/; this entry only runs it and sets the exit status once
 * stdout has drained.
 */
import { main } from './ofctl/main.ts';

const status = await main(process.argv.slice(2));
process.exitCode = status;
// monitor/snoop and half-closed sockets must not keep us alive once a command is done.
const done = (): void => process.exit(status);
if (process.stdout.writableNeedDrain) process.stdout.once('drain', done);
else setImmediate(done);
