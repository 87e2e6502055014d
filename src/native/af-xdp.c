/*
 * AF_XDP sockets on a Linux interface (OVS's netdev-afxdp), from raw system calls: no libbpf
 * or libxdp, so the addon still builds from Node's headers and the kernel's UAPI headers.
 *
 * Per interface: one anonymous mapping holds every queue's UMEM (frames of 2 or 4 kB); per
 * queue an XDP socket with its fill, completion, receive and transmit rings mapped in; an
 * XSKMAP whose entry i is queue i's socket; and a five-instruction XDP program that redirects
 * a frame into the map by its receive queue and lets it pass to the kernel when the queue has
 * no socket.  The program is attached with a BPF link (BPF_LINK_CREATE, BPF_XDP): closing the
 * link fd detaches it, so a process that dies leaves no program behind on the interface.
 *
 * Receive hands JavaScript (offset, length) pairs into the UMEM, which it sees as one external
 * ArrayBuffer; the frames go back to the fill ring at xskRelease().  Transmit copies each frame
 * into a free UMEM frame of the first queue and kicks the kernel once per batch, through a
 * second socket on the same queue and UMEM that nobody polls; finished frames come back
 * through the completion ring.  Nothing is allocated per frame.
 *
 * Modes are OVS's: native-with-zerocopy (driver XDP, XDP_ZEROCOPY), native (driver XDP,
 * copy), generic (skb XDP, copy), and best-effort trying them in that order.  A transmit-only
 * handle (txOnly) binds in copy mode and attaches nothing: `system` ports send through it.
 */
#define _GNU_SOURCE
#include "native-util.h"

#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

#define XSK_MAX_QUEUES 16
#define XSK_DEFAULT_FRAMES 4096 /* per queue: half for receive, half for transmit */
#define XSK_DEFAULT_FRAME_SIZE 2048
#define XSK_KICK_TRIES 8

enum xsk_mode { MODE_NATIVE_ZC, MODE_NATIVE, MODE_GENERIC, MODE_COUNT };
static const char *const mode_names[MODE_COUNT] = {"native-with-zerocopy", "native", "generic"};
static const uint32_t mode_xdp_flags[MODE_COUNT] = {XDP_FLAGS_DRV_MODE, XDP_FLAGS_DRV_MODE,
                                                    XDP_FLAGS_SKB_MODE};
static const uint16_t mode_bind_flags[MODE_COUNT] = {XDP_ZEROCOPY, XDP_COPY, XDP_COPY};

struct xring {
  uint32_t *producer, *consumer, *flags;
  void *desc;
  uint32_t mask;
  uint32_t size;
  void *map;
  size_t map_len;
};

struct xq {
  int fd;   /* receives: in the XSKMAP, owns the UMEM's fill and completion rings */
  int txfd; /* transmits, sharing the UMEM (see xq_open) */
  struct xring fill, comp, rx, tx;
  uint64_t base; /* this queue's UMEM offset in the whole mapping */
  uint64_t *held; /* frames handed to JavaScript, back to the fill ring at release */
  uint32_t n_held;
  uint64_t *tx_free; /* transmit frames not in the kernel's hands */
  uint32_t n_tx_free;
};

/* The UMEM mapping outlives either owner, the handle and the JavaScript ArrayBuffer over it;
 * xskClose detaches the ArrayBuffer first, so no view reaches unmapped memory. */
struct umem_map {
  uint8_t *map;
  size_t len;
  bool handle_done, ab_done;
};

struct xsk {
  char name[IF_NAMESIZE];
  int ifindex;
  int nq;
  struct xq q[XSK_MAX_QUEUES];
  int prog_fd, map_fd, link_fd;
  enum xsk_mode mode;
  bool need_wakeup;
  bool tx_only; /* no program, no map: transmit only, next to another receive path */
  uint32_t frame_size, frames;
  struct umem_map *um;
  napi_ref ab_ref;
  uint32_t next_q;
  bool closed;
  uint64_t tx_no_frame, tx_errors;
};

static const napi_type_tag xsk_tag = {0x7479706573776974ULL, 0x636878736b000001ULL};

