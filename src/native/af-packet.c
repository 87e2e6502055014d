/*
 * AF_PACKET sockets on a Linux interface with memory-mapped rings.
 *
 * Receive uses a TPACKET_V3 ring: the kernel fills whole blocks of frames, JavaScript reads the
 * frames in place through an external ArrayBuffer over the ring, and gives blocks back with
 * afpRelease().  A batch call reports up to N frames as (offset, length) pairs into a
 * caller-supplied Uint32Array, so nothing is allocated per frame.
 *
 * The kernel strips 802.1Q tags on receive (VLAN offload) and reports them in the frame's
 * tp_vlan_tci; trunks must see the tag that was on the wire, so the batch call writes it back
 * into the frame, using the padding the kernel leaves in front of the MAC header.
 *
 * Transmit takes frames from any caller buffer, one sendmmsg(2) per batch by default.  A TX
 * ring (same mapping, after the RX ring; one kick per batch) is an option: on veth it cost the
 * same CPU per frame as sendmmsg (packet-io-bench.ts), and frames queued in it while the link
 * is down would go out late, so it is not the default.
 *
 * With PACKET_VNET_HDR (option vnetHdr) the kernel hands over GSO/GRO super-frames whole (up
 * to 64 kB, checksum still partial) with a virtio_net_hdr in front, and takes them back the
 * same way on transmit, so a TCP stream crosses the switch once per 64 kB instead of once per
 * MTU.  JavaScript sees the header as two 32-bit "offload words" per frame (AFP_OL_* below),
 * with the checksum start relative to the L3 header so that VLAN pushes and pops on the way
 * through do not invalidate it; on transmit the L3 offset is found again and the pseudo-header
 * sum the kernel expects in the checksum field is recomputed (set actions may have changed
 * addresses).
 */
#define _GNU_SOURCE
#include "native-util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* Offset of frame data in a TX slot when PACKET_TX_HAS_OFF is not set (TPACKET_V3). */
#define TX_DATA_OFF (TPACKET_ALIGN(sizeof(struct tpacket3_hdr)))
#define SENDMMSG_MAX 64

/* struct virtio_net_hdr (linux/virtio_net.h), little-endian on every host we build for. */
struct vnet_hdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
};
#define VNET_F_NEEDS_CSUM 1
#define VNET_GSO_ECN 0x80

/* Offload word 0: NEEDS_CSUM in bit 0, the virtio gso_type in bits 8-15, gso_size in 16-31.
 * Word 1: checksum start relative to the L3 header in bits 0-15, csum_offset in 16-31.
 * A frame with word 0 == 0 is an ordinary frame with a complete checksum. */

/* The mapping outlives either owner: the socket handle (until close) and the ArrayBuffer
 * JavaScript holds (until its finalizer runs).  close() detaches the ArrayBuffer first, so no
 * JavaScript view can reach the memory once it is unmapped. */
struct ring_map {
  uint8_t *map;
  size_t len;
  bool handle_done;
  bool ab_done;
};

struct afp {
  int fd;
  int txfd; /* a second socket for sendmmsg (option separateTx), or -1: see afp_open */
  int ifindex;
  char name[IF_NAMESIZE];
  struct ring_map *rm;
  napi_ref ab_ref;

  uint8_t *rx;
  uint32_t block_size, block_nr;
  uint32_t cur_block;    /* block being read, or next to look at */
  bool block_open;       /* cur_block is TP_STATUS_USER and we are walking it */
  uint32_t pkts_left;    /* frames not yet returned from the open block */
  uint8_t *next_pkt;
  uint32_t held_first;   /* first block handed to JS and not yet released */
  uint32_t held_count;   /* fully read blocks awaiting afpRelease() */

  uint8_t *tx;
  uint32_t tx_frame_size, tx_frame_nr, tx_head;

  bool sw_ignore_outgoing; /* kernel lacks PACKET_IGNORE_OUTGOING: filter by sll_pkttype */
  bool vnet;               /* PACKET_VNET_HDR: a virtio_net_hdr precedes every frame */
  bool qdisc_bypass;
  bool closed;

  uint64_t packets, drops, freezes; /* PACKET_STATISTICS, accumulated (the kernel resets it) */
  uint64_t rx_truncated, rx_outgoing_skipped, tx_errors, tx_ring_full;

  struct mmsghdr *msgs;
  struct iovec *iovs; /* two per message: vnet header, frame */
  struct vnet_hdr *vhdrs;
};

/* Tags the handle objects so that a poller or any other wrapped object passed by mistake is
 * refused instead of being taken for a socket. */
