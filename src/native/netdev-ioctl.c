/*
 * TAP devices and interface ioctls: what netdev's internal and tap ports need from the kernel
 * beyond AF_PACKET.  Also setns(2), so a process (a test, or a switch serving one namespace
 * from another) can create sockets and devices inside a network namespace it names.
 */
#define _GNU_SOURCE
#include "native-util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static napi_value get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  for (size_t i = 0; i < want; i++) argv[i] = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  return NULL;
}

/* The ioctl socket is made per call: it belongs to the namespace current at that moment,
 * which is what callers switching namespaces expect. */
static int ifreq_ioctl(napi_env env, const char *name, unsigned long req, struct ifreq *ifr,
                       const char *what) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ts_throw_errno(env, errno, "socket", "%s: %s", name, what);
    return -1;
  }
  memset(ifr->ifr_name, 0, IFNAMSIZ);
  memcpy(ifr->ifr_name, name, strnlen(name, IFNAMSIZ - 1));
  int r = ioctl(fd, req, ifr);
  int e = errno;
  close(fd);
  if (r < 0) {
    ts_throw_errno(env, e, "ioctl", "%s: %s", name, what);
    return -1;
  }
  return 0;
}

/* tapOpen(name, {create}) -> {fd, name}.  Attaches to the TAP device `name`, creating it
 * (non-persistent: it goes away with the fd) when it does not exist and create is true. */
static napi_value tap_open(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  get_args(env, info, 2, argv);
  char name[IFNAMSIZ];
  if (ts_arg_string(env, argv[0], name, sizeof name, "tapOpen(name)")) return NULL;
  int create = 1;
  if (ts_opt_bool(env, argv[1], "create", &create, "tapOpen")) return NULL;
  if (!create && !if_nametoindex(name))
    return ts_throw_errno(env, ENODEV, "if_nametoindex", "%s: could not open network device", name);
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return ts_throw_errno(env, errno, "open", "%s: could not open /dev/net/tun", name);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, strlen(name));
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    return ts_throw_errno(env, e, "ioctl", "%s: could not attach to TAP device", name);
  }
  napi_value o, s;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "fd", ts_int(env, fd));
  napi_create_string_utf8(env, ifr.ifr_name, NAPI_AUTO_LENGTH, &s);
  napi_set_named_property(env, o, "name", s);
  return o;
}

/* fdReadBatch(fd, buf, slotSize, out, max) -> n.  Reads up to max frames, frame i into
 * buf[i*slotSize...], out[2i] = offset, out[2i+1] = length.  Stops at EAGAIN. */
static napi_value fd_read_batch(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  get_args(env, info, 5, argv);
  int32_t fd, slot, max;
  uint8_t *buf;
  size_t buf_len, out_len;
  uint32_t *out;
  const char *fn = "fdReadBatch";
  if (ts_arg_int32(env, argv[0], &fd, fn) || ts_arg_bytes(env, argv[1], &buf, &buf_len, fn) ||
      ts_arg_int32(env, argv[2], &slot, fn) || ts_arg_u32_array(env, argv[3], &out, &out_len, fn) ||
      ts_arg_int32(env, argv[4], &max, fn))
    return NULL;
  if (fd < 0 || slot <= 0 || max < 0 || (size_t) max * 2 > out_len ||
      (size_t) max * (size_t) slot > buf_len)
    return ts_throw_range(env, "fdReadBatch: buf must hold max slots and out 2*max entries");
  int32_t n = 0;
  while (n < max) {
    ssize_t r = read(fd, buf + (size_t) n * slot, (size_t) slot);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (n > 0) break; /* report what we have; the error recurs on the next call */
      return ts_throw_errno(env, errno, "read", "fd %d: read failed", fd);
    }
    out[2 * n] = (uint32_t) ((size_t) n * slot);
    out[2 * n + 1] = (uint32_t) r;
    n++;
  }
  return ts_int(env, n);
}

/* fdWriteBatch(fd, buf, desc, n) -> frames written (one write(2) per frame: a TAP fd takes
 * exactly one frame per write).  Stops early at EAGAIN. */
