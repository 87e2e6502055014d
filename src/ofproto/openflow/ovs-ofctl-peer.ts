/*
 * Test support: a passive OpenFlow peer on 127.0.0.1 that real ovs-ofctl connects to. It
 * answers hello, echo, features, barrier and the dump requests (flows, groups, meters) with the
 * objects given, and records every message ovs-ofctl sent, decoded by our codec.
 */

import { execFile } from 'node:child_process';
import net from 'node:net';
import { decodeMessage, encodeMessage } from './codec.ts';
import { OfpFramer } from './framer.ts';
import type { GroupDesc } from './group.ts';
import type { FlowStats, OfpFrame, PortDesc } from './messages.ts';
import type { MeterConfig } from './meter.ts';
import type { TableFeatures } from './table-features.ts';

export interface Capture {
  frames: OfpFrame[];
  stdout: string;
  stderr: string;
  code: number;
  /** Messages our decoder rejected (should stay empty). */
  rejected: string[];
  /** Every message ovs-ofctl sent, as bytes. */
  raw: Uint8Array[];
}

export interface PeerAnswers {
  flows?: FlowStats[];
  groups?: GroupDesc[];
  meters?: MeterConfig[];
  tables?: TableFeatures[];
  ports?: PortDesc[];
}

/** Runs `ovs-ofctl ARGS COMMAND tcp:127.0.0.1:PORT REST...` against the peer (10 s limit). */
export function capture(
  args: string[],
  rest: string[],
  answers: PeerAnswers = {},
): Promise<Capture> {
  const frames: OfpFrame[] = [];
  const rejected: string[] = [];
  const raw: Uint8Array[] = [];
  return new Promise((resolve) => {
    const srv = net.createServer((sock) => {
      const fr = new OfpFramer();
      sock.on('error', () => {});
      sock.write(
        encodeMessage({ version: 6, xid: 0, msg: { type: 'hello', versions: [1, 2, 3, 4, 5, 6] } }),
      );
      sock.on('data', (d) => {
        for (const ev of fr.push(new Uint8Array(d))) {
          if (ev.kind !== 'message') continue;
          raw.push(ev.bytes);
          const r = decodeMessage(ev.bytes);
          if (!r.ok) {
            rejected.push(r.error.message);
            continue;
          }
          frames.push(r.frame);
          const { version, xid, msg } = r.frame;
          const reply = (m: OfpFrame['msg']) => sock.write(encodeMessage({ version, xid, msg: m }));
          if (msg.type === 'barrier_request') reply({ type: 'barrier_reply' });
          else if (msg.type === 'echo_request') reply({ type: 'echo_reply', data: msg.data });
          else if (msg.type === 'features_request') {
            reply({
              type: 'features_reply',
              datapathId: 1n,
              nBuffers: 0,
              nTables: 254,
              auxiliaryId: 0,
              capabilities: 0,
              actions: 0,
              ports: [],
            });
          } else if (msg.type === 'stats_request') {
            const b = msg.body;
            if (b.stat === 'flow') {
              reply({
                type: 'stats_reply',
                format: msg.format,
                flags: 0,
                body: { stat: 'flow', flows: answers.flows ?? [] },
              });
            } else if (b.stat === 'group_desc') {
              reply({
                type: 'stats_reply',
                format: 'standard',
                flags: 0,
                body: { stat: 'group_desc', groups: answers.groups ?? [] },
              });
            } else if (b.stat === 'meter_config') {
              reply({
                type: 'stats_reply',
                format: 'standard',
                flags: 0,
                body: { stat: 'meter_config', meters: answers.meters ?? [] },
              });
            } else if (b.stat === 'port_desc') {
              reply({
                type: 'stats_reply',
                format: 'standard',
                flags: 0,
                body: { stat: 'port_desc', ports: answers.ports ?? [] },
              });
            } else if (b.stat === 'table_features') {
              reply({
                type: 'stats_reply',
                format: 'standard',
                flags: 0,
                body: { stat: 'table_features', tables: answers.tables ?? [] },
              });
            } else if (b.stat === 'table') {
              reply({
                type: 'stats_reply',
                format: 'standard',
                flags: 0,
                body: { stat: 'raw', statType: 3, body: new Uint8Array(0) },
              });
            }
          }
        }
      });
    });
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      execFile(
        'ovs-ofctl',
        [...args, rest[0], `tcp:127.0.0.1:${port}`, ...rest.slice(1)],
        { timeout: 10000 },
        (err, stdout, stderr) => {
          srv.close();
          resolve({ frames, stdout, stderr, code: err ? Number(err.code ?? 1) : 0, rejected, raw });
        },
      );
    });
  });
}
