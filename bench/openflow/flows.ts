/**
 * The flow file `ovs-ofctl add-flows` reads in bench/openflow: `n` distinct flows in table 0,
 * in four shapes that cycle (so the tables hold four masks, as a controller's rules would):
 *
 *   priority=100,ip,nw_dst=A                            actions=output:1
 *   priority=200,tcp,nw_src=A,tp_dst=80                 actions=mod_dl_dst:..,output:2
 *   priority=300,dl_vlan=V,dl_dst=M                     actions=strip_vlan,output:1
 *   priority=400,udp,in_port=1,nw_src=A,nw_dst=B,tp_dst=P  actions=set_field:..->reg0,resubmit(,1)
 *
 * Addresses stay in 198.18.0.0/15 (the test range); no flow is ever hit by a packet.
 */

function ip(i: number): string {
  // 198.18.0.0 + i, over the whole /15.
  const v = i % 131072;
  return `198.${18 + (v >> 16)}.${(v >> 8) & 0xff}.${v & 0xff}`;
}

function mac(i: number): string {
  const h = (x: number): string => x.toString(16).padStart(2, '0');
  return `02:00:${h((i >> 24) & 0xff)}:${h((i >> 16) & 0xff)}:${h((i >> 8) & 0xff)}:${h(i & 0xff)}`;
}

export function flowLine(i: number): string {
  const k = i >> 2;
  switch (i & 3) {
    case 0:
      return `table=0,priority=100,ip,nw_dst=${ip(k)},actions=output:1`;
    case 1:
      return `table=0,priority=200,tcp,nw_src=${ip(k)},tp_dst=80,actions=mod_dl_dst:${mac(k)},output:2`;
    case 2:
      return `table=0,priority=300,dl_vlan=${(k % 4094) + 1},dl_dst=${mac(k)},actions=strip_vlan,output:1`;
    default:
      return `table=0,priority=400,udp,in_port=1,nw_src=${ip(k)},nw_dst=${ip(k + 7)},tp_dst=${(k % 60000) + 1},actions=load:${k}->NXM_NX_REG0[],resubmit(,1)`;
  }
}

export function flowFile(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(flowLine(i));
  return `${lines.join('\n')}\n`;
}

/** The ovs-vsctl arguments that build the bench's bridge: br0, dummy ports p1 and p2. */
export const BENCH_BRIDGE_VSCTL: readonly string[] = [
  'add-br',
  'br0',
  '--',
  'set',
  'bridge',
  'br0',
  'datapath_type=dummy',
  'fail_mode=secure',
  'protocols=OpenFlow10,OpenFlow13',
  '--',
  'add-port',
  'br0',
  'p1',
  '--',
  'set',
  'interface',
  'p1',
  'type=dummy',
  'ofport_request=1',
  '--',
  'add-port',
  'br0',
  'p2',
  '--',
  'set',
  'interface',
  'p2',
  'type=dummy',
  'ofport_request=2',
];