static napi_value fd_write_batch(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  get_args(env, info, 4, argv);
  int32_t fd, n;
  uint8_t *buf;
  size_t buf_len, desc_len;
  uint32_t *desc;
  const char *fn = "fdWriteBatch";
  if (ts_arg_int32(env, argv[0], &fd, fn) || ts_arg_bytes(env, argv[1], &buf, &buf_len, fn) ||
      ts_arg_u32_array(env, argv[2], &desc, &desc_len, fn) || ts_arg_int32(env, argv[3], &n, fn))
    return NULL;
  if (fd < 0 || n < 0 || (size_t) n * 2 > desc_len)
    return ts_throw_range(env, "fdWriteBatch: desc must hold 2*n entries");
  for (int32_t i = 0; i < n; i++)
    if ((uint64_t) desc[2 * i] + desc[2 * i + 1] > buf_len)
      return ts_throw_range(env, "fdWriteBatch: a frame lies outside the buffer");
  int32_t done = 0;
  while (done < n) {
    ssize_t r = write(fd, buf + desc[2 * done], desc[2 * done + 1]);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINVAL || errno == EMSGSIZE) { /* one malformed frame: skip it */
        done++;
        continue;
      }
      if (done > 0) break;
      return ts_throw_errno(env, errno, "write", "fd %d: write failed", fd);
    }
    done++;
  }
  return ts_int(env, done);
}

static napi_value fd_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  get_args(env, info, 1, argv);
  int32_t fd;
  if (ts_arg_int32(env, argv[0], &fd, "fdClose(fd)")) return NULL;
  if (close(fd) < 0) return ts_throw_errno(env, errno, "close", "fd %d: close failed", fd);
  return ts_undefined(env);
}

/* ifGetFlags(name) -> IFF_* flags (16 bits: IFF_UP 0x1, IFF_RUNNING 0x40, IFF_PROMISC 0x100). */
static napi_value if_get_flags(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  get_args(env, info, 1, argv);
  char name[IFNAMSIZ];
  if (ts_arg_string(env, argv[0], name, sizeof name, "ifGetFlags(name)")) return NULL;
  struct ifreq ifr;
  if (ifreq_ioctl(env, name, SIOCGIFFLAGS, &ifr, "could not get interface flags")) return NULL;
  return ts_int(env, (uint16_t) ifr.ifr_flags);
}

/* ifUpdateFlags(name, set, clear) -> the new flags. */
static napi_value if_update_flags(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  get_args(env, info, 3, argv);
  char name[IFNAMSIZ];
  int32_t set, clear;
  if (ts_arg_string(env, argv[0], name, sizeof name, "ifUpdateFlags(name)") ||
      ts_arg_int32(env, argv[1], &set, "ifUpdateFlags(set)") ||
      ts_arg_int32(env, argv[2], &clear, "ifUpdateFlags(clear)"))
    return NULL;
  struct ifreq ifr;
  if (ifreq_ioctl(env, name, SIOCGIFFLAGS, &ifr, "could not get interface flags")) return NULL;
  int flags = ((uint16_t) ifr.ifr_flags | set) & ~clear;
  if (flags != (uint16_t) ifr.ifr_flags) {
    ifr.ifr_flags = (short) flags;
    if (ifreq_ioctl(env, name, SIOCSIFFLAGS, &ifr, "could not set interface flags")) return NULL;
  }
  return ts_int(env, (uint16_t) flags);
}

static napi_value if_get_mtu(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  get_args(env, info, 1, argv);
  char name[IFNAMSIZ];
  if (ts_arg_string(env, argv[0], name, sizeof name, "ifGetMtu(name)")) return NULL;
  struct ifreq ifr;
  if (ifreq_ioctl(env, name, SIOCGIFMTU, &ifr, "could not get MTU")) return NULL;
  return ts_int(env, ifr.ifr_mtu);
}

static napi_value if_set_mtu(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  get_args(env, info, 2, argv);
  char name[IFNAMSIZ];
  int32_t mtu;
  if (ts_arg_string(env, argv[0], name, sizeof name, "ifSetMtu(name)") ||
      ts_arg_int32(env, argv[1], &mtu, "ifSetMtu(mtu)"))
    return NULL;
  struct ifreq ifr;
  ifr.ifr_mtu = mtu;
  if (ifreq_ioctl(env, name, SIOCSIFMTU, &ifr, "could not set MTU")) return NULL;
  return ts_undefined(env);
}

/* ifGetHwaddr(name) -> 6-byte Buffer. */
static napi_value if_get_hwaddr(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  get_args(env, info, 1, argv);
  char name[IFNAMSIZ];
  if (ts_arg_string(env, argv[0], name, sizeof name, "ifGetHwaddr(name)")) return NULL;
  struct ifreq ifr;
  if (ifreq_ioctl(env, name, SIOCGIFHWADDR, &ifr, "could not get MAC address")) return NULL;
  napi_value b;
  void *p;
  napi_create_buffer_copy(env, 6, ifr.ifr_hwaddr.sa_data, &p, &b);
  return b;
}

