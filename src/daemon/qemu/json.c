/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <locale.h>
#include <math.h>

#include "json.h"

struct JsonValue {
        JsonType type;
        union {
                bool boolean;
                int64_t integer;
                double real;
                struct {
                        char *s;
                        size_t len;
                } string;
                struct {
                        JsonValue **items;
                        size_t n, allocated;
                } array;
                struct {
                        char **keys;
                        JsonValue **values;
                        size_t n, allocated;
                } object;
        };
};

/* The daemon runs with the user's locale (gettext); JSON numbers always use '.'. */
static locale_t c_locale(void) {
        static locale_t l = (locale_t) 0;

        if (l == (locale_t) 0)
                l = newlocale(LC_NUMERIC_MASK, "C", (locale_t) 0);
        return l;
}

static JsonValue *json_new(JsonType t) {
        JsonValue *v = calloc(1, sizeof(JsonValue));

        if (v)
                v->type = t;
        return v;
}

JsonValue *json_new_null(void) {
        return json_new(JSON_NULL);
}

JsonValue *json_new_boolean(bool b) {
        JsonValue *v = json_new(JSON_BOOLEAN);

        if (v)
                v->boolean = b;
        return v;
}

JsonValue *json_new_integer(int64_t i) {
        JsonValue *v = json_new(JSON_INTEGER);

        if (v)
                v->integer = i;
        return v;
}

JsonValue *json_new_real(double d) {
        JsonValue *v = json_new(JSON_REAL);

        if (v)
                v->real = d;
        return v;
}

JsonValue *json_new_string_len(const char *s, size_t len) {
        JsonValue *v;
        char *copy;

        if (!s && len > 0)
                return NULL;
        if (len == SIZE_MAX)
                return NULL;
        copy = malloc(len + 1);
        if (!copy)
                return NULL;
        if (len > 0)
                memcpy(copy, s, len);
        copy[len] = 0;

        v = json_new(JSON_STRING);
        if (!v)
                return mfree(copy);
        v->string.s = copy;
        v->string.len = len;
        return v;
}

JsonValue *json_new_string(const char *s) {
        if (!s)
                return NULL;
        return json_new_string_len(s, strlen(s));
}

JsonValue *json_new_array(void) {
        return json_new(JSON_ARRAY);
}

JsonValue *json_new_object(void) {
        return json_new(JSON_OBJECT);
}

JsonValue *json_free(JsonValue *v) {
        if (!v)
                return NULL;

        switch (v->type) {
        case JSON_STRING:
                free(v->string.s);
                break;
        case JSON_ARRAY:
                for (size_t i = 0; i < v->array.n; i++)
                        json_free(v->array.items[i]);
                free(v->array.items);
                break;
        case JSON_OBJECT:
                for (size_t i = 0; i < v->object.n; i++) {
                        free(v->object.keys[i]);
                        json_free(v->object.values[i]);
                }
                free(v->object.keys);
                free(v->object.values);
                break;
        default:
                break;
        }
        return mfree(v);
}

/* Grow *p (elements of `size` bytes) so that it holds at least `need` elements. */
static int grow(void **p, size_t *allocated, size_t need, size_t size) {
        size_t n;
        void *q;

        if (need <= *allocated)
                return 0;
        n = MAX(need, *allocated * 2);
        n = MAX(n, (size_t) 4);
        if (n > SIZE_MAX / size)
                return -ENOMEM;
        q = realloc(*p, n * size);
        if (!q)
                return -ENOMEM;
        *p = q;
        *allocated = n;
        return 0;
}

int json_array_append(JsonValue *array, JsonValue *item) {
        int r;

        if (!item)
                return -ENOMEM;
        if (!array || array->type != JSON_ARRAY) {
                json_free(item);
                return -EINVAL;
        }
        r = grow((void **) &array->array.items, &array->array.allocated, array->array.n + 1,
                 sizeof(JsonValue *));
        if (r < 0) {
                json_free(item);
                return r;
        }
        array->array.items[array->array.n++] = item;
        return 0;
}

