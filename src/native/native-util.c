/* Argument unpacking and errno -> JS Error, shared by the packet I/O sources. */
#define _GNU_SOURCE
#include "native-util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

napi_value ts_throw_errno(napi_env env, int err, const char *syscall, const char *fmt, ...) {
  char what[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  char msg[320];
  snprintf(msg, sizeof msg, "%s (%s)", what, strerror(err));
  const char *name = strerrorname_np(err);
  napi_value code_v, msg_v, error, errno_v, syscall_v;
  napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code_v);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &msg_v);
  napi_create_error(env, code_v, msg_v, &error);
  /* Node's system errors carry the negated errno; follow suit so callers can treat both alike. */
  napi_create_int32(env, -err, &errno_v);
  napi_set_named_property(env, error, "errno", errno_v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_v);
  napi_set_named_property(env, error, "syscall", syscall_v);
  napi_throw(env, error);
  return NULL;
}

napi_value ts_throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

napi_value ts_throw_range(napi_env env, const char *msg) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
  return NULL;
}

static int type_fail(napi_env env, const char *fn, const char *what) {
  char msg[200];
  snprintf(msg, sizeof msg, "%s: %s", fn, what);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return -1;
}

int ts_arg_string(napi_env env, napi_value v, char *buf, size_t size, const char *fn) {
  napi_valuetype t;
  if (!v || napi_typeof(env, v, &t) != napi_ok || t != napi_string)
    return type_fail(env, fn, "expected a string");
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok)
    return type_fail(env, fn, "expected a string");
  if (len == 0 || len >= size) {
    char msg[200];
    snprintf(msg, sizeof msg, "%s: name must be 1 to %zu bytes long", fn, size - 1);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return -1;
  }
  napi_get_value_string_utf8(env, v, buf, size, &len);
  return 0;
}

int ts_arg_int32(napi_env env, napi_value v, int32_t *out, const char *fn) {
  napi_valuetype t;
  if (!v || napi_typeof(env, v, &t) != napi_ok || t != napi_number)
    return type_fail(env, fn, "expected a number");
  double d;
  napi_get_value_double(env, v, &d);
  if (d != (double) (int32_t) d) return type_fail(env, fn, "expected a 32-bit integer");
  *out = (int32_t) d;
  return 0;
}

int ts_arg_u32_array(napi_env env, napi_value v, uint32_t **data, size_t *len, const char *fn) {
  bool is_ta = false;
  if (!v || napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta)
    return type_fail(env, fn, "expected a Uint32Array");
  napi_typedarray_type type;
  void *p;
  size_t n;
  napi_get_typedarray_info(env, v, &type, &n, &p, NULL, NULL);
  if (type != napi_uint32_array) return type_fail(env, fn, "expected a Uint32Array");
  *data = p;
  *len = n;
  return 0;
}

int ts_arg_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len, const char *fn) {
  bool yes = false;
  if (!v) return type_fail(env, fn, "expected a Uint8Array or ArrayBuffer");
  if (napi_is_typedarray(env, v, &yes) == napi_ok && yes) {
    napi_typedarray_type type;
    size_t n;
    void *p;
    napi_get_typedarray_info(env, v, &type, &n, &p, NULL, NULL);
    size_t elem = 1;
    switch (type) {
      case napi_int16_array: case napi_uint16_array: elem = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elem = 8; break;
      default: break;
    }
    *data = p;
    *len = n * elem;
    return 0;
  }
  if (napi_is_arraybuffer(env, v, &yes) == napi_ok && yes) {
    void *p;
    size_t n;
    napi_get_arraybuffer_info(env, v, &p, &n);
    *data = p;
    *len = n;
    return 0;
  }
  return type_fail(env, fn, "expected a Uint8Array or ArrayBuffer");
}

static int opt_get(napi_env env, napi_value obj, const char *key, napi_value *out) {
  napi_valuetype t;
  if (!obj || napi_typeof(env, obj, &t) != napi_ok || t != napi_object) return 0;
  bool has = false;
  napi_has_named_property(env, obj, key, &has);
  if (!has) return 0;
  napi_get_named_property(env, obj, key, out);
  napi_typeof(env, *out, &t);
  return t == napi_undefined ? 0 : 1;
}

int ts_opt_int32(napi_env env, napi_value obj, const char *key, int32_t *out, const char *fn) {
  napi_value v;
  if (!opt_get(env, obj, key, &v)) return 0;
  char where[120];
  snprintf(where, sizeof where, "%s: option %s", fn, key);
  return ts_arg_int32(env, v, out, where);
}

int ts_opt_bool(napi_env env, napi_value obj, const char *key, int *out, const char *fn) {
  napi_value v;
  if (!opt_get(env, obj, key, &v)) return 0;
  bool b;
  if (napi_get_value_bool(env, v, &b) != napi_ok) {
    char where[120];
    snprintf(where, sizeof where, "%s: option %s", fn, key);
    return type_fail(env, where, "expected a boolean");
  }
  *out = b;
  return 0;
}

napi_value ts_int(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

napi_value ts_bool(napi_env env, int v) {
  napi_value r;
  napi_get_boolean(env, v != 0, &r);
  return r;
}

napi_value ts_undefined(napi_env env) {
  napi_value r;
  napi_get_undefined(env, &r);
  return r;
}

void ts_register(napi_env env, napi_value exports, const napi_property_descriptor *props,
                 size_t n) {
  napi_define_properties(env, exports, n, props);
}