static napi_value if_set_hwaddr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  get_args(env, info, 2, argv);
  char name[IFNAMSIZ];
  uint8_t *mac;
  size_t len;
  if (ts_arg_string(env, argv[0], name, sizeof name, "ifSetHwaddr(name)") ||
      ts_arg_bytes(env, argv[1], &mac, &len, "ifSetHwaddr(mac)"))
    return NULL;
  if (len != 6) return ts_throw_range(env, "ifSetHwaddr: a MAC address is 6 bytes");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
  if (ifreq_ioctl(env, name, SIOCSIFHWADDR, &ifr, "could not set MAC address")) return NULL;
  return ts_undefined(env);
}

static napi_value if_index(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  get_args(env, info, 1, argv);
  char name[IFNAMSIZ];
  if (ts_arg_string(env, argv[0], name, sizeof name, "ifIndex(name)")) return NULL;
  unsigned idx = if_nametoindex(name);
  if (!idx) return ts_throw_errno(env, errno, "if_nametoindex", "%s: could not open network device", name);
  return ts_int(env, idx);
}

/* ifCarrier(name) -> true/false: the link detected (ETHTOOL_GLINK), falling back to
 * IFF_RUNNING for drivers without ethtool link reporting. */
static napi_value if_carrier(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  get_args(env, info, 1, argv);
  char name[IFNAMSIZ];
  if (ts_arg_string(env, argv[0], name, sizeof name, "ifCarrier(name)")) return NULL;
  struct ifreq ifr;
  if (ifreq_ioctl(env, name, SIOCGIFFLAGS, &ifr, "could not get interface flags")) return NULL;
  int running = (ifr.ifr_flags & IFF_RUNNING) != 0;
  int up = (ifr.ifr_flags & IFF_UP) != 0;
  struct ethtool_value ev = {.cmd = ETHTOOL_GLINK};
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, name, strlen(name));
    ifr.ifr_data = (void *) &ev;
    int r = ioctl(fd, SIOCETHTOOL, &ifr);
    close(fd);
    /* A down interface reports no carrier whatever the driver says, as the kernel does. */
    if (r == 0) return ts_bool(env, up && ev.data);
  }
  return ts_bool(env, running);
}

/* netnsEnter(path) -> fd of the namespace the calling thread was in (give it to netnsRestore). */
static napi_value netns_enter(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  get_args(env, info, 1, argv);
  char path[512];
  if (ts_arg_string(env, argv[0], path, sizeof path, "netnsEnter(path)")) return NULL;
  int old = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (old < 0) return ts_throw_errno(env, errno, "open", "%s: could not open current network namespace", path);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    close(old);
    return ts_throw_errno(env, e, "open", "%s: could not open network namespace", path);
  }
  if (setns(fd, CLONE_NEWNET) < 0) {
    int e = errno;
    close(fd);
    close(old);
    return ts_throw_errno(env, e, "setns", "%s: could not enter network namespace", path);
  }
  close(fd);
  return ts_int(env, old);
}

/* netnsRestore(fd): returns the calling thread to the namespace netnsEnter() saved, closes fd. */
static napi_value netns_restore(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  get_args(env, info, 1, argv);
  int32_t fd;
  if (ts_arg_int32(env, argv[0], &fd, "netnsRestore(fd)")) return NULL;
  int r = setns(fd, CLONE_NEWNET);
  int e = errno;
  close(fd);
  if (r < 0) return ts_throw_errno(env, e, "setns", "could not return to the previous network namespace");
  return ts_undefined(env);
}

void ts_netdev_ioctl_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    TS_FN("tapOpen", tap_open),          TS_FN("fdReadBatch", fd_read_batch),
    TS_FN("fdWriteBatch", fd_write_batch), TS_FN("fdClose", fd_close),
    TS_FN("ifGetFlags", if_get_flags),   TS_FN("ifUpdateFlags", if_update_flags),
    TS_FN("ifGetMtu", if_get_mtu),       TS_FN("ifSetMtu", if_set_mtu),
    TS_FN("ifGetHwaddr", if_get_hwaddr), TS_FN("ifSetHwaddr", if_set_hwaddr),
    TS_FN("ifIndex", if_index),          TS_FN("ifCarrier", if_carrier),
    TS_FN("netnsEnter", netns_enter),    TS_FN("netnsRestore", netns_restore),
  };
  ts_register(env, exports, props, sizeof props / sizeof props[0]);
}
