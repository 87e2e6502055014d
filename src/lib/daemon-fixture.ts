// A minimal daemon for daemon.test.ts: start-up through startDaemon(), a "crash" command that
// throws from a timer (an uncaught exception, as a bug would), then ready().
import { startDaemon } from './daemon.ts';

try {
  const daemon = await startDaemon({ program: 'ts-fixture' });
  daemon.unixctl?.commands.register('crash', '', 0, 0, () => {
    setTimeout(() => {
      throw new Error('boom');
    }, 10);
    return 'crashing';
  });
  daemon.unixctl?.commands.register('cwd', '', 0, 0, () => process.cwd());
  daemon.addMemoryReporter(() => ({ cells: 3, atoms: 2 }));
  daemon.ready();
} catch (err) {
  process.stderr.write(`ts-fixture: ${(err as Error).message}\n`);
  process.exit(1);
}
