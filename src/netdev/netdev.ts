/**
 * The network device provider interface (OVS's netdev-provider.h): what a port of the datapath
 * is, seen from above. A netdev knows nothing about flows or OpenFlow: it has a name, a type,
 * an Ethernet address, an MTU, administrative and link state, and counters.
 *
 * Providers in this folder: `dummy` (in memory; also `dummy-internal`, and the stand-in for
 * every type under `--enable-dummy=override`), `internal` ports of a netdev datapath (in memory
 * until the native packet I/O lands), and `patch` (a pair of ports joined inside the switch).
 */

/** An Ethernet address as OVS prints it: six lower-case hex pairs joined by ':'. */
export type EthAddr = string & { readonly __brand: 'EthAddr' };

/** The counters OVS's struct netdev_stats names, as far as a provider keeps them. */
export interface NetdevStats {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
}

/** An errno-style failure of a provider; `message` is strerror's text, as OVS prints it. */
export class NetdevError extends Error {
  override readonly name = 'NetdevError';
  constructor(
    readonly code: 'ENODEV' | 'EAFNOSUPPORT' | 'EINVAL' | 'EOPNOTSUPP' | 'EEXIST',
    message: string,
  ) {
    super(message);
  }
}

export const STRERROR = {
  ENODEV: 'No such device',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EINVAL: 'Invalid argument',
  EOPNOTSUPP: 'Operation not supported',
  EEXIST: 'File exists',
} as const;

export function netdevError(code: keyof typeof STRERROR): NetdevError {
  return new NetdevError(code, STRERROR[code]);
}

/**
 * Frames to transmit: frames[i] holds a frame at off[i], len[i] bytes long, for i < count.
 * The datapath's PacketBatch has this shape; frames are valid only during send().
 */
export interface TxBatch {
  readonly frames: readonly Uint8Array[];
  readonly off: Int32Array;
  readonly len: Int32Array;
  readonly count: number;
  /** Offload words of frame i at [2i], [2i + 1] (offload.ts); absent or 0: ordinary frames. */
  readonly ol?: Uint32Array;
}

/** Where a port's received frames go; set by the datapath when it adds the port. */
export interface NetdevRxSink {
  /** One received frame; the bytes are valid only during the call. */
  receive(frame: Uint8Array, off: number, len: number): void;
  /**
   * A received frame with offloads (a GSO super-frame or a partial checksum, offload.ts), from a
   * device opened with them; a sink without this method is never handed one.
   */
  receiveOffload?(frame: Uint8Array, off: number, len: number, ol0: number, ol1: number): void;
  /** The end of a burst: the datapath forwards what it has received so far. */
  flush(): void;
}

export interface Netdev {
  readonly name: string;
  /** The type as `dpif/show` and the database name it: dummy, dummy-internal, tap, patch... */
  readonly type: string;
  /**
   * Applies an Interface's `options`. Returns null, or the text OVS writes to Interface.error
   * when the options are unacceptable (e.g. a patch port without a peer).
   */
  setConfig(options: ReadonlyMap<string, string>): string | null;
  /** The configuration `dpif/show` prints after the type (e.g. peer=p1 for a patch port). */
  getConfig(): ReadonlyMap<string, string>;
  getEtheraddr(): EthAddr;
  setEtheraddr(mac: EthAddr): void;
  /** null when the device has no MTU (patch ports). */
  getMtu(): number | null;
  setMtu(mtu: number): void;
  /** Administrative state (NETDEV_UP). */
  isUp(): boolean;
  setUp(up: boolean): void;
  /** Link state (carrier). */
  getCarrier(): boolean;
  /** How many times the carrier went down. */
  getCarrierResets(): number;
  /** Link speed in bits per second; 0 when the device does not say. */
  getSpeedBps(): number;
  /** The kernel ifindex; 0 when there is none (in-memory devices). */
  getIfindex(): number;
  getStats(): NetdevStats;
  /**
   * The Interface `statistics` column's pairs, as OVS writes them for this kind of device
   * (the standard counters the device keeps, then its custom ones).
   */
  getStatisticsColumn(): Map<string, number>;
  /** The Interface `status` column's pairs. */
  getStatus(): Map<string, string>;
  /** Bumped whenever something `getStatus`, flags, carrier, MTU or address report changes. */
  readonly changeSeq: number;
  /** Transmits every frame of `batch` (counted in tx statistics, or dropped if down). */
  send(batch: TxBatch): void;
  /**
   * Starts delivering received frames to `sink` (null stops). A device without a receive
   * path (patch ports) ignores it.
   */
  setRxSink(sink: NetdevRxSink | null): void;
  close(): void;
}

/** A random locally administered unicast address (OVS's eth_addr_random). */
export function randomEthAddr(): EthAddr {
  const b = new Uint8Array(6);
  crypto.getRandomValues(b);
  b[0] = (b[0] & 0xfe) | 0x02;
  return formatEthAddr(b);
}

export function formatEthAddr(b: ArrayLike<number>): EthAddr {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push((b[i] ?? 0).toString(16).padStart(2, '0'));
  return parts.join(':') as EthAddr;
}

/** Parses "xx:xx:xx:xx:xx:xx" (OVS's eth_addr_from_string); undefined when malformed. */
export function parseEthAddr(s: string): EthAddr | undefined {
  const m =
    /^([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})$/.exec(
      s,
    );
  if (!m) return undefined;
  return formatEthAddr(m.slice(1).map((h) => Number.parseInt(h, 16)));
}

export function ethAddrBytes(mac: EthAddr): number[] {
  return mac.split(':').map((h) => Number.parseInt(h, 16));
}
