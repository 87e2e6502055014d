/*
 * The N-API addon: only what Node itself cannot do. Today that is POSIX record locks
 * (fcntl F_SETLK / F_GETLK): OVS daemons hold a write lock on their pidfile, and real
 * ovs-appctl -t NAME trusts a pidfile only while its PID holds that lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <node_api.h>
#include "native-util.h"

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[128];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static int get_fd(napi_env env, napi_callback_info info, int *fd) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return -1;
  int32_t v;
  if (napi_get_value_int32(env, argv[0], &v) != napi_ok || v < 0) return -1;
  *fd = v;
  return 0;
}

/* fcntlLock(fd): true when this process now holds a write lock on the whole file, false when
 * another process holds a conflicting lock. */
static napi_value fcntl_lock(napi_env env, napi_callback_info info) {
  int fd;
  if (get_fd(env, info, &fd)) {
    napi_throw_type_error(env, NULL, "fcntlLock(fd): fd must be a file descriptor");
    return NULL;
  }
  struct flock lk;
  memset(&lk, 0, sizeof lk);
  lk.l_type = F_WRLCK;
  lk.l_whence = SEEK_SET;
  int r = fcntl(fd, F_SETLK, &lk);
  napi_value result;
  if (r == 0) {
    napi_get_boolean(env, true, &result);
    return result;
  }
  if (errno == EACCES || errno == EAGAIN) {
    napi_get_boolean(env, false, &result);
    return result;
  }
  return throw_errno(env, "fcntl(F_SETLK)", errno);
}

/* fcntlLockOwner(fd): the PID of another process holding a write lock on the file, or 0. */
static napi_value fcntl_lock_owner(napi_env env, napi_callback_info info) {
  int fd;
  if (get_fd(env, info, &fd)) {
    napi_throw_type_error(env, NULL, "fcntlLockOwner(fd): fd must be a file descriptor");
    return NULL;
  }
  struct flock lk;
  memset(&lk, 0, sizeof lk);
  lk.l_type = F_WRLCK;
  lk.l_whence = SEEK_SET;
  if (fcntl(fd, F_GETLK, &lk) != 0) return throw_errno(env, "fcntl(F_GETLK)", errno);
  napi_value result;
  napi_create_int32(env, lk.l_type == F_UNLCK ? 0 : (int32_t) lk.l_pid, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"fcntlLock", NULL, fcntl_lock, NULL, NULL, NULL, napi_default, NULL},
    {"fcntlLockOwner", NULL, fcntl_lock_owner, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  ts_af_packet_init(env, exports);
  ts_netdev_ioctl_init(env, exports);
  ts_fd_poll_init(env, exports);
  ts_rtnetlink_init(env, exports);
  ts_af_xdp_init(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