static ssize_t object_find(const JsonValue *v, const char *key) {
        if (!v || v->type != JSON_OBJECT || !key)
                return -1;
        for (size_t i = 0; i < v->object.n; i++)
                if (streq(v->object.keys[i], key))
                        return (ssize_t) i;
        return -1;
}

/* Append without looking for an existing member; takes both key and value. */
static int object_append(JsonValue *object, char *key, JsonValue *value) {
        size_t allocated = object->object.allocated;
        int r;

        r = grow((void **) &object->object.keys, &allocated, object->object.n + 1, sizeof(char *));
        if (r < 0)
                goto fail;
        allocated = object->object.allocated;
        r = grow((void **) &object->object.values, &allocated, object->object.n + 1, sizeof(JsonValue *));
        if (r < 0)
                goto fail;
        object->object.allocated = allocated;
        object->object.keys[object->object.n] = key;
        object->object.values[object->object.n] = value;
        object->object.n++;
        return 0;
fail:
        free(key);
        json_free(value);
        return r;
}

int json_object_set(JsonValue *object, const char *key, JsonValue *value) {
        ssize_t i;
        char *k;

        if (!value)
                return -ENOMEM;
        if (!object || object->type != JSON_OBJECT || !key) {
                json_free(value);
                return -EINVAL;
        }
        i = object_find(object, key);
        if (i >= 0) {
                json_free(object->object.values[i]);
                object->object.values[i] = value;
                return 0;
        }
        k = strdup(key);
        if (!k) {
                json_free(value);
                return -ENOMEM;
        }
        return object_append(object, k, value);
}

int json_object_set_string(JsonValue *object, const char *key, const char *s) {
        return json_object_set(object, key, json_new_string(s));
}

int json_object_set_integer(JsonValue *object, const char *key, int64_t i) {
        return json_object_set(object, key, json_new_integer(i));
}

int json_object_set_boolean(JsonValue *object, const char *key, bool b) {
        return json_object_set(object, key, json_new_boolean(b));
}

JsonValue *json_copy(const JsonValue *v) {
        _cleanup_(json_freep) JsonValue *c = NULL;

        if (!v)
                return NULL;

        switch (v->type) {
        case JSON_STRING:
                return json_new_string_len(v->string.s, v->string.len);
        case JSON_ARRAY:
                c = json_new_array();
                if (!c)
                        return NULL;
                for (size_t i = 0; i < v->array.n; i++)
                        if (json_array_append(c, json_copy(v->array.items[i])) < 0)
                                return NULL;
                return TAKE_PTR(c);
        case JSON_OBJECT:
                c = json_new_object();
                if (!c)
                        return NULL;
                for (size_t i = 0; i < v->object.n; i++) {
                        char *k = strdup(v->object.keys[i]);
                        JsonValue *cv = json_copy(v->object.values[i]);

                        if (!k || !cv) {
                                free(k);
                                json_free(cv);
                                return NULL;
                        }
                        if (object_append(c, k, cv) < 0)
                                return NULL;
                }
                return TAKE_PTR(c);
        default:
                c = json_new(v->type);
                if (!c)
                        return NULL;
                *c = *v;
                return TAKE_PTR(c);
        }
}

