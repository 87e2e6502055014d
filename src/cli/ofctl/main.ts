/*
 * ovs-ofctl's entry: options, the command table (names and argument counts as OVS's), and the
 * one place where failures become "ovs-ofctl: MESSAGE" on stderr with exit status 1.
 */

import { setProgramName, vlog } from '../../lib/vlog.ts';
import { cmdBundle } from './bundle.ts';
import { Ctx } from './ctx.ts';
import {
  cmdBenchmark,
  cmdDumpDesc,
  cmdDumpPorts,
  cmdDumpPortsDesc,
  cmdDumpTables,
  cmdGetFrags,
  cmdModPort,
  cmdOfpParse,
  cmdPing,
  cmdProbe,
  cmdQueueStats,
  cmdSetFrags,
  cmdShow,
} from './dumps.ts';
import { OfctlFatal } from './errors.ts';
import { cmdDiffFlows, cmdReplaceFlows } from './flow-tables.ts';
import { cmdDumpAggregate, cmdDumpFlows, cmdFlowMod } from './flows.ts';
import {
  cmdDumpGroupFeatures,
  cmdDumpGroupStats,
  cmdDumpGroups,
  cmdGroupMod,
  cmdMeterMod,
  cmdMeterRequest,
} from './groups.ts';
import { registerModules } from './log.ts';
import {
  cmdCheckVlan,
  cmdParseNxm,
  cmdParseOfp10Match,
  cmdParseOfp11Match,
} from './match-tests.ts';
import { cmdMonitor } from './monitor.ts';
import { cmdCtFlush, cmdCtFlushZone, cmdDumpIpfix, cmdDumpTlvMap, cmdTlvMod } from './nx-tools.ts';
import { parseOptions } from './options.ts';
import { cmdPacketOut } from './packet-out.ts';
import { cmdOfpParsePcap, cmdParsePcap } from './pcap.ts';
import { cmdDumpTableFeatures } from './table-features.ts';
import { cmdDumpTableDesc, cmdModTable, cmdQueueGetConfig } from './tables.ts';
import {
  cmdEncodeErrorReply,
  cmdOfpPrint,
  cmdParseFlow,
  cmdParseFlows,
  cmdPrintError,
} from './testing.ts';
import { listCommandsText, optionListText, usageText, versionText } from './usage.ts';

type Handler = (ctx: Ctx, args: string[]) => Promise<number | undefined> | Promise<void> | void;

interface Command {
  min: number;
  max: number;
  rw: boolean;
  run: Handler;
}

const INF = Number.MAX_SAFE_INTEGER;