static inline uint32_t load_acquire(const uint32_t *p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
static inline void store_release(uint32_t *p, uint32_t v) {
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static long sys_bpf(int cmd, union bpf_attr *attr) {
  return syscall(__NR_bpf, cmd, attr, sizeof *attr);
}

static void umem_map_maybe_free(struct umem_map *um) {
  if (um->handle_done && um->ab_done) {
    if (um->map) munmap(um->map, um->len);
    free(um);
  }
}

static void ab_finalize(napi_env env, void *data, void *hint) {
  (void) env;
  (void) data;
  struct umem_map *um = hint;
  um->ab_done = true;
  umem_map_maybe_free(um);
}

static void ring_unmap(struct xring *r) {
  if (r->map && r->map != MAP_FAILED) munmap(r->map, r->map_len);
  memset(r, 0, sizeof *r);
}

static void xq_close(struct xq *q) {
  ring_unmap(&q->fill);
  ring_unmap(&q->comp);
  ring_unmap(&q->rx);
  ring_unmap(&q->tx);
  /* The ring mappings hold the sockets: closing last makes the release (and unbind) now. */
  if (q->txfd >= 0) close(q->txfd);
  if (q->fd >= 0) close(q->fd);
  q->fd = q->txfd = -1;
  free(q->held);
  free(q->tx_free);
  q->held = q->tx_free = NULL;
  q->n_held = q->n_tx_free = 0;
}

/* Detaches the program (closing the link), then the sockets, map and program. */
static void xsk_teardown(struct xsk *x) {
  if (x->link_fd >= 0) close(x->link_fd);
  x->link_fd = -1;
  for (int i = 0; i < x->nq; i++) xq_close(&x->q[i]);
  if (x->map_fd >= 0) close(x->map_fd);
  if (x->prog_fd >= 0) close(x->prog_fd);
  x->map_fd = x->prog_fd = -1;
}

static int ring_map(int fd, struct xring *r, uint32_t size, const struct xdp_ring_offset *off,
                    size_t desc_size, off_t pgoff) {
  r->map_len = off->desc + size * desc_size;
  r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, pgoff);
  if (r->map == MAP_FAILED) {
    r->map = NULL;
    return -1;
  }
  uint8_t *m = r->map;
  r->producer = (uint32_t *) (m + off->producer);
  r->consumer = (uint32_t *) (m + off->consumer);
  r->flags = (uint32_t *) (m + off->flags);
  r->desc = m + off->desc;
  r->size = size;
  r->mask = size - 1;
  return 0;
}

/* One queue's socket: UMEM slice registered, rings sized and mapped, fill ring stocked, bound.
 * On failure returns -1 with *what naming the step and errno set. */
static int xq_open(struct xsk *x, int qi, uint16_t bind_flags, const char **what) {
  struct xq *q = &x->q[qi];
  uint32_t nf = x->frames, fs = x->frame_size, nrx = nf / 2;
  q->fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (q->fd < 0) {
    *what = "could not create AF_XDP socket";
    return -1;
  }
  q->base = (uint64_t) qi * nf * fs;
  struct xdp_umem_reg reg = {.addr = (uint64_t) (uintptr_t) (x->um->map + q->base),
                             .len = (uint64_t) nf * fs,
                             .chunk_size = fs,
                             .headroom = 0,
                             .flags = 0};
  if (setsockopt(q->fd, SOL_XDP, XDP_UMEM_REG, &reg, sizeof reg)) {
    *what = "could not register UMEM";
    return -1;
  }
  int rs = (int) nrx;
  if (setsockopt(q->fd, SOL_XDP, XDP_UMEM_FILL_RING, &rs, sizeof rs) ||
      setsockopt(q->fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &rs, sizeof rs) ||
      setsockopt(q->fd, SOL_XDP, XDP_RX_RING, &rs, sizeof rs)) {
    *what = "could not set up the rings";
    return -1;
  }
  struct xdp_mmap_offsets off;
  socklen_t ol = sizeof off;
  if (getsockopt(q->fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &ol) || ol != sizeof off) {
    if (!errno) errno = EOPNOTSUPP;
    *what = "could not read the ring offsets";
    return -1;
  }
  if (ring_map(q->fd, &q->fill, nrx, &off.fr, sizeof(uint64_t), XDP_UMEM_PGOFF_FILL_RING) ||
      ring_map(q->fd, &q->comp, nrx, &off.cr, sizeof(uint64_t),
               XDP_UMEM_PGOFF_COMPLETION_RING) ||
      ring_map(q->fd, &q->rx, nrx, &off.rx, sizeof(struct xdp_desc), XDP_PGOFF_RX_RING)) {
    *what = "could not map the rings";
    return -1;
  }
  q->held = calloc(nrx, sizeof *q->held);
  q->tx_free = calloc(nf - nrx, sizeof *q->tx_free);
  if (!q->held || !q->tx_free) {
    errno = ENOMEM;
    *what = "out of memory";
    return -1;
  }
  /* Frames [0, nrx) receive, [nrx, nf) transmit. */
  uint64_t *fd = q->fill.desc;
  for (uint32_t i = 0; i < nrx; i++) fd[i] = (uint64_t) i * fs;
  store_release(q->fill.producer, nrx);
  for (uint32_t i = 0; i < nf - nrx; i++) q->tx_free[i] = (uint64_t) (nrx + i) * fs;
  q->n_tx_free = nf - nrx;

  struct sockaddr_xdp sx = {.sxdp_family = AF_XDP,
                            .sxdp_flags = (uint16_t) (bind_flags |
                                                      (x->need_wakeup ? XDP_USE_NEED_WAKEUP : 0)),
                            .sxdp_ifindex = (uint32_t) x->ifindex,
                            .sxdp_queue_id = (uint32_t) qi};
  /* A socket closed just before (the port reopened, or handed to another thread) frees its
   * queue from a kernel work item: EBUSY for a moment, then the queue is free. */
  int r;
  for (int tries = 0; (r = bind(q->fd, (struct sockaddr *) &sx, sizeof sx)) && errno == EBUSY &&
                      tries < 50;
       tries++)
    usleep(2000);
  if (r) {
    *what = "could not bind AF_XDP socket";
    return -1;
  }

  /* Transmit through a second socket on the same queue and UMEM (XDP_SHARED_UMEM): every
   * frame sent is an skb whose destructor wakes its socket's waiters, and epoll waits on the
   * receiving socket.  Nobody waits on this one, so no wake-up per frame. */
  q->txfd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (q->txfd < 0) {
    *what = "could not create AF_XDP socket";
    return -1;
  }
  if (setsockopt(q->txfd, SOL_XDP, XDP_TX_RING, &rs, sizeof rs)) {
    *what = "could not set up the transmit ring";
    return -1;
  }
  ol = sizeof off;
  if (getsockopt(q->txfd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &ol) || ol != sizeof off) {
    if (!errno) errno = EOPNOTSUPP;
    *what = "could not read the ring offsets";
    return -1;
  }
  if (ring_map(q->txfd, &q->tx, nrx, &off.tx, sizeof(struct xdp_desc), XDP_PGOFF_TX_RING)) {
    *what = "could not map the rings";
    return -1;
  }
  struct sockaddr_xdp st = {.sxdp_family = AF_XDP,
                            .sxdp_flags = XDP_SHARED_UMEM,
                            .sxdp_ifindex = (uint32_t) x->ifindex,
                            .sxdp_queue_id = (uint32_t) qi,
                            .sxdp_shared_umem_fd = (uint32_t) q->fd};
  if (bind(q->txfd, (struct sockaddr *) &st, sizeof st)) {
    *what = "could not bind AF_XDP transmit socket";
    return -1;
  }
  return 0;
}

/* The program: r2 = ctx->rx_queue_index; return bpf_redirect_map(&xskmap, r2, XDP_PASS).
 * The low bits of the flags argument are what the helper returns when the map has no socket
 * for the queue (kernel 5.3 and later). */
static int load_program(int map_fd, char *log, size_t log_size) {
  struct bpf_insn insns[] = {
    {.code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = 2, .src_reg = 1,
     .off = (int16_t) offsetof(struct xdp_md, rx_queue_index)},
    {.code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = 1, .src_reg = BPF_PSEUDO_MAP_FD, .imm = map_fd},
    {.code = 0},
    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 3, .imm = XDP_PASS},
    {.code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_redirect_map},
    {.code = BPF_JMP | BPF_EXIT},
  };
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_XDP;
  a.insns = (uint64_t) (uintptr_t) insns;
  a.insn_cnt = sizeof insns / sizeof insns[0];
  a.license = (uint64_t) (uintptr_t) "GPL";
  a.log_buf = (uint64_t) (uintptr_t) log;
  a.log_size = (uint32_t) log_size;
  a.log_level = 1;
  memcpy(a.prog_name, "typeswitch_xsk", 15);
  int fd = (int) sys_bpf(BPF_PROG_LOAD, &a);
  if (fd < 0 && errno == EINVAL) {
    /* Kernels without program names refuse the field. */
    memset(a.prog_name, 0, sizeof a.prog_name);
    fd = (int) sys_bpf(BPF_PROG_LOAD, &a);
  }
  return fd;
}