static const napi_type_tag afp_tag = {0x7479706573776974ULL, 0x6368616670000001ULL};

static void ring_map_maybe_free(struct ring_map *rm) {
  if (rm->handle_done && rm->ab_done) {
    if (rm->map) munmap(rm->map, rm->len);
    free(rm);
  }
}

static void ab_finalize(napi_env env, void *data, void *hint) {
  (void) env;
  (void) data;
  struct ring_map *rm = hint;
  rm->ab_done = true;
  ring_map_maybe_free(rm);
}

static void read_stats(struct afp *s) {
  struct tpacket_stats_v3 st;
  socklen_t len = sizeof st;
  if (s->fd >= 0 && getsockopt(s->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
    s->packets += st.tp_packets;
    s->drops += st.tp_drops;
    s->freezes += st.tp_freeze_q_cnt;
  }
}

/* Stops reception and releases the socket; the mapping goes too unless JS may still hold
 * the ArrayBuffer (only when called from the GC finalizer, which cannot detach). */
static void afp_shutdown(napi_env env, struct afp *s, bool can_detach) {
  if (s->closed) return;
  s->closed = true;
  if (s->fd >= 0) {
    /* The mapping pins the socket; unbinding makes sure it receives nothing meanwhile. */
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = 0,
                              .sll_ifindex = s->ifindex};
    bind(s->fd, (struct sockaddr *) &sll, sizeof sll);
    struct packet_mreq mr = {.mr_ifindex = s->ifindex, .mr_type = PACKET_MR_PROMISC};
    setsockopt(s->fd, SOL_PACKET, PACKET_DROP_MEMBERSHIP, &mr, sizeof mr);
    close(s->fd);
    s->fd = -1;
  }
  if (s->txfd >= 0) {
    close(s->txfd);
    s->txfd = -1;
  }
  if (s->ab_ref) {
    if (can_detach) {
      napi_value ab;
      if (napi_get_reference_value(env, s->ab_ref, &ab) == napi_ok && ab) {
        if (napi_detach_arraybuffer(env, ab) == napi_ok && s->rm->map) {
          munmap(s->rm->map, s->rm->len);
          s->rm->map = NULL;
        }
      }
    }
    napi_delete_reference(env, s->ab_ref);
    s->ab_ref = NULL;
  }
  if (s->rm) {
    s->rm->handle_done = true;
    ring_map_maybe_free(s->rm);
    s->rm = NULL;
  }
  s->rx = s->tx = NULL;
}

static void afp_finalize(napi_env env, void *data, void *hint) {
  (void) hint;
  struct afp *s = data;
  afp_shutdown(env, s, false);
  free(s->msgs);
  free(s->iovs);
  free(s->vhdrs);
  free(s);
}

static bool is_afp(napi_env env, napi_value v) {
  bool ok = false;
  napi_valuetype t;
  if (!v || napi_typeof(env, v, &t) != napi_ok || t != napi_object) return false;
  return napi_check_object_type_tag(env, v, &afp_tag, &ok) == napi_ok && ok;
}

static struct afp *get_afp(napi_env env, napi_value v, const char *fn) {
  struct afp *s = NULL;
  if (!is_afp(env, v) || napi_unwrap(env, v, (void **) &s) != napi_ok || !s) {
    char msg[120];
    snprintf(msg, sizeof msg, "%s: expected a socket from afpOpen()", fn);
    ts_throw_type(env, msg);
    return NULL;
  }
  if (s->closed) {
    ts_throw_errno(env, EBADF, fn, "%s: socket is closed", s->name);
    return NULL;
  }
  return s;
}