bool json_equal(const JsonValue *a, const JsonValue *b) {
        if (!a || !b)
                return a == b;
        if (a->type != b->type)
                return false;

        switch (a->type) {
        case JSON_NULL:
                return true;
        case JSON_BOOLEAN:
                return a->boolean == b->boolean;
        case JSON_INTEGER:
                return a->integer == b->integer;
        case JSON_REAL:
                return a->real == b->real;
        case JSON_STRING:
                return a->string.len == b->string.len && memcmp(a->string.s, b->string.s, a->string.len) == 0;
        case JSON_ARRAY:
                if (a->array.n != b->array.n)
                        return false;
                for (size_t i = 0; i < a->array.n; i++)
                        if (!json_equal(a->array.items[i], b->array.items[i]))
                                return false;
                return true;
        case JSON_OBJECT:
                /* Member order does not matter; keys are unique. */
                if (a->object.n != b->object.n)
                        return false;
                for (size_t i = 0; i < a->object.n; i++)
                        if (!json_equal(a->object.values[i], json_object_get(b, a->object.keys[i])))
                                return false;
                return true;
        }
        return false;
}

JsonType json_type(const JsonValue *v) {
        return v ? v->type : JSON_NULL;
}

bool json_is_type(const JsonValue *v, JsonType t) {
        return v && v->type == t;
}

bool json_boolean(const JsonValue *v) {
        return json_is_type(v, JSON_BOOLEAN) && v->boolean;
}

int64_t json_integer(const JsonValue *v) {
        return json_is_type(v, JSON_INTEGER) ? v->integer : 0;
}

double json_real(const JsonValue *v) {
        if (json_is_type(v, JSON_REAL))
                return v->real;
        if (json_is_type(v, JSON_INTEGER))
                return (double) v->integer;
        return 0.0;
}

const char *json_string(const JsonValue *v) {
        return json_is_type(v, JSON_STRING) ? v->string.s : NULL;
}

size_t json_string_length(const JsonValue *v) {
        return json_is_type(v, JSON_STRING) ? v->string.len : 0;
}

size_t json_array_size(const JsonValue *v) {
        return json_is_type(v, JSON_ARRAY) ? v->array.n : 0;
}

JsonValue *json_array_get(const JsonValue *v, size_t i) {
        if (!json_is_type(v, JSON_ARRAY) || i >= v->array.n)
                return NULL;
        return v->array.items[i];
}

size_t json_object_size(const JsonValue *v) {
        return json_is_type(v, JSON_OBJECT) ? v->object.n : 0;
}

const char *json_object_key_at(const JsonValue *v, size_t i) {
        if (!json_is_type(v, JSON_OBJECT) || i >= v->object.n)
                return NULL;
        return v->object.keys[i];
}

JsonValue *json_object_value_at(const JsonValue *v, size_t i) {
        if (!json_is_type(v, JSON_OBJECT) || i >= v->object.n)
                return NULL;
        return v->object.values[i];
}

JsonValue *json_object_get(const JsonValue *v, const char *key) {
        ssize_t i = object_find(v, key);

        return i >= 0 ? v->object.values[i] : NULL;
}

const char *json_object_get_string(const JsonValue *v, const char *key) {
        return json_string(json_object_get(v, key));
}

int json_object_get_integer(const JsonValue *v, const char *key, int64_t *ret) {
        JsonValue *m = json_object_get(v, key);

        if (!m)
                return -ENOENT;
        if (m->type != JSON_INTEGER)
                return -EINVAL;
        if (ret)
                *ret = m->integer;
        return 0;
}

int json_object_get_boolean(const JsonValue *v, const char *key, bool *ret) {
        JsonValue *m = json_object_get(v, key);

        if (!m)
                return -ENOENT;
        if (m->type != JSON_BOOLEAN)
                return -EINVAL;
        if (ret)
                *ret = m->boolean;
        return 0;
}

JsonValue *json_object_steal(JsonValue *v, const char *key) {
        ssize_t i = object_find(v, key);
        JsonValue *m;

        if (i < 0)
                return NULL;
        m = v->object.values[i];
        free(v->object.keys[i]);
        memmove(v->object.keys + i, v->object.keys + i + 1, (v->object.n - i - 1) * sizeof(char *));
        memmove(v->object.values + i, v->object.values + i + 1, (v->object.n - i - 1) * sizeof(JsonValue *));
        v->object.n--;
        return m;
}