/* One attempt at a mode: every queue's socket, the map, the program, the link.  On failure
 * everything is undone and *what says which step failed (errno set). */
static int xsk_setup(struct xsk *x, enum xsk_mode m, const char **what) {
  x->mode = m;
  for (int i = 0; i < x->nq; i++) x->q[i].fd = x->q[i].txfd = -1;
  x->prog_fd = x->map_fd = x->link_fd = -1;
  int e;
  for (int i = 0; i < x->nq; i++)
    if (xq_open(x, i, mode_bind_flags[m], what)) goto fail;
  if (x->tx_only) return 0;

  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_type = BPF_MAP_TYPE_XSKMAP;
  a.key_size = 4;
  a.value_size = 4;
  a.max_entries = (uint32_t) x->nq;
  x->map_fd = (int) sys_bpf(BPF_MAP_CREATE, &a);
  if (x->map_fd < 0) {
    *what = "could not create the XSKMAP";
    goto fail;
  }
  for (int i = 0; i < x->nq; i++) {
    uint32_t key = (uint32_t) i, val = (uint32_t) x->q[i].fd;
    memset(&a, 0, sizeof a);
    a.map_fd = (uint32_t) x->map_fd;
    a.key = (uint64_t) (uintptr_t) &key;
    a.value = (uint64_t) (uintptr_t) &val;
    if (sys_bpf(BPF_MAP_UPDATE_ELEM, &a) < 0) {
      *what = "could not add the socket to the XSKMAP";
      goto fail;
    }
  }
  char log[512];
  log[0] = 0;
  x->prog_fd = load_program(x->map_fd, log, sizeof log);
  if (x->prog_fd < 0) {
    *what = "could not load the XDP program";
    goto fail;
  }
  memset(&a, 0, sizeof a);
  a.link_create.prog_fd = (uint32_t) x->prog_fd;
  a.link_create.target_ifindex = (uint32_t) x->ifindex;
  a.link_create.attach_type = BPF_XDP;
  a.link_create.flags = mode_xdp_flags[m];
  x->link_fd = (int) sys_bpf(BPF_LINK_CREATE, &a);
  if (x->link_fd < 0) {
    *what = errno == EBUSY || errno == EEXIST ? "another XDP program is attached"
                                              : "could not attach the XDP program";
    goto fail;
  }
  return 0;
fail:
  e = errno ? errno : EINVAL;
  xsk_teardown(x);
  errno = e;
  return -1;
}