static uint32_t round_pow2(uint32_t v) {
  uint32_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

/* afpOpen(name, options) -> handle object with fd, ifindex, ring (ArrayBuffer over the RX
 * ring), blockSize, blockCount, txFrameSize, txFrames, qdiscBypass, ignoreOutgoing. */
static napi_value afp_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char name[IF_NAMESIZE];
  if (ts_arg_string(env, argv[0], name, sizeof name, "afpOpen(name)")) return NULL;
  int32_t block_size = 0, block_nr = 16, tx_frames = 1024, tov = 1, frame_size = 0;
  int promisc = 1, bypass = 0, ignore_out = 1, want_tx = 0, want_vnet = 0, sep_tx = 0;
  napi_value o = argc > 1 ? argv[1] : NULL;
  const char *fn = "afpOpen";
  if (ts_opt_int32(env, o, "blockSize", &block_size, fn) ||
      ts_opt_int32(env, o, "blockCount", &block_nr, fn) ||
      ts_opt_int32(env, o, "txFrames", &tx_frames, fn) ||
      ts_opt_int32(env, o, "frameSize", &frame_size, fn) ||
      ts_opt_int32(env, o, "retireTimeoutMs", &tov, fn) ||
      ts_opt_bool(env, o, "promiscuous", &promisc, fn) ||
      ts_opt_bool(env, o, "qdiscBypass", &bypass, fn) ||
      ts_opt_bool(env, o, "ignoreOutgoing", &ignore_out, fn) ||
      ts_opt_bool(env, o, "txRing", &want_tx, fn) ||
      ts_opt_bool(env, o, "vnetHdr", &want_vnet, fn) ||
      ts_opt_bool(env, o, "separateTx", &sep_tx, fn))
    return NULL;
  if (block_nr < 2 || block_nr > 4096 || tx_frames < 0 || tx_frames > 65536 || tov < 0 ||
      tov > 1000 || block_size < 0 || block_size > (64 << 20) || frame_size < 0 ||
      frame_size > (1 << 20))
    return ts_throw_range(env, "afpOpen: option out of range");

  int ifindex = (int) if_nametoindex(name);
  if (!ifindex) return ts_throw_errno(env, errno, "if_nametoindex", "%s: could not open network device", name);

  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return ts_throw_errno(env, errno, "socket", "%s: could not create AF_PACKET socket", name);

#define FAIL(call, what) do { int e_ = errno; close(fd); \
    return ts_throw_errno(env, e_, call, "%s: %s", name, what); } while (0)

  /* Slot size: the largest frame the interface can carry plus a VLAN tag and the header. */
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, strlen(name));
  int mtu = 1500;
  if (ioctl(fd, SIOCGIFMTU, &ifr) == 0) mtu = ifr.ifr_mtu;
  uint32_t slot = frame_size ? (uint32_t) frame_size
                             : round_pow2((uint32_t) mtu + ETH_HLEN + 4 + TPACKET3_HDRLEN + 16);
  if (slot < 2048) slot = 2048;
  slot = TPACKET_ALIGN(slot);
  uint32_t page = (uint32_t) sysconf(_SC_PAGESIZE);
  uint32_t bs = block_size ? (uint32_t) block_size : (1u << 18);
  if (bs < slot) bs = round_pow2(slot);
  bs = (bs + page - 1) / page * page;

  int v = TPACKET_V3;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v)) FAIL("setsockopt", "TPACKET_V3 not supported");
  v = 1;
  /* PACKET_LOSS: a malformed TX frame is marked and skipped instead of wedging the ring. */
  setsockopt(fd, SOL_PACKET, PACKET_LOSS, &v, sizeof v);
  bool sw_ignore = false;
  if (ignore_out) {
    v = 1;
    if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &v, sizeof v)) sw_ignore = true;
  }
  /* Before the rings (the kernel refuses it after, EBUSY).  The transmit ring path does not
   * write headers, so vnet means sendmmsg. */
  bool vnet_on = false;
  if (want_vnet) {
    v = 1;
    vnet_on = setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &v, sizeof v) == 0;
    if (vnet_on) want_tx = 0;
  }
  bool bypass_on = false;
  if (bypass) {
    v = 1;
    bypass_on = setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &v, sizeof v) == 0;
  }

  struct tpacket_req3 rq;
  memset(&rq, 0, sizeof rq);
  rq.tp_block_size = bs;
  rq.tp_block_nr = (uint32_t) block_nr;
  rq.tp_frame_size = slot;
  rq.tp_frame_nr = (bs / slot) * (uint32_t) block_nr;
  rq.tp_retire_blk_tov = (uint32_t) tov;
  if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &rq, sizeof rq)) FAIL("setsockopt", "could not set up the receive ring");
  size_t rx_len = (size_t) bs * (size_t) block_nr;

  size_t tx_len = 0;
  uint32_t tx_nr = 0;
  if (want_tx && tx_frames > 0) {
    /* TX slots live in blocks of bs bytes; round the frame count up to whole blocks. */
    uint32_t per_block = bs / slot;
    uint32_t tx_blocks = ((uint32_t) tx_frames + per_block - 1) / per_block;
    struct tpacket_req3 tq;
    memset(&tq, 0, sizeof tq);
    tq.tp_block_size = bs;
    tq.tp_block_nr = tx_blocks;
    tq.tp_frame_size = slot;
    tq.tp_frame_nr = tx_blocks * per_block;
    if (setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &tq, sizeof tq)) FAIL("setsockopt", "could not set up the transmit ring");
    tx_nr = tq.tp_frame_nr;
    tx_len = (size_t) bs * tx_blocks;
  }

  /* Ring pages are kernel memory that never swaps, so MAP_LOCKED would add nothing. */
  uint8_t *map = mmap(NULL, rx_len + tx_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) FAIL("mmap", "could not map the packet rings");

  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  if (bind(fd, (struct sockaddr *) &sll, sizeof sll)) {
    int e = errno;
    munmap(map, rx_len + tx_len);
    close(fd);
    return ts_throw_errno(env, e, "bind", "%s: could not bind AF_PACKET socket", name);
  }
  if (promisc) {
    struct packet_mreq mr;
    memset(&mr, 0, sizeof mr);
    mr.mr_ifindex = ifindex;
    mr.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr)) {
      int e = errno;
      munmap(map, rx_len + tx_len);
      close(fd);
      return ts_throw_errno(env, e, "setsockopt", "%s: could not enable promiscuous mode", name);
    }
  }
  /* Transmit on a socket of its own: every skb we send is charged to the sending socket, and
   * freeing it (in the receiver's softirq, inside our sendmmsg on veth) wakes that socket's
   * wait queue, where epoll waits for the receive side: a spin lock per frame, about 7% of
   * the switch's CPU at 64 bytes.  A socket bound with protocol 0 receives nothing and is never
   * polled, so nobody waits on it. */
  int txfd = -1;
  if (sep_tx && !want_tx) {
    txfd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (txfd >= 0) {
      v = 1;
      bool ok = !vnet_on || setsockopt(txfd, SOL_PACKET, PACKET_VNET_HDR, &v, sizeof v) == 0;
      if (ok && bypass_on) setsockopt(txfd, SOL_PACKET, PACKET_QDISC_BYPASS, &v, sizeof v);
      struct sockaddr_ll tsll = {.sll_family = AF_PACKET, .sll_protocol = 0,
                                 .sll_ifindex = ifindex};
      if (!ok || bind(txfd, (struct sockaddr *) &tsll, sizeof tsll)) {
        close(txfd);
        txfd = -1;
      }
    }
  }