const COMMANDS: Record<string, Command> = {
  show: { min: 1, max: 1, rw: false, run: cmdShow },
  monitor: { min: 1, max: 3, rw: false, run: (c, a) => cmdMonitor(c, a, false) },
  snoop: { min: 1, max: 1, rw: false, run: (c, a) => cmdMonitor(c, a, true) },
  'dump-desc': { min: 1, max: 1, rw: false, run: cmdDumpDesc },
  'dump-tables': { min: 1, max: 1, rw: false, run: cmdDumpTables },
  'dump-table-features': { min: 1, max: 1, rw: false, run: cmdDumpTableFeatures },
  'dump-table-desc': { min: 1, max: 1, rw: false, run: cmdDumpTableDesc },
  'dump-flows': { min: 1, max: 2, rw: false, run: cmdDumpFlows },
  'dump-aggregate': { min: 1, max: 2, rw: false, run: cmdDumpAggregate },
  'queue-stats': { min: 1, max: 3, rw: false, run: cmdQueueStats },
  'queue-get-config': { min: 1, max: 3, rw: false, run: cmdQueueGetConfig },
  'add-flow': { min: 2, max: 2, rw: true, run: (c, a) => cmdFlowMod(c, a, 'add') },
  'add-flows': { min: 2, max: 2, rw: true, run: (c, a) => cmdFlowMod(c, a, 'file-add') },
  'mod-flows': {
    min: 2,
    max: 2,
    rw: true,
    run: (c, a) => cmdFlowMod(c, a, c.o.strict ? 'modify_strict' : 'modify'),
  },
  'del-flows': {
    min: 1,
    max: 2,
    rw: true,
    run: (c, a) => cmdFlowMod(c, a, c.o.strict ? 'delete_strict' : 'delete'),
  },
  'replace-flows': { min: 2, max: 2, rw: true, run: cmdReplaceFlows },
  'diff-flows': { min: 2, max: 2, rw: true, run: cmdDiffFlows },
  'add-meter': { min: 2, max: 2, rw: true, run: (c, a) => cmdMeterMod(c, a, 'add') },
  'mod-meter': { min: 2, max: 2, rw: true, run: (c, a) => cmdMeterMod(c, a, 'modify') },
  'del-meter': { min: 1, max: 2, rw: true, run: (c, a) => cmdMeterMod(c, a, 'delete') },
  'del-meters': { min: 1, max: 2, rw: true, run: (c, a) => cmdMeterMod(c, a, 'delete') },
  'dump-meter': { min: 1, max: 2, rw: false, run: (c, a) => cmdMeterRequest(c, a, 'meter_config') },
  'dump-meters': {
    min: 1,
    max: 2,
    rw: false,
    run: (c, a) => cmdMeterRequest(c, a, 'meter_config'),
  },
  'meter-stats': { min: 1, max: 2, rw: false, run: (c, a) => cmdMeterRequest(c, a, 'meter') },
  'meter-features': {
    min: 1,
    max: 1,
    rw: false,
    run: (c, a) => cmdMeterRequest(c, a, 'meter_features'),
  },
  'packet-out': { min: 2, max: INF, rw: true, run: cmdPacketOut },
  'dump-ports': { min: 1, max: 2, rw: false, run: cmdDumpPorts },
  'dump-ports-desc': { min: 1, max: 2, rw: false, run: cmdDumpPortsDesc },
  'mod-port': { min: 3, max: 3, rw: true, run: cmdModPort },
  'mod-table': { min: 3, max: 3, rw: true, run: cmdModTable },
  'get-frags': { min: 1, max: 1, rw: false, run: cmdGetFrags },
  'set-frags': { min: 2, max: 2, rw: true, run: cmdSetFrags },
  probe: { min: 1, max: 1, rw: false, run: cmdProbe },
  ping: { min: 1, max: 2, rw: false, run: cmdPing },
  benchmark: { min: 3, max: 3, rw: false, run: cmdBenchmark },
  'dump-ipfix-bridge': { min: 1, max: 1, rw: false, run: (c, a) => cmdDumpIpfix(c, a, false) },
  'dump-ipfix-flow': { min: 1, max: 1, rw: false, run: (c, a) => cmdDumpIpfix(c, a, true) },
  'ct-flush-zone': { min: 2, max: 2, rw: false, run: cmdCtFlushZone },
  'ct-flush': { min: 1, max: 4, rw: false, run: cmdCtFlush },
  'ofp-parse': { min: 1, max: 1, rw: true, run: cmdOfpParse },
  'ofp-parse-pcap': { min: 1, max: INF, rw: true, run: cmdOfpParsePcap },
  'add-group': { min: 1, max: 2, rw: true, run: (c, a) => cmdGroupMod(c, a, 'add') },
  'add-groups': { min: 2, max: 2, rw: true, run: (c, a) => cmdGroupMod(c, a, 'file-add') },
  'mod-group': { min: 1, max: 2, rw: true, run: (c, a) => cmdGroupMod(c, a, 'modify') },
  'del-groups': { min: 1, max: 2, rw: true, run: (c, a) => cmdGroupMod(c, a, 'delete') },
  'insert-buckets': { min: 1, max: 2, rw: true, run: (c, a) => cmdGroupMod(c, a, 'insert_bucket') },
  'remove-buckets': { min: 1, max: 2, rw: true, run: (c, a) => cmdGroupMod(c, a, 'remove_bucket') },
  'dump-groups': { min: 1, max: 2, rw: false, run: cmdDumpGroups },
  'dump-group-stats': { min: 1, max: 2, rw: false, run: cmdDumpGroupStats },
  'dump-group-features': { min: 1, max: 1, rw: false, run: cmdDumpGroupFeatures },
  bundle: { min: 2, max: 2, rw: true, run: cmdBundle },
  'add-tlv-map': { min: 2, max: 2, rw: false, run: (c, a) => cmdTlvMod(c, a, true) },
  'del-tlv-map': { min: 1, max: 2, rw: false, run: (c, a) => cmdTlvMod(c, a, false) },
  'dump-tlv-map': { min: 1, max: 1, rw: false, run: cmdDumpTlvMap },
  'parse-flow': { min: 1, max: 1, rw: true, run: cmdParseFlow },
  'parse-flows': { min: 1, max: 1, rw: true, run: cmdParseFlows },
  'check-vlan': { min: 2, max: 2, rw: true, run: cmdCheckVlan },
  'parse-pcap': { min: 1, max: INF, rw: true, run: cmdParsePcap },
  'parse-nx-match': { min: 0, max: 0, rw: true, run: (c, a) => cmdParseNxm(c, a, false) },
  'parse-nxm': { min: 0, max: 0, rw: true, run: (c, a) => cmdParseNxm(c, a, false) },
  'parse-oxm': { min: 1, max: 1, rw: true, run: (c, a) => cmdParseNxm(c, a, true) },
  'parse-ofp10-match': { min: 0, max: 0, rw: true, run: cmdParseOfp10Match },
  'parse-ofp11-match': { min: 0, max: 0, rw: true, run: cmdParseOfp11Match },
  'print-error': { min: 1, max: 1, rw: true, run: cmdPrintError },
  'encode-error-reply': { min: 2, max: 2, rw: true, run: cmdEncodeErrorReply },
  'ofp-print': { min: 1, max: 2, rw: true, run: cmdOfpPrint },
  'list-commands': {
    min: 0,
    max: INF,
    rw: false,
    run: (c) => {
      c.out(listCommandsText());
    },
  },
  help: {
    min: 0,
    max: INF,
    rw: false,
    run: (c) => {
      c.out(usageText());
    },
  },
};