static void xsk_shutdown(napi_env env, struct xsk *x, bool can_detach) {
  if (x->closed) return;
  x->closed = true;
  xsk_teardown(x);
  if (x->ab_ref) {
    if (can_detach) {
      napi_value ab;
      if (napi_get_reference_value(env, x->ab_ref, &ab) == napi_ok && ab) {
        if (napi_detach_arraybuffer(env, ab) == napi_ok && x->um->map) {
          munmap(x->um->map, x->um->len);
          x->um->map = NULL;
        }
      }
    }
    napi_delete_reference(env, x->ab_ref);
    x->ab_ref = NULL;
  }
  if (x->um) {
    x->um->handle_done = true;
    umem_map_maybe_free(x->um);
    x->um = NULL;
  }
}

static void xsk_finalize(napi_env env, void *data, void *hint) {
  (void) hint;
  struct xsk *x = data;
  xsk_shutdown(env, x, false);
  free(x);
}

static bool is_xsk(napi_env env, napi_value v) {
  bool ok = false;
  napi_valuetype t;
  if (!v || napi_typeof(env, v, &t) != napi_ok || t != napi_object) return false;
  return napi_check_object_type_tag(env, v, &xsk_tag, &ok) == napi_ok && ok;
}

static struct xsk *get_xsk(napi_env env, napi_value v, const char *fn) {
  struct xsk *x = NULL;
  if (!is_xsk(env, v) || napi_unwrap(env, v, (void **) &x) != napi_ok || !x) {
    char msg[120];
    snprintf(msg, sizeof msg, "%s: expected a socket from xskOpen()", fn);
    ts_throw_type(env, msg);
    return NULL;
  }
  if (x->closed) {
    ts_throw_errno(env, EBADF, fn, "%s: socket is closed", x->name);
    return NULL;
  }
  return x;
}