#undef FAIL

  struct afp *s = calloc(1, sizeof *s);
  struct ring_map *rm = calloc(1, sizeof *rm);
  s->msgs = calloc(SENDMMSG_MAX, sizeof *s->msgs);
  s->iovs = calloc(2 * SENDMMSG_MAX, sizeof *s->iovs);
  s->vhdrs = calloc(SENDMMSG_MAX, sizeof *s->vhdrs);
  if (!s || !rm || !s->msgs || !s->iovs || !s->vhdrs) {
    munmap(map, rx_len + tx_len);
    close(fd);
    if (txfd >= 0) close(txfd);
    return ts_throw_errno(env, ENOMEM, "calloc", "%s: out of memory", name);
  }
  rm->map = map;
  rm->len = rx_len + tx_len;
  s->fd = fd;
  s->txfd = txfd;
  s->ifindex = ifindex;
  memcpy(s->name, name, sizeof name);
  s->rm = rm;
  s->rx = map;
  s->block_size = bs;
  s->block_nr = (uint32_t) block_nr;
  s->tx = tx_len ? map + rx_len : NULL;
  s->tx_frame_size = slot;
  s->tx_frame_nr = tx_nr;
  s->sw_ignore_outgoing = ignore_out && sw_ignore;
  s->qdisc_bypass = bypass_on;
  s->vnet = vnet_on;

  napi_value obj, ab;
  napi_create_object(env, &obj);
  if (napi_create_external_arraybuffer(env, map, rx_len, ab_finalize, rm, &ab) != napi_ok) {
    rm->ab_done = true;
    napi_get_undefined(env, &ab);
  }
  napi_create_reference(env, ab, 1, &s->ab_ref);
  napi_wrap(env, obj, s, afp_finalize, NULL, NULL);
  napi_type_tag_object(env, obj, &afp_tag);
  napi_set_named_property(env, obj, "fd", ts_int(env, fd));
  napi_set_named_property(env, obj, "ifindex", ts_int(env, ifindex));
  napi_set_named_property(env, obj, "ring", ab);
  napi_set_named_property(env, obj, "blockSize", ts_int(env, bs));
  napi_set_named_property(env, obj, "blockCount", ts_int(env, block_nr));
  napi_set_named_property(env, obj, "frameSize", ts_int(env, slot));
  napi_set_named_property(env, obj, "txFrames", ts_int(env, tx_nr));
  napi_set_named_property(env, obj, "qdiscBypass", ts_bool(env, bypass_on));
  napi_set_named_property(env, obj, "vnetHdr", ts_bool(env, vnet_on));
  napi_set_named_property(env, obj, "separateTx", ts_bool(env, txfd >= 0));
  napi_set_named_property(env, obj, "ignoreOutgoing", ts_bool(env, ignore_out && !sw_ignore));
  return obj;
}

