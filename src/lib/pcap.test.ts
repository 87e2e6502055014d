import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodePcapFile,
  encodePcapFile,
  encodePcapHeader,
  encodePcapRecord,
  PcapError,
  PcapFileWriter,
  PcapStreamReader,
} from './pcap.ts';

function withDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'ts-pcap-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const frameA = new Uint8Array(Buffer.from(`ffffffffffff0200000000010806${'00'.repeat(46)}`, 'hex'));
const frameB = new Uint8Array(Buffer.from(`0200000000020200000000010800${'45'.repeat(50)}`, 'hex'));

describe('pcap files', () => {
  it('writes the classic little-endian microsecond header (naive expected bytes)', () => {
    assert.equal(
      Buffer.from(encodePcapHeader()).toString('hex'),
      'd4c3b2a1' + '0200' + '0400' + '00000000' + '00000000' + '00000400' + '01000000',
    );
    const r = encodePcapRecord(new Uint8Array([1, 2, 3]), 1_700_000_000_250_000);
    assert.equal(
      Buffer.from(r).toString('hex'),
      '00f15365' + '90d00300' + '03000000' + '03000000' + '010203',
    );
  });

  it('tshark reads a file written frame by frame, with the times given', () => {
    withDir((dir) => {
      const path = join(dir, 'tx.pcap');
      const w = new PcapFileWriter(path);
      w.write(frameA, 1_700_000_000_000_001);
      w.write(frameB, 1_700_000_001_500_000);
      w.close();
      const out = execFileSync(
        'tshark',
        [
          '-n',
          '-r',
          path,
          '-T',
          'fields',
          '-e',
          'frame.time_epoch',
          '-e',
          'frame.len',
          '-e',
          'eth.type',
        ],
        { encoding: 'utf8' },
      );
      assert.deepEqual(out.trim().split('\n'), [
        '1700000000.000001000\t60\t0x0806',
        '1700000001.500000000\t64\t0x0800',
      ]);
      const back = decodePcapFile(new Uint8Array(readFileSync(path)));
      assert.equal(back.header.linkType, 1);
      assert.deepEqual(
        back.records.map((r) => r.data),
        [frameA, frameB],
      );
      assert.deepEqual(
        back.records.map((r) => [r.tsSec, r.tsFrac, r.origLen]),
        [
          [1_700_000_000, 1, 60],
          [1_700_000_001, 500_000, 64],
        ],
      );
    });
  });

  it('reads nanosecond pcap files written by editcap', () => {
    withDir((dir) => {
      const src = join(dir, 'us.pcap');
      const dst = join(dir, 'ns.pcap');
      const w = new PcapFileWriter(src);
      w.write(frameA, 1_700_000_000_123_456);
      w.close();
      execFileSync('editcap', ['-F', 'nsecpcap', src, dst]);
      const back = decodePcapFile(new Uint8Array(readFileSync(dst)));
      assert.equal(back.header.nanos, true);
      assert.equal(back.records[0].tsFrac, 123_456_000);
      assert.deepEqual(back.records[0].data, frameA);
    });
  });

  it('reads big-endian files', () => {
    const b = Buffer.from(
      'a1b2c3d4' +
        '00020004' +
        '00000000' +
        '00000000' +
        '0000ffff' +
        '00000001' +
        '00000001' +
        '00000002' +
        '00000002' +
        '00000004' +
        'abcd',
      'hex',
    );
    const f = decodePcapFile(new Uint8Array(b));
    assert.equal(f.header.littleEndian, false);
    assert.deepEqual(f.records, [
      { tsSec: 1, tsFrac: 2, origLen: 4, data: new Uint8Array([0xab, 0xcd]) },
    ]);
  });

  it('stream reader yields whole records from any chunking; torn files and bad magic are errors', () => {
    const file = encodePcapFile([frameA, frameB, frameA]);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 50 }),
        (cuts) => {
          const r = new PcapStreamReader();
          const got: Uint8Array[] = [];
          let p = 0;
          for (const c of cuts) {
            if (p >= file.length) break;
            for (const rec of r.push(file.subarray(p, p + c))) got.push(rec.data);
            p += c;
          }
          for (const rec of r.push(file.subarray(p))) got.push(rec.data);
          assert.deepEqual(got, [frameA, frameB, frameA]);
        },
      ),
    );
    assert.throws(() => decodePcapFile(file.subarray(0, file.length - 1)), PcapError);
    assert.throws(() => decodePcapFile(new Uint8Array(24)), /bad magic/);
    assert.throws(() => decodePcapFile(new Uint8Array(3)), PcapError);
  });
});
