/*
 * Link notifications from the kernel (rtnetlink, RTMGRP_LINK): admin state, carrier, MTU and
 * MAC changes as they happen, so ports follow link state without polling.  Control-plane
 * traffic only, so the messages become plain JS objects.
 */
#define _GNU_SOURCE
#include "native-util.h"

#include <errno.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* rtnlOpen() -> fd subscribed to link changes (non-blocking). */
static napi_value rtnl_open(napi_env env, napi_callback_info info) {
  (void) info;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
  if (fd < 0) return ts_throw_errno(env, errno, "socket", "rtnetlink: could not open socket");
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
  if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    return ts_throw_errno(env, e, "bind", "rtnetlink: could not subscribe to link changes");
  }
  return ts_int(env, fd);
}

/* rtnlRequestLinks(fd): asks for every link; the answers arrive through rtnlRead() like
 * notifications (and end with {type: 'done'}). */
static napi_value rtnl_request_links(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  if (ts_arg_int32(env, argv[0], &fd, "rtnlRequestLinks(fd)")) return NULL;
  struct {
    struct nlmsghdr nh;
    struct ifinfomsg ifi;
  } req;
  memset(&req, 0, sizeof req);
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = RTM_GETLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = 1;
  req.ifi.ifi_family = AF_UNSPEC;
  if (send(fd, &req, sizeof req, 0) < 0)
    return ts_throw_errno(env, errno, "send", "rtnetlink: could not request links");
  return ts_undefined(env);
}

static void set_str(napi_env env, napi_value o, const char *k, const char *v) {
  napi_value s;
  napi_create_string_utf8(env, v, NAPI_AUTO_LENGTH, &s);
  napi_set_named_property(env, o, k, s);
}

static napi_value link_object(napi_env env, const struct nlmsghdr *nh) {
  const struct ifinfomsg *ifi = NLMSG_DATA(nh);
  napi_value o;
  napi_create_object(env, &o);
  set_str(env, o, "type", nh->nlmsg_type == RTM_NEWLINK ? "new" : "del");
  napi_set_named_property(env, o, "ifindex", ts_int(env, ifi->ifi_index));
  napi_set_named_property(env, o, "flags", ts_int(env, ifi->ifi_flags));
  napi_set_named_property(env, o, "adminUp", ts_bool(env, ifi->ifi_flags & IFF_UP));
  /* IFF_LOWER_UP is the carrier as the driver reports it; IFLA_CARRIER says the same. */
  napi_set_named_property(env, o, "carrier", ts_bool(env, ifi->ifi_flags & IFF_LOWER_UP));
  int len = (int) IFLA_PAYLOAD(nh);
  for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    const void *d = RTA_DATA(a);
    size_t dl = RTA_PAYLOAD(a);
    switch (a->rta_type) {
      case IFLA_IFNAME: {
        char name[IFNAMSIZ] = {0};
        memcpy(name, d, dl < IFNAMSIZ - 1 ? dl : IFNAMSIZ - 1);
        set_str(env, o, "name", name);
        break;
      }
      case IFLA_MTU:
        if (dl >= 4) napi_set_named_property(env, o, "mtu", ts_int(env, *(const uint32_t *) d));
        break;
      case IFLA_OPERSTATE:
        if (dl >= 1) napi_set_named_property(env, o, "operstate", ts_int(env, *(const uint8_t *) d));
        break;
      case IFLA_ADDRESS:
        if (dl == 6) {
          napi_value b;
          void *p;
          napi_create_buffer_copy(env, 6, d, &p, &b);
          napi_set_named_property(env, o, "mac", b);
        }
        break;
      default:
        break;
    }
  }
  return o;
}

/* rtnlRead(fd) -> array of {type: 'new'|'del', ifindex, name, flags, adminUp, carrier, mtu,
 * operstate, mac} plus {type: 'done'} at the end of a dump and {type: 'overrun'} when the
 * kernel dropped notifications (ENOBUFS: ask for every link again).  Empty when nothing waits. */
static napi_value rtnl_read(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  if (ts_arg_int32(env, argv[0], &fd, "rtnlRead(fd)")) return NULL;
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t count = 0;
  static __thread char buf[65536];
  for (int rounds = 0; rounds < 64; rounds++) {
    ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == ENOBUFS) {
        napi_value o;
        napi_create_object(env, &o);
        set_str(env, o, "type", "overrun");
        napi_set_element(env, arr, count++, o);
        continue;
      }
      return ts_throw_errno(env, errno, "recv", "rtnetlink: read failed");
    }
    int len = (int) r;
    for (const struct nlmsghdr *nh = (void *) buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
      if (nh->nlmsg_type == NLMSG_DONE) {
        napi_value o;
        napi_create_object(env, &o);
        set_str(env, o, "type", "done");
        napi_set_element(env, arr, count++, o);
      } else if ((nh->nlmsg_type == RTM_NEWLINK || nh->nlmsg_type == RTM_DELLINK) &&
                 nh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifinfomsg))) {
        napi_set_element(env, arr, count++, link_object(env, nh));
      }
    }
  }
  return arr;
}

void ts_rtnetlink_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    TS_FN("rtnlOpen", rtnl_open),
    TS_FN("rtnlRequestLinks", rtnl_request_links),
    TS_FN("rtnlRead", rtnl_read),
  };
  ts_register(env, exports, props, sizeof props / sizeof props[0]);
}