static inline uint32_t load_acquire(const volatile uint32_t *p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void store_release(volatile uint32_t *p, uint32_t v) {
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* Offset of the L3 header: after the Ethernet header and any 802.1Q/802.1ad tags. */
static uint32_t l3_offset(const uint8_t *f, uint32_t len, uint16_t *eth_type) {
  uint32_t off = 12;
  uint16_t t = 0;
  for (int tags = 0; tags < 4 && off + 2 <= len; tags++) {
    t = (uint16_t) (f[off] << 8 | f[off + 1]);
    if (t != ETH_P_8021Q && t != ETH_P_8021AD) break;
    off += 4;
  }
  if (eth_type) *eth_type = t;
  return off + 2;
}

static void close_open_block(struct afp *s) {
  s->block_open = false;
  s->held_count++;
  s->cur_block = (s->cur_block + 1) % s->block_nr;
}

/* afpRecv(handle, out: Uint32Array, max[, ol: Uint32Array]) -> n.  out[2i] = byte offset of
 * frame i in `ring`, out[2i+1] = its length; with a vnet socket and `ol`, ol[2i], ol[2i+1] =
 * its offload words (0, 0 for an ordinary frame).  Frames stay valid until afpRelease(). */
static napi_value afp_recv(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4] = {NULL, NULL, NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct afp *s = get_afp(env, argv[0], "afpRecv");
  if (!s) return NULL;
  uint32_t *out, *ol = NULL;
  size_t out_len, ol_len = 0;
  int32_t max;
  if (ts_arg_u32_array(env, argv[1], &out, &out_len, "afpRecv(out)") ||
      ts_arg_int32(env, argv[2], &max, "afpRecv(max)"))
    return NULL;
  if (max < 0 || (size_t) max * 2 > out_len)
    return ts_throw_range(env, "afpRecv: max must be >= 0 and out must hold 2*max entries");
  if (argc > 3 && argv[3]) {
    napi_valuetype t;
    napi_typeof(env, argv[3], &t);
    if (t != napi_undefined) {
      if (ts_arg_u32_array(env, argv[3], &ol, &ol_len, "afpRecv(ol)")) return NULL;
      if ((size_t) max * 2 > ol_len)
        return ts_throw_range(env, "afpRecv: ol must hold 2*max entries");
    }
  }

  uint32_t n = 0;
  /* A ring wrap with every block held would spin over held blocks: stop before that. */
  while (n < (uint32_t) max) {
    if (!s->block_open) {
      if (s->held_count >= s->block_nr) break;
      struct tpacket_block_desc *bd = (void *) (s->rx + (size_t) s->cur_block * s->block_size);
      if (!(load_acquire(&bd->hdr.bh1.block_status) & TP_STATUS_USER)) break;
      s->block_open = true;
      s->pkts_left = bd->hdr.bh1.num_pkts;
      s->next_pkt = (uint8_t *) bd + bd->hdr.bh1.offset_to_first_pkt;
      if (s->pkts_left == 0) {
        close_open_block(s);
        continue;
      }
    }
    if (s->pkts_left == 0) {
      close_open_block(s);
      continue;
    }
    struct tpacket3_hdr *h = (void *) s->next_pkt;
    s->pkts_left--;
    s->next_pkt += h->tp_next_offset;
    if (s->sw_ignore_outgoing) {
      const struct sockaddr_ll *sll = (const void *) ((uint8_t *) h + TPACKET_ALIGN(sizeof *h));
      if (sll->sll_pkttype == PACKET_OUTGOING) {
        s->rx_outgoing_skipped++;
        continue;
      }
    }
    uint8_t *data = (uint8_t *) h + h->tp_mac;
    uint32_t len = h->tp_snaplen;
    if (len < h->tp_len) {
      s->rx_truncated++;
      continue;
    }
    uint32_t ol0 = 0, ol1 = 0;
    if (s->vnet) {
      /* Read before a tag goes back in: the tag takes 4 of the header's bytes. */
      struct vnet_hdr vh;
      memcpy(&vh, data - sizeof vh, sizeof vh);
      if (vh.gso_type != 0 || (vh.flags & VNET_F_NEEDS_CSUM)) {
        ol0 = (uint32_t) (vh.flags & VNET_F_NEEDS_CSUM) | (uint32_t) vh.gso_type << 8 |
              (uint32_t) vh.gso_size << 16;
        if (vh.flags & VNET_F_NEEDS_CSUM) {
          uint32_t l3 = l3_offset(data, len, NULL);
          if (vh.csum_start >= l3) ol1 = (vh.csum_start - l3) | (uint32_t) vh.csum_offset << 16;
        }
      }
    }
    uint32_t st = h->tp_status;
    if ((st & TP_STATUS_VLAN_VALID) || h->hv1.tp_vlan_tci) {
      /* The headroom check guards against a MAC header placed flush after the header. */
      if (len >= 12 && data - 4 >= (uint8_t *) h + TPACKET_ALIGN(sizeof *h)) {
        uint16_t tpid = (st & TP_STATUS_VLAN_TPID_VALID) && h->hv1.tp_vlan_tpid
                            ? h->hv1.tp_vlan_tpid : ETH_P_8021Q;
        uint16_t tci = h->hv1.tp_vlan_tci;
        memmove(data - 4, data, 12);
        data -= 4;
        data[12] = (uint8_t) (tpid >> 8);
        data[13] = (uint8_t) tpid;
        data[14] = (uint8_t) (tci >> 8);
        data[15] = (uint8_t) tci;
        len += 4;
        /* Clear the flags so a second pass over the same frame cannot insert twice. */
        h->tp_status = st & ~(uint32_t) TP_STATUS_VLAN_VALID;
        h->hv1.tp_vlan_tci = 0;
      } else {
        s->rx_truncated++;
        continue;
      }
    }
    out[2 * n] = (uint32_t) (data - s->rx);
    out[2 * n + 1] = len;
    if (ol) {
      ol[2 * n] = ol0;
      ol[2 * n + 1] = ol1;
    }
    n++;
  }
  return ts_int(env, n);
}

/* afpRelease(handle): gives every block whose frames have all been returned back to the kernel.
 * Frames returned by earlier afpRecv() calls must not be used afterwards. */
static napi_value afp_release(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct afp *s = get_afp(env, argv[0], "afpRelease");
  if (!s) return NULL;
  if (s->block_open && s->pkts_left == 0) close_open_block(s);
  while (s->held_count) {
    struct tpacket_block_desc *bd = (void *) (s->rx + (size_t) s->held_first * s->block_size);
    store_release(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL);
    s->held_first = (s->held_first + 1) % s->block_nr;
    s->held_count--;
  }
  return ts_undefined(env);
}

static int tx_kick(struct afp *s) {
  for (int tries = 0; tries < 4; tries++) {
    if (sendto(s->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0) return 0;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == ENOBUFS) return 0; /* frames stay queued in the ring */
    return errno;
  }
  return 0;
}

static int unpack_send_args(napi_env env, napi_callback_info info, const char *fn, struct afp **s,
                            uint8_t **buf, size_t *buf_len, uint32_t **desc, int32_t *n,
                            uint32_t **ol) {
  size_t argc = 5;
  napi_value argv[5] = {NULL, NULL, NULL, NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  *s = get_afp(env, argv[0], fn);
  if (!*s) return -1;
  size_t desc_len;
  if (ts_arg_bytes(env, argv[1], buf, buf_len, fn) ||
      ts_arg_u32_array(env, argv[2], desc, &desc_len, fn) || ts_arg_int32(env, argv[3], n, fn))
    return -1;
  if (*n < 0 || (size_t) *n * 2 > desc_len) {
    ts_throw_range(env, "send: n must be >= 0 and desc must hold 2*n entries");
    return -1;
  }
  *ol = NULL;
  if (argc > 4 && argv[4]) {
    napi_valuetype t;
    napi_typeof(env, argv[4], &t);
    if (t != napi_undefined) {
      size_t ol_len;
      if (ts_arg_u32_array(env, argv[4], ol, &ol_len, fn)) return -1;
      if ((size_t) *n * 2 > ol_len) {
        ts_throw_range(env, "send: ol must hold 2*n entries");
        return -1;
      }
    }
  }
  for (int32_t i = 0; i < *n; i++) {
    uint64_t off = (*desc)[2 * i], len = (*desc)[2 * i + 1];
    if (off + len > *buf_len) {
      ts_throw_range(env, "send: a frame lies outside the buffer");
      return -1;
    }
  }
  return 0;
}

/* With a TX ring: copies the frames into free slots and kicks the kernel once.  Fewer than n
 * are queued when the ring is full; frames larger than a slot are counted in txErrors. */
static napi_value send_ring(napi_env env, struct afp *s, uint8_t *buf, uint32_t *desc, int32_t n) {
  uint32_t max_len = s->tx_frame_size - (uint32_t) TX_DATA_OFF;
  int32_t queued = 0, i = 0;
  bool kicked = false;
  while (i < n) {
    struct tpacket3_hdr *h = (void *) (s->tx + (size_t) s->tx_head * s->tx_frame_size);
    uint32_t st = load_acquire(&h->tp_status);
    if (st & (TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING)) {
      /* Ring full: push what is queued and look once more before giving up. */
      if (kicked) {
        s->tx_ring_full++;
        break;
      }
      int e = tx_kick(s);
      if (e) return ts_throw_errno(env, e, "sendto", "%s: transmit failed", s->name);
      kicked = true;
      continue;
    }
    if (st & TP_STATUS_WRONG_FORMAT) s->tx_errors++;
    uint32_t off = desc[2 * i], len = desc[2 * i + 1];
    i++;
    if (len > max_len || len < ETH_HLEN) {
      s->tx_errors++;
      continue;
    }
    memcpy((uint8_t *) h + TX_DATA_OFF, buf + off, len);
    h->tp_len = len;
    h->tp_snaplen = len;
    h->tp_next_offset = 0;
    store_release(&h->tp_status, TP_STATUS_SEND_REQUEST);
    s->tx_head = (s->tx_head + 1) % s->tx_frame_nr;
    queued++;
  }
  if (queued) {
    int e = tx_kick(s);
    if (e) return ts_throw_errno(env, e, "sendto", "%s: transmit failed", s->name);
  }
  return ts_int(env, queued);
}

static uint32_t csum_add_bytes(uint32_t sum, const uint8_t *p, uint32_t n) {
  for (uint32_t i = 0; i + 1 < n; i += 2) sum += (uint32_t) (p[i] << 8 | p[i + 1]);
  if (n & 1) sum += (uint32_t) p[n - 1] << 8;
  return sum;
}

static uint16_t csum_fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t) sum;
}

/* The virtio_net_hdr for a frame with offload words (ol0, ol1): the checksum start found from
 * the frame's L3 header, and the pseudo-header sum the kernel expects in the checksum field
 * written there.  Returns false when the frame cannot carry them (then it goes without). */
static bool vnet_hdr_for(struct vnet_hdr *vh, uint8_t *f, uint32_t len, uint32_t ol0,
                         uint32_t ol1) {
  memset(vh, 0, sizeof *vh);
  if (ol0 == 0) return true;
  uint16_t et;
  uint32_t l3 = l3_offset(f, len, &et);
  uint32_t start = l3 + (ol1 & 0xffff), coff = ol1 >> 16;
  if (!(ol0 & VNET_F_NEEDS_CSUM) || start + coff + 2 > len) return false;
  uint32_t l4len = len - start, sum;
  uint8_t proto = coff == 6 ? IPPROTO_UDP : IPPROTO_TCP;
  if (et == ETH_P_IP && l3 + 20 <= len) {
    sum = csum_add_bytes(0, f + l3 + 12, 8);
  } else if (et == ETH_P_IPV6 && l3 + 40 <= len) {
    sum = csum_add_bytes(0, f + l3 + 8, 32);
    sum += l4len >> 16;
  } else {
    return false;
  }
  sum += proto + (l4len & 0xffff);
  uint16_t ps = csum_fold(sum);
  f[start + coff] = (uint8_t) (ps >> 8);
  f[start + coff + 1] = (uint8_t) ps;
  vh->flags = VNET_F_NEEDS_CSUM;
  vh->csum_start = (uint16_t) start;
  vh->csum_offset = (uint16_t) coff;
  uint8_t gt = (uint8_t) (ol0 >> 8);
  if (gt != 0) {
    uint32_t l4h = 8;
    if (proto == IPPROTO_TCP && start + 13 <= len) l4h = (uint32_t) (f[start + 12] >> 4) * 4;
    vh->gso_type = gt;
    vh->gso_size = (uint16_t) (ol0 >> 16);
    vh->hdr_len = (uint16_t) (start + l4h);
  }
  return true;
}

/* Without a TX ring: sendmmsg(2) in chunks of 64 (with a ring the kernel would send from the
 * ring and ignore the message data).  A vnet socket gets a header in front of every frame. */
static napi_value send_mmsg(napi_env env, struct afp *s, uint8_t *buf, uint32_t *desc, int32_t n,
                            uint32_t *ol) {
  int32_t sent = 0;
  while (sent < n) {
    int chunk = n - sent > SENDMMSG_MAX ? SENDMMSG_MAX : n - sent;
    for (int j = 0; j < chunk; j++) {
      uint32_t k = (uint32_t) (sent + j);
      memset(&s->msgs[j], 0, sizeof s->msgs[j]);
      struct iovec *iov = &s->iovs[2 * j];
      int h = 0;
      if (s->vnet) {
        uint8_t *f = buf + desc[2 * k];
        if (!ol || !vnet_hdr_for(&s->vhdrs[j], f, desc[2 * k + 1], ol[2 * k], ol[2 * k + 1]))
          memset(&s->vhdrs[j], 0, sizeof s->vhdrs[j]);
        iov[0].iov_base = &s->vhdrs[j];
        iov[0].iov_len = sizeof s->vhdrs[j];
        h = 1;
      }
      iov[h].iov_base = buf + desc[2 * k];
      iov[h].iov_len = desc[2 * k + 1];
      s->msgs[j].msg_hdr.msg_iov = iov;
      s->msgs[j].msg_hdr.msg_iovlen = (size_t) h + 1;
    }
    int r = sendmmsg(s->txfd >= 0 ? s->txfd : s->fd, s->msgs, (unsigned) chunk, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == ENOBUFS) break;
      if (errno == EMSGSIZE || errno == EINVAL) {
        /* One bad frame: count it and carry on with the rest. */
        s->tx_errors++;
        sent++;
        continue;
      }
      return ts_throw_errno(env, errno, "sendmmsg", "%s: transmit failed", s->name);
    }
    sent += r;
    if (r < chunk) break;
  }
  return ts_int(env, sent);
}

