/*
 * Helpers shared by the packet I/O parts of the addon: argument unpacking and turning errno
 * into a JS Error shaped like Node's own system errors (code 'ENODEV', errno -19, syscall).
 */
#ifndef TYPESWITCH_NATIVE_UTIL_H
#define TYPESWITCH_NATIVE_UTIL_H 1

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <node_api.h>

/* Throws Error("<what> (<strerror>)") with code/errno/syscall set; returns NULL for `return`. */
napi_value ts_throw_errno(napi_env env, int err, const char *syscall, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Throws TypeError(message) with code ERR_INVALID_ARG_TYPE; returns NULL. */
napi_value ts_throw_type(napi_env env, const char *msg);
napi_value ts_throw_range(napi_env env, const char *msg);

/* Argument readers: 0 on success, -1 after throwing a TypeError naming `fn`. */
int ts_arg_string(napi_env env, napi_value v, char *buf, size_t size, const char *fn);
int ts_arg_int32(napi_env env, napi_value v, int32_t *out, const char *fn);
int ts_arg_u32_array(napi_env env, napi_value v, uint32_t **data, size_t *len, const char *fn);
/* Any Uint8Array/Buffer/TypedArray view or ArrayBuffer: a byte pointer and byte length. */
int ts_arg_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len, const char *fn);
/* Optional numeric property of an options object (absent or undefined leaves *out). */
int ts_opt_int32(napi_env env, napi_value obj, const char *key, int32_t *out, const char *fn);
int ts_opt_bool(napi_env env, napi_value obj, const char *key, int *out, const char *fn);

napi_value ts_int(napi_env env, int64_t v);
napi_value ts_bool(napi_env env, int v);
napi_value ts_undefined(napi_env env);

void ts_register(napi_env env, napi_value exports, const napi_property_descriptor *props,
                 size_t n);

/* Registration hooks, one per source file, called from the addon's init. */
void ts_af_packet_init(napi_env env, napi_value exports);
void ts_netdev_ioctl_init(napi_env env, napi_value exports);
void ts_fd_poll_init(napi_env env, napi_value exports);
void ts_rtnetlink_init(napi_env env, napi_value exports);
void ts_af_xdp_init(napi_env env, napi_value exports);

#define TS_FN(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_default, NULL}

#endif
