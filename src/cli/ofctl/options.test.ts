import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { P_OF10_ANY, P_OF13_OXM } from '../../ofproto/openflow/protocols.ts';
import { preprocessedLines } from './ctx.ts';
import { OfctlFatal } from './errors.ts';
import { parseOptions, versionsFromString } from './options.ts';
import { groupFieldNames, hexDump, versionSuffix } from './print.ts';
import { versionBitmapToString } from './vconn.ts';

function fatal(argv: string[]): string {
  try {
    parseOptions(argv);
  } catch (e) {
    assert.ok(e instanceof OfctlFatal);
    return e.message;
  }
  assert.fail(`no error for ${argv.join(' ')}`);
}

describe('ovs-ofctl options', () => {
  it('-O takes comma or space separated version names, case-insensitively', () => {
    assert.deepEqual(versionsFromString('OpenFlow13,openflow10 OpenFlow15'), [1, 4, 6]);
    assert.throws(() => versionsFromString('OpenFlow99'), /Unknown OpenFlow version: "OpenFlow99"/);
  });
  it('options may follow the command words, as GNU getopt permutes them', () => {
    const o = parseOptions(['dump-flows', 'br0', '--no-stats', '-O', 'OpenFlow13']);
    assert.deepEqual(o.args, ['dump-flows', 'br0']);
    assert.equal(o.showStats, false);
    assert.deepEqual(o.versions, [4]);
    assert.equal(o.allowedProtocols, P_OF13_OXM);
  });
  it('OpenFlow 1.0 alone by default; --bundle adds OpenFlow 1.4', () => {
    assert.equal(parseOptions(['show', 'br0']).allowedProtocols, P_OF10_ANY);
    assert.deepEqual(parseOptions(['--bundle', 'add-flow', 'br0', 'x']).versions, [5]);
  });
  it('--sort adds a final descending priority pass, and rejects unknown fields', () => {
    const o = parseOptions(['--sort=in_port', 'dump-flows', 'br0']);
    assert.deepEqual(o.sort, [
      { field: 'in_port', desc: false },
      { field: null, desc: true },
    ]);
    assert.equal(fatal(['--sort=bogus', 'x']), 'bogus: unknown field name');
  });
  // The messages below were captured from real ovs-ofctl 3.1.
  it('reports bad options with getopt and OVS wording', () => {
    assert.equal(fatal(['--bogus']), "unrecognized option '--bogus'");
    assert.equal(fatal(['-x']), "invalid option -- 'x'");
    assert.equal(fatal(['-t', '0', 'show']), 'value 0 on -t or --timeout is invalid');
    assert.equal(
      fatal(['-vbogus']),
      'processing "bogus": no destination, level, or module "bogus"',
    );
    assert.equal(
      fatal(['-O', 'OpenFlow13', '-F', 'OpenFlow10', 'show', 'br0']),
      'None of the enabled OpenFlow versions (OpenFlow13) supports any of the enabled flow formats (OpenFlow10).  (Use -O to enable additional OpenFlow versions or -F to enable additional flow formats.)',
    );
  });
});

describe('ovs-ofctl text helpers', () => {
  it('version suffixes and bitmaps read as OVS prints them', () => {
    assert.equal(versionSuffix(1), '');
    assert.equal(versionSuffix(4), ' (OF1.3)');
    assert.equal(versionBitmapToString([5]), 'version 0x05');
    assert.equal(versionBitmapToString([1, 2, 3, 4, 5, 6]), 'version 0x06 and earlier');
    assert.equal(versionBitmapToString([1, 4]), 'versions 0x01, 0x04');
  });
  it('groups field names sharing a prefix (real ovs-ofctl dump-tables, OF1.0)', () => {
    assert.equal(
      groupFieldNames([
        'in_port',
        'eth_src',
        'eth_dst',
        'eth_type',
        'vlan_vid',
        'vlan_pcp',
        'ip_src',
        'ip_dst',
        'nw_proto',
        'nw_tos',
        'tcp_src',
        'tcp_dst',
      ]),
      'in_port eth_{src,dst,type} vlan_{vid,pcp} ip_{src,dst} nw_{proto,tos} tcp_{src,dst}',
    );
  });
  it('hex dumps pad the ASCII column (real ovs-ofctl ofp-parse of an echo request)', () => {
    assert.equal(
      hexDump(Uint8Array.of(1, 2, 3)),
      '00000000  01 02 03                                        |...             |\n',
    );
  });
  it('reads flow files as ds_get_preprocessed_line(): comments, blanks, continuations', () => {
    assert.deepEqual(preprocessedLines('a=1 # x\n\n  # only\nb=2,\\\nc=3\n'), [
      { line: 'a=1', no: 1 },
      { line: 'b=2,c=3', no: 5 },
    ]);
  });
});
