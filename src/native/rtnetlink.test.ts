// Link notifications inside a namespace this test creates: the monitor is opened there, and
// `ip` changes a veth pair's state; every change must show up as a message.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { nativeAddon } from './index.ts';
import { inNetns } from './netdev-ioctl.ts';
import { createTestNetns, netnsUnavailable, type TestNetns } from './netns-fixture.ts';
import { type LinkMessage, LinkMonitor, type RtnlMessage } from './rtnetlink.ts';

const skip = netnsUnavailable() || (nativeAddon() ? false : 'native addon not built');
// CI installs and allows everything these tests need: a missing piece fails them, never skips.
if (skip) throw new Error(`cannot run: ${skip}`);

describe('rtnetlink link monitor', () => {
  let ns: TestNetns;
  let mon: LinkMonitor | undefined;
  before(() => {
    ns = createTestNetns('tsnat-rtnl');
  });
  after(() => {
    mon?.close();
    ns?.destroy();
  });

  it('dumps existing links, then reports creation, admin state, carrier, MTU and deletion', async () => {
    const seen: RtnlMessage[] = [];
    mon = inNetns(ns.name, () => LinkMonitor.open((m) => seen.push(m)));
    const waitFor = async (
      what: string,
      pred: (m: LinkMessage) => boolean,
    ): Promise<LinkMessage> => {
      const deadline = Date.now() + 3000;
      for (;;) {
        const hit = seen.find(
          (m): m is LinkMessage => m.type !== 'done' && m.type !== 'overrun' && pred(m),
        );
        if (hit) return hit;
        if (Date.now() > deadline) assert.fail(`no message: ${what}; saw ${JSON.stringify(seen)}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await waitFor('lo in the dump', (m) => m.name === 'lo' && m.type === 'new');
    assert.ok(seen.some((m) => m.type === 'done'));

    seen.length = 0;
    ns.ip('link', 'add', 'rt0', 'type', 'veth', 'peer', 'name', 'rt1');
    const created = await waitFor('rt0 created', (m) => m.name === 'rt0' && m.type === 'new');
    assert.equal(created.adminUp, false);
    assert.equal(created.mac?.length, 6);

    seen.length = 0;
    ns.ip('link', 'set', 'rt0', 'up');
    ns.ip('link', 'set', 'rt1', 'up');
    await waitFor('rt0 up with carrier', (m) => m.name === 'rt0' && m.adminUp && m.carrier);

    seen.length = 0;
    ns.ip('link', 'set', 'rt1', 'down');
    await waitFor('rt0 lost carrier', (m) => m.name === 'rt0' && m.adminUp && !m.carrier);

    seen.length = 0;
    ns.ip('link', 'set', 'rt0', 'mtu', '1400');
    await waitFor('rt0 MTU 1400', (m) => m.name === 'rt0' && m.mtu === 1400);

    seen.length = 0;
    ns.ip('link', 'del', 'rt0');
    const gone = await waitFor('rt0 deleted', (m) => m.name === 'rt0' && m.type === 'del');
    assert.equal(gone.ifindex, created.ifindex);
  });
});