static int parse_mode(const char *s) {
  if (!strcasecmp(s, "best-effort")) return -1;
  for (int m = 0; m < MODE_COUNT; m++)
    if (!strcasecmp(s, mode_names[m])) return m;
  return -2;
}

/* xskOpen(name, {mode, queues, frameSize, frames, needWakeup}) -> handle with fds (one per
 * queue), ifindex, umem (ArrayBuffer), frameSize, mode (the one in use), needWakeup. */
static napi_value xsk_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  const char *fn = "xskOpen";
  char name[IF_NAMESIZE];
  if (ts_arg_string(env, argv[0], name, sizeof name, "xskOpen(name)")) return NULL;
  napi_value o = argc > 1 ? argv[1] : NULL;
  int32_t nq = 1, fs = XSK_DEFAULT_FRAME_SIZE, nf = XSK_DEFAULT_FRAMES;
  int need_wakeup = 1, tx_only = 0;
  char mode_s[32] = "best-effort";
  if (ts_opt_int32(env, o, "queues", &nq, fn) || ts_opt_int32(env, o, "frameSize", &fs, fn) ||
      ts_opt_int32(env, o, "frames", &nf, fn) ||
      ts_opt_bool(env, o, "needWakeup", &need_wakeup, fn) ||
      ts_opt_bool(env, o, "txOnly", &tx_only, fn))
    return NULL;
  if (o) {
    bool has = false;
    napi_has_named_property(env, o, "mode", &has);
    if (has) {
      napi_value mv;
      napi_valuetype t;
      napi_get_named_property(env, o, "mode", &mv);
      napi_typeof(env, mv, &t);
      if (t != napi_undefined && ts_arg_string(env, mv, mode_s, sizeof mode_s, "xskOpen(mode)"))
        return NULL;
    }
  }
  int want = parse_mode(mode_s);
  if (want == -2) return ts_throw_range(env, "xskOpen: unknown mode");
  if (nq < 1 || nq > XSK_MAX_QUEUES || (fs != 2048 && fs != 4096) || nf < 64 || nf > 65536 ||
      (nf & (nf - 1)))
    return ts_throw_range(env, "xskOpen: option out of range");

  int ifindex = (int) if_nametoindex(name);
  if (!ifindex)
    return ts_throw_errno(env, errno, "if_nametoindex", "%s: could not open network device",
                          name);

  struct xsk *x = calloc(1, sizeof *x);
  struct umem_map *um = calloc(1, sizeof *um);
  if (!x || !um) {
    free(x);
    free(um);
    return ts_throw_errno(env, ENOMEM, "calloc", "%s: out of memory", name);
  }
  memcpy(x->name, name, sizeof name);
  x->ifindex = ifindex;
  x->nq = nq;
  x->frame_size = (uint32_t) fs;
  x->frames = (uint32_t) nf;
  x->need_wakeup = need_wakeup != 0;
  x->tx_only = tx_only != 0;
  um->len = (size_t) nq * (size_t) nf * (size_t) fs;
  um->map = mmap(NULL, um->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                 -1, 0);
  if (um->map == MAP_FAILED) {
    int e = errno;
    free(x);
    free(um);
    return ts_throw_errno(env, e, "mmap", "%s: could not map the UMEM", name);
  }
  x->um = um;

  const char *what = "no XDP mode worked";
  int err = EINVAL, ok = -1;
  int first = want < 0 ? 0 : want, last = want < 0 ? MODE_COUNT - 1 : want;
  /* Transmit only: copy mode, which needs no program on the device. */
  if (x->tx_only) first = last = MODE_GENERIC;
  for (int m = first; m <= last; m++) {
    errno = 0;
    if (xsk_setup(x, (enum xsk_mode) m, &what) == 0) {
      ok = m;
      break;
    }
    err = errno ? errno : EINVAL;
  }
  if (ok < 0) {
    munmap(um->map, um->len);
    free(um);
    free(x);
    const char *sc = strstr(what, "bind") ? "bind" : strstr(what, "socket") ? "socket" : "bpf";
    return ts_throw_errno(env, err, sc, "%s: %s", name, what);
  }

  napi_value obj, ab, fds;
  napi_create_object(env, &obj);
  if (napi_create_external_arraybuffer(env, um->map, um->len, ab_finalize, um, &ab) != napi_ok) {
    um->ab_done = true;
    napi_get_undefined(env, &ab);
  }
  napi_create_reference(env, ab, 1, &x->ab_ref);
  napi_wrap(env, obj, x, xsk_finalize, NULL, NULL);
  napi_type_tag_object(env, obj, &xsk_tag);
  napi_create_array_with_length(env, (size_t) nq, &fds);
  for (int i = 0; i < nq; i++) napi_set_element(env, fds, (uint32_t) i, ts_int(env, x->q[i].fd));
  napi_value mode_v;
  napi_create_string_utf8(env, mode_names[ok], NAPI_AUTO_LENGTH, &mode_v);
  napi_set_named_property(env, obj, "fds", fds);
  napi_set_named_property(env, obj, "ifindex", ts_int(env, ifindex));
  napi_set_named_property(env, obj, "umem", ab);
  napi_set_named_property(env, obj, "frameSize", ts_int(env, fs));
  napi_set_named_property(env, obj, "mode", mode_v);
  napi_set_named_property(env, obj, "needWakeup", ts_bool(env, x->need_wakeup));
  return obj;
}

