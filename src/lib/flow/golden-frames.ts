// Golden frames built with /usr/bin/python3 scapy (`from scapy.all import *`, plus
// scapy.contrib.mpls/igmp and scapy.layers.sctp); each names the scapy expression it came from,
// where A = '00:00:5e:00:53:01', B = '00:00:5e:00:53:02', E = Ether(src=A, dst=B),
// S4/D4 = 198.18.0.1/198.18.0.2, S6/D6 = 2001:db8::1/2001:db8::2.
export const GOLDEN_FRAMES: ReadonlyArray<{ name: string; scapy: string; hex: string }> = [
  {
    name: 'ipv4-tcp-syn',
    scapy: "E()/IP(src=S4,dst=D4)/TCP(sport=1234,dport=80,flags='S')",
    hex: '00005e00530200005e005301080045000028000100004006eea7c6120001c612000204d20050000000000000000050022000fe980000',
  },
  {
    name: 'ipv4-tcp-options',
    scapy:
      "E()/IP(src=S4,dst=D4,tos=0xb9,ttl=7)/TCP(sport=443,dport=50000,flags='PA',options=[('MSS',1460),('NOP',None),('WScale',7)])/Raw(b'hello')",
    hex: '00005e00530200005e005301080045b9003500010000070626e2c6120001c612000201bbc350000000000000000070182000cef70000020405b40103030768656c6c6f',
  },
  {
    name: 'ipv4-udp',
    scapy: "E()/IP(src=S4,dst=D4)/UDP(sport=5353,dport=53)/Raw(b'x'*4)",
    hex: '00005e00530200005e005301080045000020000100004011eea4c6120001c612000214e90035000c6d9f78787878',
  },
  {
    name: 'ipv4-udp-padded',
    scapy: "E()/IP(src=S4,dst=D4)/UDP(sport=1,dport=2)/Padding(load=b'\\xaa'*18)",
    hex: '00005e00530200005e00530108004500001c000100004011eea8c6120001c612000200010002000873b3aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  },
  {
    name: 'ipv4-icmp-echo',
    scapy: 'E()/IP(src=S4,dst=D4)/ICMP(type=8,code=0,id=1,seq=1)',
    hex: '00005e00530200005e00530108004500001c000100004001eeb8c6120001c61200020800f7fd00010001',
  },
  {
    name: 'ipv4-options-rr',
    scapy:
      "E()/IP(src=S4,dst=D4,options=[IPOption_RR(routers=['198.18.0.9'])])/UDP(sport=7,dport=9)",
    hex: '00005e00530200005e005301080047000024000100004011c5d3c6120001c6120002070704c61200090000070009000873a6',
  },
  {
    name: 'ipv4-first-fragment',
    scapy: "E()/IP(src=S4,dst=D4,flags='MF',frag=0,id=7)/TCP(sport=10,dport=20)",
    hex: '00005e00530200005e005301080045000028000720004006cea1c6120001c6120002000a0014000000000000000050022000039d0000',
  },
  {
    name: 'ipv4-later-fragment',
    scapy: "E()/IP(src=S4,dst=D4,flags='MF',frag=100,proto=6,id=7)/Raw(b'\\x00'*24)",
    hex: '00005e00530200005e00530108004500002c000720644006ce39c6120001c6120002000000000000000000000000000000000000000000000000',
  },
  {
    name: 'ipv4-bad-ihl',
    scapy: 'E()/IP(src=S4,dst=D4,ihl=4)/UDP(sport=1,dport=2)',
    hex: '00005e00530200005e00530108004400001c000100004011efa8c6120001c612000200010002000873b3',
  },
  {
    name: 'ipv4-sctp',
    scapy: 'E()/IP(src=S4,dst=D4)/SCTP(sport=3868,dport=3868)/SCTPChunkInit()',
    hex: '00005e00530200005e005301080045000034000100004084ee1dc6120001c61200020f1c0f1c000000003e6b3a340100001400000000000000000000000000000000',
  },
  {
    name: 'ipv4-igmp',
    scapy: "E()/IP(src=S4,dst='224.0.0.22')/IGMP(type=0x16,gaddr='239.1.2.3')",
    hex: '00005e00530200005e00530108004500001c00010000010213b6c6120001e00000161614f8e6ef010203',
  },
  {
    name: 'vlan-arp-request',
    scapy: 'E()/Dot1Q(vlan=10,prio=3)/ARP(op=1,hwsrc=A,psrc=S4,pdst=D4)',
    hex: '00005e00530200005e0053018100600a0806000108000604000100005e005301c6120001000000000000c6120002',
  },
  {
    name: 'arp-reply',
    scapy: 'Ether(src=B,dst=A)/ARP(op=2,hwsrc=B,hwdst=A,psrc=D4,pdst=S4)',
    hex: '00005e00530100005e0053020806000108000604000200005e005302c612000200005e005301c6120001',
  },
  {
    name: 'arp-op-256',
    scapy: 'E()/ARP(op=256,hwsrc=A,psrc=S4,pdst=D4)',
    hex: '00005e00530200005e0053010806000108000604010000005e005301c6120001000000000000c6120002',
  },
  {
    name: 'qinq-icmp',
    scapy: 'E()/Dot1AD(vlan=100,prio=5)/Dot1Q(vlan=20)/IP(src=S4,dst=D4)/ICMP()',
    hex: '00005e00530200005e00530188a8a0648100001408004500001c000100004001eeb8c6120001c61200020800f7ff00000000',
  },
  {
    name: 'ipv6-tcp',
    scapy: "E()/IPv6(src=S6,dst=D6,tc=0x2e,fl=0x12345,hlim=9)/TCP(sport=22,dport=4000,flags='SA')",
    hex: '00005e00530200005e00530186dd62e123450014060920010db800000000000000000000000120010db800000000000000000000000200160fa000000000000000005012200024a80000',
  },
  {
    name: 'ipv6-ext-udp',
    scapy:
      'E()/IPv6(src=S6,dst=D6)/IPv6ExtHdrHopByHop()/IPv6ExtHdrDestOpt()/UDP(sport=546,dport=547)',
    hex: '00005e00530200005e00530186dd600000000018004020010db800000000000000000000000120010db80000000000000000000000023c000104000000001100010400000000022202230008a024',
  },
  {
    name: 'ipv6-routing-tcp',
    scapy:
      "E()/IPv6(src=S6,dst=D6)/IPv6ExtHdrRouting(addresses=['2001:db8::3'])/TCP(sport=1,dport=2)",
    hex: '00005e00530200005e00530186dd60000000002c2b4020010db800000000000000000000000120010db8000000000000000000000002060200010000000020010db800000000000000000000000300010002000000000000000050022000346a0000',
  },
  {
    name: 'ipv6-first-fragment',
    scapy: 'E()/IPv6(src=S6,dst=D6)/IPv6ExtHdrFragment(m=1,offset=0,id=5)/ICMPv6EchoRequest()',
    hex: '00005e00530200005e00530186dd6000000000102c4020010db800000000000000000000000120010db80000000000000000000000023a000001000000058000244800000000',
  },
  {
    name: 'ipv6-later-fragment',
    scapy: "E()/IPv6(src=S6,dst=D6)/IPv6ExtHdrFragment(m=0,offset=10,id=5,nh=58)/Raw(b'\\x00'*16)",
    hex: '00005e00530200005e00530186dd6000000000182c4020010db800000000000000000000000120010db80000000000000000000000023a0000500000000500000000000000000000000000000000',
  },
  {
    name: 'ipv6-icmpv6-echo',
    scapy: 'E()/IPv6(src=S6,dst=D6)/ICMPv6EchoRequest(id=3,seq=4)',
    hex: '00005e00530200005e00530186dd6000000000083a4020010db800000000000000000000000120010db80000000000000000000000028000244100030004',
  },
  {
    name: 'ipv6-nd-ns-sll',
    scapy:
      "E()/IPv6(src=S6,dst='ff02::1:ff00:2')/ICMPv6ND_NS(tgt=D6)/ICMPv6NDOptSrcLLAddr(lladdr=A)",
    hex: '00005e00530200005e00530186dd6000000000203aff20010db8000000000000000000000001ff0200000000000000000001ff00000287006d260000000020010db8000000000000000000000002010100005e005301',
  },
  {
    name: 'ipv6-nd-na-tll',
    scapy:
      'Ether(src=B,dst=A)/IPv6(src=D6,dst=S6)/ICMPv6ND_NA(tgt=D6,R=0,S=1,O=1)/ICMPv6NDOptDstLLAddr(lladdr=B)',
    hex: '00005e00530100005e00530286dd6000000000203aff20010db800000000000000000000000220010db80000000000000000000000018800db706000000020010db8000000000000000000000002020100005e005302',
  },
  {
    name: 'ipv6-nd-ns-dup-sll',
    scapy:
      'E()/IPv6(src=S6,dst=D6)/ICMPv6ND_NS(tgt=D6)/ICMPv6NDOptSrcLLAddr(lladdr=A)/ICMPv6NDOptSrcLLAddr(lladdr=B)',
    hex: '00005e00530200005e00530186dd6000000000283aff20010db800000000000000000000000120010db800000000000000000000000287008b660000000020010db8000000000000000000000002010100005e005301010100005e005302',
  },
  {
    name: 'ipv6-nd-ns-no-target',
    scapy: 'E()/IPv6(src=S6,dst=D6,nh=58)/Raw(bytes(ICMPv6ND_NS(tgt=D6))[:8])',
    hex: '00005e00530200005e00530186dd6000000000083a4020010db800000000000000000000000120010db80000000000000000000000028700000000000000',
  },
  {
    name: 'mpls-two-labels',
    scapy:
      'Ether(src=A,dst=B,type=0x8847)/MPLS(label=100,cos=2,s=0,ttl=64)/MPLS(label=200,s=1,ttl=63)/IP(src=S4,dst=D4)/UDP()',
    hex: '00005e00530200005e005301884700064440000c813f4500001c000100004011eea8c6120001c6120002003500350008734c',
  },
  {
    name: 'llc-802.3',
    scapy: "Dot3(src=A,dst=B)/LLC(dsap=0x42,ssap=0x42,ctrl=3)/Raw(b'\\x00'*38)",
    hex: '00005e00530200005e00530100294242030000000000000000000000000000000000000000000000000000000000000000000000000000',
  },
  {
    name: 'llc-snap-ipv4',
    scapy:
      'Dot3(src=A,dst=B)/LLC(dsap=0xaa,ssap=0xaa,ctrl=3)/SNAP(OUI=0,code=0x0800)/IP(src=S4,dst=D4)/UDP(sport=3,dport=4)',
    hex: '00005e00530200005e0053010024aaaa0300000008004500001c000100004011eea8c6120001c612000200030004000873af',
  },
  {
    name: 'ipv6-ah-tcp',
    scapy: "E()/IPv6(src=S6,dst=D6,nh=51)/Raw(bytes([6,4,0,0])+b'\\x00'*20)/TCP(sport=5,dport=6)",
    hex: '00005e00530200005e00530186dd60000000002c334020010db800000000000000000000000120010db80000000000000000000000020604000000000000000000000000000000000000000000000005000600000000000000005002200000000000',
  },
  {
    name: 'ipv6-nd-na-options-cut-by-plen',
    scapy:
      'E()/IPv6(src=S6,dst=D6,nh=58,plen=30)/Raw(bytes(ICMPv6ND_NA(tgt=D6)/ICMPv6NDOptDstLLAddr(lladdr=B)))',
    hex: '00005e00530200005e00530186dd60000000001e3a4020010db800000000000000000000000120010db800000000000000000000000288000000a000000020010db8000000000000000000000002020100005e005302',
  },
  {
    name: 'ipv4-udp-dhcp-vlan-prio-only',
    scapy: 'E()/Dot1Q(vlan=0,prio=6)/IP(src=S4,dst=D4)/UDP(sport=68,dport=67)',
    hex: '00005e00530200005e0053018100c00008004500001c000100004011eea8c6120001c6120002004400430008732f',
  },
];