/* afpSend(handle, buf, desc: Uint32Array of (offset, length) pairs, n[, ol]) -> frames sent
 * or queued; fewer than n when the kernel pushes back (ring full, ENOBUFS).  `ol` holds two
 * offload words per frame (a vnet socket only; it rewrites the frames' checksum fields). */
static napi_value afp_send(napi_env env, napi_callback_info info) {
  struct afp *s;
  uint8_t *buf;
  size_t buf_len;
  uint32_t *desc, *ol;
  int32_t n;
  if (unpack_send_args(env, info, "afpSend", &s, &buf, &buf_len, &desc, &n, &ol)) return NULL;
  return s->tx ? send_ring(env, s, buf, desc, n) : send_mmsg(env, s, buf, desc, n, ol);
}

/* afpStats(handle) -> cumulative counters. */
static napi_value afp_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct afp *s = get_afp(env, argv[0], "afpStats");
  if (!s) return NULL;
  read_stats(s);
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "packets", ts_int(env, (int64_t) s->packets));
  napi_set_named_property(env, o, "drops", ts_int(env, (int64_t) s->drops));
  napi_set_named_property(env, o, "freezes", ts_int(env, (int64_t) s->freezes));
  napi_set_named_property(env, o, "rxTruncated", ts_int(env, (int64_t) s->rx_truncated));
  napi_set_named_property(env, o, "rxOutgoingSkipped", ts_int(env, (int64_t) s->rx_outgoing_skipped));
  napi_set_named_property(env, o, "txErrors", ts_int(env, (int64_t) s->tx_errors));
  napi_set_named_property(env, o, "txRingFull", ts_int(env, (int64_t) s->tx_ring_full));
  return o;
}

/* afpClose(handle): idempotent.  Detaches the ring ArrayBuffer (views read as empty). */
static napi_value afp_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct afp *s = NULL;
  if (!is_afp(env, argv[0]) || napi_unwrap(env, argv[0], (void **) &s) != napi_ok || !s)
    return ts_throw_type(env, "afpClose: expected a socket from afpOpen()");
  afp_shutdown(env, s, true);
  return ts_undefined(env);
}

void ts_af_packet_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    TS_FN("afpOpen", afp_open),         TS_FN("afpRecv", afp_recv),
    TS_FN("afpRelease", afp_release),   TS_FN("afpSend", afp_send),
    TS_FN("afpStats", afp_stats),
    TS_FN("afpClose", afp_close),
  };
  ts_register(env, exports, props, sizeof props / sizeof props[0]);
}
