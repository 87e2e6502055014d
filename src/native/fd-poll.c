/*
 * Readiness for the packet fds without blocking the event loop: a libuv poll handle on the
 * loop of whichever thread (main or worker) creates it, calling back into JavaScript; and a
 * blocking wait for a datapath worker that prefers to sleep in poll(2) itself.
 */
#define _GNU_SOURCE
#include "native-util.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <uv.h>

struct poller {
  napi_env env;
  uv_poll_t *handle; /* NULL once stopped; freed by libuv's close callback */
  napi_ref callback;
  napi_ref self; /* keeps the JS object alive while the poll is active */
  napi_async_context async;
  int fd;
};

static const napi_type_tag poller_tag = {0x7479706573776974ULL, 0x6368706f6c6c0001ULL};

static struct poller *get_poller(napi_env env, napi_value v) {
  struct poller *p = NULL;
  bool ok = false;
  napi_valuetype t;
  if (!v || napi_typeof(env, v, &t) != napi_ok || t != napi_object) return NULL;
  if (napi_check_object_type_tag(env, v, &poller_tag, &ok) != napi_ok || !ok) return NULL;
  if (napi_unwrap(env, v, (void **) &p) != napi_ok) return NULL;
  return p;
}

static void on_close(uv_handle_t *h) { free(h); }

static void poller_stop(struct poller *p) {
  if (!p->handle) return;
  uv_poll_stop(p->handle);
  uv_close((uv_handle_t *) p->handle, on_close);
  p->handle = NULL;
  if (p->callback) napi_delete_reference(p->env, p->callback);
  if (p->self) napi_delete_reference(p->env, p->self);
  if (p->async) napi_async_destroy(p->env, p->async);
  p->callback = p->self = NULL;
  p->async = NULL;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  struct poller *p = h->data;
  napi_env env = p->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, recv, argv[2], result;
  if (p->callback && napi_get_reference_value(env, p->callback, &cb) == napi_ok && cb) {
    napi_get_global(env, &recv);
    napi_create_int32(env, status, &argv[0]);
    napi_create_int32(env, (events & UV_READABLE ? 1 : 0) | (events & UV_WRITABLE ? 2 : 0), &argv[1]);
    if (napi_make_callback(env, p->async, recv, cb, 2, argv, &result) != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value err;
        napi_get_and_clear_last_exception(env, &err);
        napi_fatal_exception(env, err);
      }
    }
  }
  napi_close_handle_scope(env, scope);
}

static void poller_finalize(napi_env env, void *data, void *hint) {
  (void) env;
  (void) hint;
  struct poller *p = data;
  poller_stop(p);
  free(p);
}

/* pollStart(fd, events, callback(status, events)) -> poller.  events: 1 readable, 2 writable.
 * status is 0 or a negative libuv error.  The poller stays alive until pollStop(). */
static napi_value poll_start(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = {NULL, NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd, ev;
  if (ts_arg_int32(env, argv[0], &fd, "pollStart(fd)") ||
      ts_arg_int32(env, argv[1], &ev, "pollStart(events)"))
    return NULL;
  napi_valuetype t;
  if (!argv[2] || napi_typeof(env, argv[2], &t) != napi_ok || t != napi_function)
    return ts_throw_type(env, "pollStart(callback): expected a function");
  if (fd < 0 || ev < 1 || ev > 3) return ts_throw_range(env, "pollStart: bad fd or events");
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok)
    return ts_throw_errno(env, ENOSYS, "napi_get_uv_event_loop", "pollStart: no event loop");
  struct poller *p = calloc(1, sizeof *p);
  uv_poll_t *h = calloc(1, sizeof *h);
  if (!p || !h) {
    free(p);
    free(h);
    return ts_throw_errno(env, ENOMEM, "calloc", "pollStart: out of memory");
  }
  int r = uv_poll_init(loop, h, fd);
  if (r == 0) {
    h->data = p;
    r = uv_poll_start(h, (ev & 1 ? UV_READABLE : 0) | (ev & 2 ? UV_WRITABLE : 0), on_poll);
    if (r) uv_close((uv_handle_t *) h, on_close);
  } else {
    free(h);
  }
  if (r) {
    free(p);
    return ts_throw_errno(env, -r, "uv_poll_start", "fd %d: could not poll", fd);
  }
  p->env = env;
  p->handle = h;
  p->fd = fd;
  napi_value obj, name;
  napi_create_object(env, &obj);
  napi_create_reference(env, argv[2], 1, &p->callback);
  napi_create_reference(env, obj, 1, &p->self);
  napi_create_string_utf8(env, "typeswitch:fd-poll", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, obj, name, &p->async);
  napi_wrap(env, obj, p, poller_finalize, NULL, NULL);
  napi_type_tag_object(env, obj, &poller_tag);
  return obj;
}

static napi_value poll_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct poller *p = get_poller(env, argv[0]);
  if (!p) return ts_throw_type(env, "pollStop: expected a poller from pollStart()");
  poller_stop(p);
  return ts_undefined(env);
}

/* pollUnref(poller, unref): whether the poll keeps the event loop alive. */
static napi_value poll_unref(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct poller *p = get_poller(env, argv[0]);
  if (!p) return ts_throw_type(env, "pollUnref: expected a poller from pollStart()");
  bool unref = true;
  if (argv[1]) napi_get_value_bool(env, argv[1], &unref);
  if (p->handle) {
    if (unref) uv_unref((uv_handle_t *) p->handle);
    else uv_ref((uv_handle_t *) p->handle);
  }
  return ts_undefined(env);
}

/* waitReadable(fd, timeoutMs) -> true when readable, false on timeout.  Blocks the calling
 * thread: for datapath workers, never the main thread. */
static napi_value wait_readable(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd, timeout;
  if (ts_arg_int32(env, argv[0], &fd, "waitReadable(fd)") ||
      ts_arg_int32(env, argv[1], &timeout, "waitReadable(timeoutMs)"))
    return NULL;
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  for (;;) {
    int r = poll(&pfd, 1, timeout);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ts_throw_errno(env, errno, "poll", "fd %d: poll failed", fd);
    if (r > 0 && (pfd.revents & POLLNVAL))
      return ts_throw_errno(env, EBADF, "poll", "fd %d: poll failed", fd);
    return ts_bool(env, r > 0);
  }
}

void ts_fd_poll_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    TS_FN("pollStart", poll_start),
    TS_FN("pollStop", poll_stop),
    TS_FN("pollUnref", poll_unref),
    TS_FN("waitReadable", wait_readable),
  };
  ts_register(env, exports, props, sizeof props / sizeof props[0]);
}