/* OVS's fatal_signal module: a terminating signal is logged, then delivered again so that
 * the exit status says which signal it was. */
function installFatalSignals(): void {
  const names: Array<[NodeJS.Signals, number, string]> = [
    ['SIGTERM', 15, 'Terminated'],
    ['SIGINT', 2, 'Interrupt'],
    ['SIGHUP', 1, 'Hangup'],
    ['SIGALRM', 14, 'Alarm clock'],
  ];
  for (const [sig, no, text] of names) {
    process.once(sig, () => {
      vlog('fatal_signal').warn(`terminating with signal ${no} (${text})`);
      process.kill(process.pid, sig);
    });
  }
}

/** Runs ovs-ofctl with `argv` (without the program name); resolves to the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  setProgramName('ovs-ofctl');
  registerModules();
  const out = (s: string): void => {
    if (s) process.stdout.write(s);
  };
  const err = (s: string): void => {
    if (s) process.stderr.write(s);
  };
  installFatalSignals();
  // OVS ignores SIGPIPE: output to a closed pipe is lost, the command carries on.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  try {
    const o = parseOptions(argv);
    if (o.help) {
      out(usageText());
      return 0;
    }
    if (o.version) {
      out(versionText());
      return 0;
    }
    if (o.listOptions) {
      out(optionListText());
      return 0;
    }
    if (o.timeout) {
      // OVS arms alarm(): the process dies of SIGALRM when the time is up.
      setTimeout(() => process.kill(process.pid, 'SIGALRM'), o.timeout * 1000).unref();
    }
    if (o.args.length === 0) throw new OfctlFatal('missing command name; use --help for help');
    const [name, ...args] = o.args;
    const cmd = COMMANDS[name];
    if (!cmd) throw new OfctlFatal(`unknown command '${name}'; use --help for help`);
    if (args.length < cmd.min) {
      throw new OfctlFatal(`'${name}' command requires at least ${cmd.min} arguments`);
    }
    if (args.length > cmd.max) {
      throw new OfctlFatal(`'${name}' command takes at most ${cmd.max} arguments`);
    }
    if (o.readOnly && cmd.rw)
      throw new OfctlFatal(`'${name}' command does not work in read only mode`);
    const ctx = new Ctx(o, out, err);
    const status = await cmd.run(ctx, args);
    return typeof status === 'number' ? status : 0;
  } catch (e) {
    if (e instanceof OfctlFatal) {
      if (e.raw) err(e.message);
      else err(`ovs-ofctl: ${e.message}\n`);
      return e.status;
    }
    err(`ovs-ofctl: ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  }
}
