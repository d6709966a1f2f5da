/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A small, strict JSON (RFC 8259) parser and serializer, just enough for QMP. Pure: no I/O,
 * bounded (input size, nesting depth), never crashes on garbage — a fuzzing target.
 *
 * Strictness: one value per document (surrounding whitespace allowed), no comments, no trailing
 * commas, no single quotes, no NaN/Infinity, no raw control characters in strings, strings must be
 * valid UTF-8 (\u escapes included: surrogate pairs are combined, lone surrogates are rejected),
 * duplicate object keys are rejected. Numbers without fraction or exponent that fit an int64 are
 * integers, all others are reals (doubles); a number outside the double range is rejected.
 * A string may contain U+0000 (\u0000): json_string_length() tells the real length. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define JSON_DEPTH_MAX 64U                   /* nested arrays/objects */
#define JSON_SIZE_MAX (16U * 1024U * 1024U)  /* bytes of one document */

typedef enum JsonType {
        JSON_NULL,
        JSON_BOOLEAN,
        JSON_INTEGER,
        JSON_REAL,
        JSON_STRING,
        JSON_ARRAY,
        JSON_OBJECT,
} JsonType;

typedef struct JsonValue JsonValue;

/* Parse one document of `size` bytes (need not be NUL-terminated). Returns 0, -EINVAL on a syntax
 * error, -E2BIG when larger than JSON_SIZE_MAX, -ELOOP when nested deeper than JSON_DEPTH_MAX,
 * -ERANGE for a number outside the double range, -ENOMEM. On failure *ret_error_offset (optional)
 * is the byte offset where parsing stopped. */
int json_parse(const char *text, size_t size, JsonValue **ret, size_t *ret_error_offset);

/* Compact serialization (no whitespace), NUL-terminated. Strings that are not valid UTF-8 (only
 * possible through the builders) get U+FFFD for each bad byte, so the output is always valid
 * JSON. -EDOM for a non-finite real, -ENOMEM. */
int json_format(const JsonValue *v, char **ret);

JsonValue *json_free(JsonValue *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(JsonValue *, json_free);

/* Builders: NULL on allocation failure. */
JsonValue *json_new_null(void);
JsonValue *json_new_boolean(bool b);
JsonValue *json_new_integer(int64_t i);
JsonValue *json_new_real(double d);
JsonValue *json_new_string(const char *s);
JsonValue *json_new_string_len(const char *s, size_t len);
JsonValue *json_new_array(void);
JsonValue *json_new_object(void);

/* Take ownership of `item` in all cases (freed on failure). -EINVAL if container has the wrong type,
 * -ENOMEM. json_object_set() replaces an existing member of the same name. */
int json_array_append(JsonValue *array, JsonValue *item);
int json_object_set(JsonValue *object, const char *key, JsonValue *value);
/* Shorthands: */
int json_object_set_string(JsonValue *object, const char *key, const char *s);
int json_object_set_integer(JsonValue *object, const char *key, int64_t i);
int json_object_set_boolean(JsonValue *object, const char *key, bool b);

/* Deep copy, NULL on allocation failure. */
JsonValue *json_copy(const JsonValue *v);
bool json_equal(const JsonValue *a, const JsonValue *b);

/* Accessors. All accept NULL and wrong types: they return the neutral value (0, false, NULL). */
JsonType json_type(const JsonValue *v);
bool json_is_type(const JsonValue *v, JsonType t);
bool json_boolean(const JsonValue *v);
int64_t json_integer(const JsonValue *v);
double json_real(const JsonValue *v);          /* integers are converted */
const char *json_string(const JsonValue *v);    /* NUL-terminated; see json_string_length() */
size_t json_string_length(const JsonValue *v);
size_t json_array_size(const JsonValue *v);
JsonValue *json_array_get(const JsonValue *v, size_t i);
size_t json_object_size(const JsonValue *v);
const char *json_object_key_at(const JsonValue *v, size_t i);  /* members keep insertion order */
JsonValue *json_object_value_at(const JsonValue *v, size_t i);
JsonValue *json_object_get(const JsonValue *v, const char *key);
/* Member `key` when it is a string, else NULL. */
const char *json_object_get_string(const JsonValue *v, const char *key);
/* Member `key` as an integer: 0, -ENOENT when absent, -EINVAL when not an integer. */
int json_object_get_integer(const JsonValue *v, const char *key, int64_t *ret);
/* Member `key` as a boolean: 0, -ENOENT when absent, -EINVAL when not a boolean. */
int json_object_get_boolean(const JsonValue *v, const char *key, bool *ret);
/* Remove member `key` and hand it to the caller (NULL when absent). */
JsonValue *json_object_steal(JsonValue *v, const char *key);
/* Remove element i and hand it to the caller (NULL when out of range). */
JsonValue *json_array_steal(JsonValue *v, size_t i);