JsonValue *json_array_steal(JsonValue *v, size_t i) {
        JsonValue *m;

        if (!json_is_type(v, JSON_ARRAY) || i >= v->array.n)
                return NULL;
        m = v->array.items[i];
        memmove(v->array.items + i, v->array.items + i + 1, (v->array.n - i - 1) * sizeof(JsonValue *));
        v->array.n--;
        return m;
}

/* ---------------------------------------------------------------------------------------------- */
/* UTF-8 */

/* Decode one strictly valid UTF-8 sequence (no overlong forms, no surrogates, ≤ U+10FFFF).
 * Returns its length, or 0 when s does not start with one. */
static size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *ret) {
        uint32_t c;
        size_t len;

        if (n == 0)
                return 0;
        if (s[0] < 0x80) {
                *ret = s[0];
                return 1;
        }
        if (s[0] >= 0xC2 && s[0] <= 0xDF) {
                len = 2;
                c = s[0] & 0x1F;
        } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
                len = 3;
                c = s[0] & 0x0F;
        } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
                len = 4;
                c = s[0] & 0x07;
        } else
                return 0;
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
                c = (c << 6) | (s[i] & 0x3F);
        }
        if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) || c > 0x10FFFF ||
            (c >= 0xD800 && c <= 0xDFFF))
                return 0;
        *ret = c;
        return len;
}

static size_t utf8_encode(uint32_t c, char *out) {
        if (c < 0x80) {
                out[0] = (char) c;
                return 1;
        }
        if (c < 0x800) {
                out[0] = (char) (0xC0 | (c >> 6));
                out[1] = (char) (0x80 | (c & 0x3F));
                return 2;
        }
        if (c < 0x10000) {
                out[0] = (char) (0xE0 | (c >> 12));
                out[1] = (char) (0x80 | ((c >> 6) & 0x3F));
                out[2] = (char) (0x80 | (c & 0x3F));
                return 3;
        }
        out[0] = (char) (0xF0 | (c >> 18));
        out[1] = (char) (0x80 | ((c >> 12) & 0x3F));
        out[2] = (char) (0x80 | ((c >> 6) & 0x3F));
        out[3] = (char) (0x80 | (c & 0x3F));
        return 4;
}

/* ---------------------------------------------------------------------------------------------- */
/* Parser */

typedef struct Parser {
        const char *start, *p, *end;
        unsigned depth;
} Parser;

static void skip_ws(Parser *ps) {
        while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
                ps->p++;
}

static bool parse_literal(Parser *ps, const char *word) {
        size_t l = strlen(word);

        if ((size_t) (ps->end - ps->p) < l || memcmp(ps->p, word, l) != 0)
                return false;
        ps->p += l;
        return true;
}

