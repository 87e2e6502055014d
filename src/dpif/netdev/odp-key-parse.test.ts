import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { getFlowVlanLimit, setFlowVlanLimit } from '../../lib/flow/extract.ts';
import { W_CT_STATE, W_DL_TYPE, W_VLAN0 } from '../../lib/flow/layout.ts';
import { formatOdpActions, parseOdpActions } from './odp-actions.ts';
import { formatOdpFlow } from './odp-key.ts';
import { parseOdpFlow } from './odp-key-parse.ts';

const saved = getFlowVlanLimit();
afterEach(() => setFlowVlanLimit(saved));

// The key of OVS's ofproto-dpif.at "VLAN depth limit" case (tests/ofproto-dpif.at, OVS 3.1).
const QINQ =
  'in_port(1),eth(src=00:11:22:33:44:55,dst=00:22:44:66:88:00),eth_type(0x8100),' +
  'vlan(vid=16,pcp=0),encap(eth_type(0x8100),vlan(vid=17,pcp=0),encap(eth_type(0xabcd)))';

test('vlan limit 1: the inner tag is not part of the flow, its TPID is the Ethertype', () => {
  setFlowVlanLimit(1);
  const { key, mask } = parseOdpFlow(QINQ);
  assert.equal(key[W_VLAN0], 0x8100_1010);
  assert.equal(key[W_VLAN0 + 1], 0);
  assert.equal(mask[W_VLAN0 + 1], 0);
  assert.equal(key[W_DL_TYPE] & 0xffff, 0x8100);
  assert.equal(mask[W_DL_TYPE] & 0xffff, 0xffff);
});

test('vlan limit 2 (vlan-limit=0): both tags and the inner Ethertype', () => {
  setFlowVlanLimit(0);
  const { key } = parseOdpFlow(QINQ);
  assert.equal(key[W_VLAN0], 0x8100_1010);
  assert.equal(key[W_VLAN0 + 1], 0x8100_1011);
  assert.equal(key[W_DL_TYPE] & 0xffff, 0xabcd);
});

test('vlan limit 1: a single tag parses as before', () => {
  setFlowVlanLimit(1);
  const { key } = parseOdpFlow('eth(),eth_type(0x8100),vlan(vid=5),encap(eth_type(0x0800))');
  assert.equal(key[W_VLAN0] & 0xfff, 5);
  assert.equal(key[W_DL_TYPE] & 0xffff, 0x0800);
});

// Expected strings from OVS 3.1's ofproto-dpif.at "megaflow - disabled" (a flow dump, verbose)
// and from format_odp_action for a whole-attribute set(), which OVS prints with no mask.
test('ct_state matched on its 8 bits prints its mask: verbose 0/0xff, terse -new-est-...', () => {
  const { key, mask } = parseOdpFlow('ct_state(0/0xff),in_port(1)');
  assert.equal(mask[W_CT_STATE], 0xff);
  assert.match(formatOdpFlow(key, mask, { verbose: true }), /ct_state\(0\/0xff\)/);
  assert.match(formatOdpFlow(key, mask), /ct_state\(-new-est-rel-rpl-inv-trk-snat-dnat\)/);
  assert.equal(formatOdpActions(parseOdpActions('set(ct_state(0x1))')), 'set(ct_state(0x1))');
});