/* Copy mode sends at most a few dozen frames per call (EAGAIN: more are waiting); a busy
 * device says EBUSY or ENOBUFS and keeps the rest queued for the next kick. */
static int tx_kick(struct xsk *x, struct xq *q) {
  /* In copy mode only a system call sends; zero-copy drivers say when they need one. */
  bool zc = x->mode == MODE_NATIVE_ZC;
  for (int t = 0; t < XSK_KICK_TRIES; t++) {
    if (zc && x->need_wakeup && !(load_acquire(q->tx.flags) & XDP_RING_NEED_WAKEUP)) return 0;
    if (sendto(q->txfd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0) {
      if (*q->tx.consumer == *q->tx.producer) return 0;
      continue;
    }
    /* EBUSY: the device dropped one frame (a veth whose peer's backlog is full); the rest
     * are still queued.  A frame left in the ring goes at the next kick (xskRecv looks). */
    if (errno == EAGAIN || errno == EINTR || errno == EBUSY || errno == ENOBUFS) continue;
    return errno;
  }
  return 0;
}

/* xskRecv(handle, out: Uint32Array, max) -> n: out[2i] = offset of frame i in `umem`,
 * out[2i+1] = its length.  Frames stay valid until xskRelease(). */
static napi_value xsk_recv(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = {NULL, NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct xsk *x = get_xsk(env, argv[0], "xskRecv");
  if (!x) return NULL;
  uint32_t *out;
  size_t out_len;
  int32_t max;
  if (ts_arg_u32_array(env, argv[1], &out, &out_len, "xskRecv(out)") ||
      ts_arg_int32(env, argv[2], &max, "xskRecv(max)"))
    return NULL;
  if (max < 0 || (size_t) max * 2 > out_len)
    return ts_throw_range(env, "xskRecv: max must be >= 0 and out must hold 2*max entries");
  uint32_t n = 0;
  for (int k = 0; k < x->nq && n < (uint32_t) max; k++) {
    struct xq *q = &x->q[(x->next_q + (uint32_t) k) % (uint32_t) x->nq];
    struct xring *r = &q->rx;
    uint32_t cons = *r->consumer;
    uint32_t avail = load_acquire(r->producer) - cons;
    if (avail == 0) continue;
    uint32_t room = (uint32_t) max - n;
    if (avail > room) avail = room;
    const struct xdp_desc *d = r->desc;
    for (uint32_t i = 0; i < avail; i++) {
      const struct xdp_desc *e = &d[(cons + i) & r->mask];
      q->held[q->n_held++] = e->addr;
      out[2 * n] = (uint32_t) (q->base + e->addr);
      out[2 * n + 1] = e->len;
      n++;
    }
    store_release(r->consumer, cons + avail);
  }
  if (x->nq > 1) x->next_q = (x->next_q + 1) % (uint32_t) x->nq;
  struct xq *t = &x->q[0];
  if (*t->tx.producer != load_acquire(t->tx.consumer)) tx_kick(x, t);
  return ts_int(env, n);
}

/* xskRelease(handle): every frame returned so far goes back to the fill ring. */
static napi_value xsk_release(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct xsk *x = get_xsk(env, argv[0], "xskRelease");
  if (!x) return NULL;
  uint64_t chunk_mask = ~(uint64_t) (x->frame_size - 1);
  for (int k = 0; k < x->nq; k++) {
    struct xq *q = &x->q[k];
    if (q->n_held == 0) continue;
    struct xring *r = &q->fill;
    uint32_t prod = *r->producer;
    uint64_t *d = r->desc;
    /* Frames in the fill ring, the receive ring and held add up to the ring's size: the
     * held ones always fit. */
    for (uint32_t i = 0; i < q->n_held; i++) d[(prod + i) & r->mask] = q->held[i] & chunk_mask;
    store_release(r->producer, prod + q->n_held);
    q->n_held = 0;
    if (x->need_wakeup && (load_acquire(r->flags) & XDP_RING_NEED_WAKEUP))
      recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
  }
  return ts_undefined(env);
}

static void reclaim_tx(struct xq *q) {
  struct xring *c = &q->comp;
  uint32_t cons = *c->consumer;
  uint32_t n = load_acquire(c->producer) - cons;
  const uint64_t *d = c->desc;
  for (uint32_t i = 0; i < n; i++) q->tx_free[q->n_tx_free++] = d[(cons + i) & c->mask];
  if (n) store_release(c->consumer, cons + n);
}

/* xskSend(handle, buf, desc: Uint32Array of (offset, length) pairs, n) -> frames queued; fewer
 * than n when every transmit frame is still in the kernel's hands. */
static napi_value xsk_send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4] = {NULL, NULL, NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  const char *fn = "xskSend";
  struct xsk *x = get_xsk(env, argv[0], fn);
  if (!x) return NULL;
  uint8_t *buf;
  size_t buf_len, desc_len;
  uint32_t *desc;
  int32_t n;
  if (ts_arg_bytes(env, argv[1], &buf, &buf_len, fn) ||
      ts_arg_u32_array(env, argv[2], &desc, &desc_len, fn) || ts_arg_int32(env, argv[3], &n, fn))
    return NULL;
  if (n < 0 || (size_t) n * 2 > desc_len)
    return ts_throw_range(env, "xskSend: n must be >= 0 and desc must hold 2*n entries");
  for (int32_t k = 0; k < n; k++)
    if ((uint64_t) desc[2 * k] + desc[2 * k + 1] > buf_len)
      return ts_throw_range(env, "xskSend: a frame lies outside the buffer");
  struct xq *q = &x->q[0];
  reclaim_tx(q);
  struct xring *r = &q->tx;
  uint32_t prod = *r->producer;
  uint32_t room = r->size - (prod - load_acquire(r->consumer));
  struct xdp_desc *d = r->desc;
  uint8_t *umem = x->um->map + q->base;
  int32_t i = 0;
  uint32_t queued = 0;
  for (; i < n; i++) {
    uint64_t off = desc[2 * i], len = desc[2 * i + 1];
    if (len > x->frame_size || len < 14) {
      x->tx_errors++;
      continue;
    }
    if (q->n_tx_free == 0 || queued == room) {
      if (q->n_tx_free == 0) x->tx_no_frame++;
      break;
    }
    uint64_t a = q->tx_free[--q->n_tx_free];
    memcpy(umem + a, buf + off, len);
    struct xdp_desc *e = &d[(prod + queued) & r->mask];
    e->addr = a;
    e->len = (uint32_t) len;
    e->options = 0;
    queued++;
  }
  if (queued) {
    store_release(r->producer, prod + queued);
    int e = tx_kick(x, q);
    if (e) return ts_throw_errno(env, e, "sendto", "%s: transmit failed", x->name);
  }
  return ts_int(env, i);
}

/* xskStats(handle) -> XDP_STATISTICS summed over the queues, plus our own counters. */
static napi_value xsk_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct xsk *x = get_xsk(env, argv[0], "xskStats");
  if (!x) return NULL;
  struct xdp_statistics sum;
  memset(&sum, 0, sizeof sum);
  for (int i = 0; i < x->nq; i++) {
    for (int k = 0; k < 2; k++) {
      struct xdp_statistics st;
      memset(&st, 0, sizeof st);
      socklen_t len = sizeof st;
      if (getsockopt(k ? x->q[i].txfd : x->q[i].fd, SOL_XDP, XDP_STATISTICS, &st, &len)) continue;
      sum.rx_dropped += st.rx_dropped;
      sum.rx_invalid_descs += st.rx_invalid_descs;
      sum.tx_invalid_descs += st.tx_invalid_descs;
      sum.rx_ring_full += st.rx_ring_full;
      sum.rx_fill_ring_empty_descs += st.rx_fill_ring_empty_descs;
      sum.tx_ring_empty_descs += st.tx_ring_empty_descs;
    }
  }
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "rxDropped", ts_int(env, (int64_t) sum.rx_dropped));
  napi_set_named_property(env, o, "rxInvalidDescs", ts_int(env, (int64_t) sum.rx_invalid_descs));
  napi_set_named_property(env, o, "txInvalidDescs", ts_int(env, (int64_t) sum.tx_invalid_descs));
  napi_set_named_property(env, o, "rxRingFull", ts_int(env, (int64_t) sum.rx_ring_full));
  napi_set_named_property(env, o, "rxFillRingEmpty",
                          ts_int(env, (int64_t) sum.rx_fill_ring_empty_descs));
  napi_set_named_property(env, o, "txNoFrame", ts_int(env, (int64_t) x->tx_no_frame));
  napi_set_named_property(env, o, "txErrors", ts_int(env, (int64_t) x->tx_errors));
  return o;
}

/* xskClose(handle): idempotent.  Detaches the XDP program and the UMEM ArrayBuffer. */
static napi_value xsk_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct xsk *x = NULL;
  if (!is_xsk(env, argv[0]) || napi_unwrap(env, argv[0], (void **) &x) != napi_ok || !x)
    return ts_throw_type(env, "xskClose: expected a socket from xskOpen()");
  xsk_shutdown(env, x, true);
  return ts_undefined(env);
}

void ts_af_xdp_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    TS_FN("xskOpen", xsk_open),       TS_FN("xskRecv", xsk_recv),
    TS_FN("xskRelease", xsk_release), TS_FN("xskSend", xsk_send),
    TS_FN("xskStats", xsk_stats),     TS_FN("xskClose", xsk_close),
  };
  ts_register(env, exports, props, sizeof props / sizeof props[0]);
}