static int hex4(const char *s, uint32_t *ret) {
        uint32_t v = 0;

        for (size_t i = 0; i < 4; i++) {
                char c = s[i];

                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= (uint32_t) (c - '0');
                else if (c >= 'a' && c <= 'f')
                        v |= (uint32_t) (c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        v |= (uint32_t) (c - 'A' + 10);
                else
                        return -EINVAL;
        }
        *ret = v;
        return 0;
}

/* At the opening quote. The decoded text is never longer than the raw text, which bounds the buffer. */
static int parse_string(Parser *ps, char **ret, size_t *ret_len) {
        _cleanup_free_ char *buf = NULL;
        const char *q;
        size_t len = 0;

        ps->p++; /* '"' */

        /* Find the closing quote first, to size the buffer. */
        for (q = ps->p; q < ps->end && *q != '"'; q++)
                if (*q == '\\' && ++q >= ps->end)
                        break;
        if (q >= ps->end)
                return -EINVAL;

        buf = malloc((size_t) (q - ps->p) + 1);
        if (!buf)
                return -ENOMEM;

        while (ps->p < q) {
                uint8_t c = (uint8_t) *ps->p;

                if (c < 0x20)
                        return -EINVAL;
                if (c == '\\') {
                        uint32_t cp, lo;

                        if (q - ps->p < 2)
                                return -EINVAL;
                        switch (ps->p[1]) {
                        case '"':
                        case '\\':
                        case '/':
                                buf[len++] = ps->p[1];
                                break;
                        case 'b':
                                buf[len++] = '\b';
                                break;
                        case 'f':
                                buf[len++] = '\f';
                                break;
                        case 'n':
                                buf[len++] = '\n';
                                break;
                        case 'r':
                                buf[len++] = '\r';
                                break;
                        case 't':
                                buf[len++] = '\t';
                                break;
                        case 'u':
                                if (q - ps->p < 6 || hex4(ps->p + 2, &cp) < 0)
                                        return -EINVAL;
                                if (cp >= 0xDC00 && cp <= 0xDFFF)
                                        return -EINVAL; /* lone low surrogate */
                                if (cp >= 0xD800 && cp <= 0xDBFF) {
                                        /* High surrogate: a \uDC00..\uDFFF must follow. */
                                        if (q - ps->p < 12 || ps->p[6] != '\\' || ps->p[7] != 'u' ||
                                            hex4(ps->p + 8, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
                                                return -EINVAL;
                                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                        ps->p += 6;
                                }
                                len += utf8_encode(cp, buf + len);
                                ps->p += 4;
                                break;
                        default:
                                return -EINVAL;
                        }
                        ps->p += 2;
                } else if (c < 0x80) {
                        buf[len++] = (char) c;
                        ps->p++;
                } else {
                        uint32_t cp;
                        size_t n = utf8_decode((const uint8_t *) ps->p, (size_t) (q - ps->p), &cp);

                        if (n == 0)
                                return -EINVAL;
                        memcpy(buf + len, ps->p, n);
                        len += n;
                        ps->p += n;
                }
        }
        buf[len] = 0;
        ps->p = q + 1;

        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

static int parse_number(Parser *ps, JsonValue **ret) {
        const char *s = ps->p, *p = ps->p;
        bool is_integer = true, negative = false;
        uint64_t acc = 0;
        bool overflow = false;

        if (p < ps->end && *p == '-') {
                negative = true;
                p++;
        }
        if (p >= ps->end)
                return -EINVAL;
        if (*p == '0')
                p++;
        else if (*p >= '1' && *p <= '9') {
                while (p < ps->end && *p >= '0' && *p <= '9')
                        p++;
        } else
                return -EINVAL;
        if (p < ps->end && *p == '.') {
                is_integer = false;
                p++;
                if (p >= ps->end || *p < '0' || *p > '9')
                        return -EINVAL;
                while (p < ps->end && *p >= '0' && *p <= '9')
                        p++;
        }
        if (p < ps->end && (*p == 'e' || *p == 'E')) {
                is_integer = false;
                p++;
                if (p < ps->end && (*p == '+' || *p == '-'))
                        p++;
                if (p >= ps->end || *p < '0' || *p > '9')
                        return -EINVAL;
                while (p < ps->end && *p >= '0' && *p <= '9')
                        p++;
        }

        if (is_integer) {
                for (const char *d = s + negative; d < p; d++) {
                        unsigned digit = (unsigned) (*d - '0');

                        if (acc > (UINT64_MAX - digit) / 10) {
                                overflow = true;
                                break;
                        }
                        acc = acc * 10 + digit;
                }
                if (!overflow && !negative && acc <= (uint64_t) INT64_MAX) {
                        *ret = json_new_integer((int64_t) acc);
                        ps->p = p;
                        return *ret ? 0 : -ENOMEM;
                }
                if (!overflow && negative && acc <= (uint64_t) INT64_MAX + 1) {
                        *ret = json_new_integer(acc == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) acc);
                        ps->p = p;
                        return *ret ? 0 : -ENOMEM;
                }
                /* Too large for int64 (e.g. a uint64 from QEMU): fall back to a real. */
        }

        {
                _cleanup_free_ char *heap = NULL;
                char stackbuf[64], *copy = stackbuf, *e = NULL;
                size_t l = (size_t) (p - s);
                locale_t loc = c_locale();
                double d;

                if (loc == (locale_t) 0)
                        return -ENOMEM;
                if (l >= sizeof stackbuf) {
                        copy = heap = malloc(l + 1);
                        if (!heap)
                                return -ENOMEM;
                }
                memcpy(copy, s, l);
                copy[l] = 0;
                errno = 0;
                d = strtod_l(copy, &e, loc);
                if (e != copy + l)
                        return -EINVAL;
                if (!isfinite(d))
                        return -ERANGE;
                *ret = json_new_real(d);
                ps->p = p;
                return *ret ? 0 : -ENOMEM;
        }
}

static int parse_value(Parser *ps, JsonValue **ret);

static int key_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Duplicate keys, in O(n log n) so that a huge object cannot make parsing quadratic. */
static int object_check_unique(const JsonValue *o) {
        _cleanup_free_ char **sorted = NULL;

        if (o->object.n < 2)
                return 0;
        if (o->object.n <= 8) {
                for (size_t i = 0; i < o->object.n; i++)
                        for (size_t j = i + 1; j < o->object.n; j++)
                                if (streq(o->object.keys[i], o->object.keys[j]))
                                        return -EINVAL;
                return 0;
        }
        sorted = malloc(o->object.n * sizeof(char *));
        if (!sorted)
                return -ENOMEM;
        memcpy(sorted, o->object.keys, o->object.n * sizeof(char *));
        qsort(sorted, o->object.n, sizeof(char *), key_cmp);
        for (size_t i = 1; i < o->object.n; i++)
                if (streq(sorted[i - 1], sorted[i]))
                        return -EINVAL;
        return 0;
}

static int parse_array(Parser *ps, JsonValue **ret) {
        _cleanup_(json_freep) JsonValue *a = NULL;
        int r;

        ps->p++; /* '[' */
        a = json_new_array();
        if (!a)
                return -ENOMEM;

        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ']') {
                ps->p++;
                *ret = TAKE_PTR(a);
                return 0;
        }
        for (;;) {
                JsonValue *item = NULL;

                r = parse_value(ps, &item);
                if (r < 0)
                        return r;
                r = json_array_append(a, item);
                if (r < 0)
                        return r;
                skip_ws(ps);
                if (ps->p >= ps->end)
                        return -EINVAL;
                if (*ps->p == ']') {
                        ps->p++;
                        break;
                }
                if (*ps->p != ',')
                        return -EINVAL;
                ps->p++;
        }
        *ret = TAKE_PTR(a);
        return 0;
}

static int parse_object(Parser *ps, JsonValue **ret) {
        _cleanup_(json_freep) JsonValue *o = NULL;
        int r;

        ps->p++; /* '{' */
        o = json_new_object();
        if (!o)
                return -ENOMEM;

        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == '}') {
                ps->p++;
                *ret = TAKE_PTR(o);
                return 0;
        }
        for (;;) {
                _cleanup_free_ char *key = NULL;
                JsonValue *value = NULL;
                size_t klen;

                skip_ws(ps);
                if (ps->p >= ps->end || *ps->p != '"')
                        return -EINVAL;
                r = parse_string(ps, &key, &klen);
                if (r < 0)
                        return r;
                if (strlen(key) != klen)
                        return -EINVAL; /* keys are C strings: no U+0000 */
                skip_ws(ps);
                if (ps->p >= ps->end || *ps->p != ':')
                        return -EINVAL;
                ps->p++;
                r = parse_value(ps, &value);
                if (r < 0)
                        return r;
                r = object_append(o, TAKE_PTR(key), value);
                if (r < 0)
                        return r;
                skip_ws(ps);
                if (ps->p >= ps->end)
                        return -EINVAL;
                if (*ps->p == '}') {
                        ps->p++;
                        break;
                }
                if (*ps->p != ',')
                        return -EINVAL;
                ps->p++;
        }
        r = object_check_unique(o);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static int parse_value(Parser *ps, JsonValue **ret) {
        JsonValue *v = NULL;
        char *s;
        size_t len;
        int r;

        skip_ws(ps);
        if (ps->p >= ps->end)
                return -EINVAL;

        switch (*ps->p) {
        case '{':
        case '[':
                if (ps->depth >= JSON_DEPTH_MAX)
                        return -ELOOP;
                ps->depth++;
                r = *ps->p == '{' ? parse_object(ps, ret) : parse_array(ps, ret);
                ps->depth--;
                return r;
        case '"':
                r = parse_string(ps, &s, &len);
                if (r < 0)
                        return r;
                v = json_new(JSON_STRING);
                if (!v) {
                        free(s);
                        return -ENOMEM;
                }
                v->string.s = s;
                v->string.len = len;
                *ret = v;
                return 0;
        case 't':
                if (!parse_literal(ps, "true"))
                        return -EINVAL;
                v = json_new_boolean(true);
                break;
        case 'f':
                if (!parse_literal(ps, "false"))
                        return -EINVAL;
                v = json_new_boolean(false);
                break;
        case 'n':
                if (!parse_literal(ps, "null"))
                        return -EINVAL;
                v = json_new_null();
                break;
        default:
                return parse_number(ps, ret);
        }
        if (!v)
                return -ENOMEM;
        *ret = v;
        return 0;
}

int json_parse(const char *text, size_t size, JsonValue **ret, size_t *ret_error_offset) {
        Parser ps = {
                .start = text,
                .p = text,
                .end = text + size,
        };
        JsonValue *v = NULL;
        int r;

        if (!ret || (!text && size > 0))
                return -EINVAL;
        if (size > JSON_SIZE_MAX) {
                if (ret_error_offset)
                        *ret_error_offset = 0;
                return -E2BIG;
        }

        r = parse_value(&ps, &v);
        if (r >= 0) {
                skip_ws(&ps);
                if (ps.p != ps.end) {
                        v = json_free(v);
                        r = -EINVAL;
                }
        }
        if (r < 0) {
                if (ret_error_offset)
                        *ret_error_offset = (size_t) (ps.p - ps.start);
                return r;
        }
        *ret = v;
        return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* Serializer */

typedef struct Buffer {
        char *data;
        size_t len, allocated;
} Buffer;

static int buf_append(Buffer *b, const char *s, size_t n) {
        int r;

        if (n > SIZE_MAX - b->len - 1)
                return -ENOMEM;
        r = grow((void **) &b->data, &b->allocated, b->len + n + 1, 1);
        if (r < 0)
                return r;
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = 0;
        return 0;
}

static int buf_puts(Buffer *b, const char *s) {
        return buf_append(b, s, strlen(s));
}

static int format_string(Buffer *b, const char *s, size_t len) {
        size_t i = 0;
        int r;

        r = buf_append(b, "\"", 1);
        if (r < 0)
                return r;
        while (i < len) {
                uint8_t c = (uint8_t) s[i];
                size_t run = i, n;
                uint32_t cp;
                char esc[8];

                /* Copy the longest run that needs no escaping in one go. */
                while (run < len && (uint8_t) s[run] >= 0x20 && s[run] != '"' && s[run] != '\\' &&
                       (uint8_t) s[run] < 0x80)
                        run++;
                if (run > i) {
                        r = buf_append(b, s + i, run - i);
                        if (r < 0)
                                return r;
                        i = run;
                        continue;
                }

                switch (c) {
                case '"':
                        r = buf_puts(b, "\\\"");
                        break;
                case '\\':
                        r = buf_puts(b, "\\\\");
                        break;
                case '\b':
                        r = buf_puts(b, "\\b");
                        break;
                case '\f':
                        r = buf_puts(b, "\\f");
                        break;
                case '\n':
                        r = buf_puts(b, "\\n");
                        break;
                case '\r':
                        r = buf_puts(b, "\\r");
                        break;
                case '\t':
                        r = buf_puts(b, "\\t");
                        break;
                default:
                        if (c < 0x20) {
                                snprintf(esc, sizeof esc, "\\u%04x", c);
                                r = buf_puts(b, esc);
                                break;
                        }
                        n = utf8_decode((const uint8_t *) s + i, len - i, &cp);
                        if (n == 0) {
                                r = buf_puts(b, "\\ufffd"); /* invalid UTF-8 byte */
                                i++;
                        } else {
                                r = buf_append(b, s + i, n);
                                i += n;
                        }
                        if (r < 0)
                                return r;
                        continue;
                }
                if (r < 0)
                        return r;
                i++;
        }
        return buf_append(b, "\"", 1);
}

static int format_real(Buffer *b, double d) {
        locale_t loc = c_locale(), old;
        char s[64];

        if (!isfinite(d))
                return -EDOM;
        if (loc == (locale_t) 0)
                return -ENOMEM;

        /* The shortest of %.15g..%.17g that reads back as the same double. */
        old = uselocale(loc);
        for (int prec = 15; prec <= 17; prec++) {
                snprintf(s, sizeof s, "%.*g", prec, d);
                if (strtod_l(s, NULL, loc) == d)
                        break;
        }
        uselocale(old);

        /* Keep it a real when read back: "1" would become an integer. */
        if (!strpbrk(s, ".eE"))
                strcat(s, ".0");
        return buf_puts(b, s);
}

static int format_value(Buffer *b, const JsonValue *v, unsigned depth) {
        char num[32];
        int r;

        if (!v)
                return -EINVAL;

        switch (v->type) {
        case JSON_NULL:
                return buf_puts(b, "null");
        case JSON_BOOLEAN:
                return buf_puts(b, v->boolean ? "true" : "false");
        case JSON_INTEGER:
                snprintf(num, sizeof num, "%" PRIi64, v->integer);
                return buf_puts(b, num);
        case JSON_REAL:
                return format_real(b, v->real);
        case JSON_STRING:
                return format_string(b, v->string.s, v->string.len);
        case JSON_ARRAY:
                if (depth >= JSON_DEPTH_MAX)
                        return -ELOOP;
                r = buf_puts(b, "[");
                for (size_t i = 0; r >= 0 && i < v->array.n; i++) {
                        if (i > 0)
                                r = buf_puts(b, ",");
                        if (r >= 0)
                                r = format_value(b, v->array.items[i], depth + 1);
                }
                return r < 0 ? r : buf_puts(b, "]");
        case JSON_OBJECT:
                if (depth >= JSON_DEPTH_MAX)
                        return -ELOOP;
                r = buf_puts(b, "{");
                for (size_t i = 0; r >= 0 && i < v->object.n; i++) {
                        if (i > 0)
                                r = buf_puts(b, ",");
                        if (r >= 0)
                                r = format_string(b, v->object.keys[i], strlen(v->object.keys[i]));
                        if (r >= 0)
                                r = buf_puts(b, ":");
                        if (r >= 0)
                                r = format_value(b, v->object.values[i], depth + 1);
                }
                return r < 0 ? r : buf_puts(b, "}");
        }
        return -EINVAL;
}

int json_format(const JsonValue *v, char **ret) {
        Buffer b = {};
        int r;

        if (!ret)
                return -EINVAL;
        r = format_value(&b, v, 0);
        if (r < 0) {
                free(b.data);
                return r;
        }
        *ret = b.data;
        return 0;
}
