/*  cli_json.c: JSON <-> MessagePack (see cli_json.h), with json-c for
    JSON and msgpack-c for MessagePack. */
#include "cli_json.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *
s_base64_encode (const uint8_t *data, size_t size)
{
    char *out = (char *) malloc ((size + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < size; i += 3) {
        uint32_t chunk = (uint32_t) data[i] << 16;
        if (i + 1 < size)
            chunk |= (uint32_t) data[i + 1] << 8;
        if (i + 2 < size)
            chunk |= data[i + 2];
        out[o++] = s_alphabet[(chunk >> 18) & 63];
        out[o++] = s_alphabet[(chunk >> 12) & 63];
        out[o++] = i + 1 < size ? s_alphabet[(chunk >> 6) & 63] : '=';
        out[o++] = i + 2 < size ? s_alphabet[chunk & 63] : '=';
    }
    out[o] = 0;
    return out;
}

//  Decode TEXT (padded base64) into a malloc'ed buffer; NULL if it is not
//  base64.
static uint8_t *
s_base64_decode (const char *text, size_t *size)
{
    size_t length = strlen (text);
    if (length % 4 != 0)
        return NULL;
    uint8_t *out = (uint8_t *) malloc (length / 4 * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < length; i += 4) {
        uint32_t chunk = 0;
        int padding = 0;
        for (size_t j = 0; j < 4; j++) {
            char c = text[i + j];
            const char *where = c ? strchr (s_alphabet, c) : NULL;
            if (c == '=' && i + 4 == length && j >= 2) {
                padding++;
                chunk <<= 6;
                continue;
            }
            if (!where || padding) {
                free (out);
                return NULL;
            }
            chunk = chunk << 6 | (uint32_t) (where - s_alphabet);
        }
        out[o++] = (uint8_t) (chunk >> 16);
        if (padding < 2)
            out[o++] = (uint8_t) (chunk >> 8);
        if (padding < 1)
            out[o++] = (uint8_t) chunk;
    }
    *size = o;
    return out;
}

//  --- what json-c lets through -------------------------------------------------------------

//  Write "bad JSON at line L, column C: WHY" for byte OFFSET of TEXT.
static void
s_bad_json (const char *text, size_t offset, const char *why, char *error, size_t error_size)
{
    size_t line = 1, column = 1;
    for (size_t i = 0; i < offset && text[i]; i++) {
        column++;
        if (text[i] == '\n') {
            line++;
            column = 1;
        }
    }
    snprintf (error, error_size, "bad JSON at line %zu, column %zu: %s", line, column, why);
}

//  Whether TOKEN (LENGTH bytes) follows JSON's number grammar:
//  -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
static bool
s_number_is_json (const char *token, size_t length)
{
    const char *p = token, *end = token + length;
    size_t digits;
    if (p < end && *p == '-')
        p++;
    digits = strspn (p, "0123456789");
    if (digits == 0 || (digits > 1 && *p == '0'))
        return false;
    p += digits;
    if (p < end && *p == '.') {
        digits = strspn (++p, "0123456789");
        if (digits == 0)
            return false;
        p += digits;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        digits = strspn (p, "0123456789");
        if (digits == 0)
            return false;
        p += digits;
    }
    return p == end;
}

//  Whether the JSON number at TOKEN fits what it becomes: an integer in
//  int64 (negative) or uint64, a double short of infinity. json-c would
//  clamp the one and make infinity of the other, without a word.
static bool
s_number_fits (const char *token, size_t length)
{
    errno = 0;
    if (strcspn (token, ".eE") < length) {
        double value = strtod (token, NULL);
        return !(errno == ERANGE && isinf (value));
    }
    if (*token == '-')
        (void) strtoll (token, NULL, 10);
    else
        (void) strtoull (token, NULL, 10);
    return errno != ERANGE;
}

//  json-c, even strict, takes single quotes, numbers such as 1. or 00,
//  NaN and Infinity, raw control characters in strings, and numbers out
//  of range. TEXT has parsed; walk its tokens outside strings and refuse
//  those, so that no value is ever changed on its way. Returns false with
//  the offending offset in *WHERE and the reason in *WHY.
static bool
s_is_strict (const char *text, size_t *where, const char **why)
{
    size_t i = 0;
    while (text[i]) {
        char c = text[i];
        size_t length = 1;
        *where = i;
        if (c == '"') {
            for (length = 1; text[i + length] && text[i + length] != '"'; length++) {
                if ((unsigned char) text[i + length] < 0x20) {
                    *where = i + length;
                    *why = "a control character in a string (escape it: \\n, \\u0001...)";
                    return false;
                }
                if (text[i + length] == '\\' && text[i + length + 1])
                    length++;
            }
            length++;
        }
        else if (c == '\'') {
            *why = "strings take double quotes";
            return false;
        }
        else if (c == '-' || (c >= '0' && c <= '9')) {
            length = strspn (text + i, "+-.eE0123456789");
            if (!s_number_is_json (text + i, length)) {
                *why = "not a JSON number";
                return false;
            }
            if (!s_number_fits (text + i, length)) {
                *why = strcspn (text + i, ".eE") < length
                           ? "number out of a double's range"
                           : "integer out of the 64-bit range (write it with an exponent "
                             "for a double)";
                return false;
            }
        }
        else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            length = strspn (text + i, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
            if (!((length == 4 && strncmp (text + i, "true", 4) == 0) ||
                  (length == 5 && strncmp (text + i, "false", 5) == 0) ||
                  (length == 4 && strncmp (text + i, "null", 4) == 0))) {
                *why = "not a JSON value (NaN and Infinity are not JSON)";
                return false;
            }
        }
        i += length;
    }
    return true;
}

//  --- JSON -> msgpack --------------------------------------------------------------------

static int s_pack (msgpack_packer *packer, struct json_object *value, char *error,
                   size_t error_size);

//  {"$bin": "<base64>"} as msgpack bin.
static int
s_pack_bin (msgpack_packer *packer, struct json_object *bin, char *error, size_t error_size)
{
    size_t size = 0;
    uint8_t *bytes = json_object_is_type (bin, json_type_string)
                         ? s_base64_decode (json_object_get_string (bin), &size)
                         : NULL;
    if (!bytes) {
        snprintf (error, error_size, "bad JSON: \"$bin\" must be a padded base64 string");
        return -1;
    }
    msgpack_pack_bin (packer, size);
    msgpack_pack_bin_body (packer, bytes, size);
    free (bytes);
    return 0;
}

static int
s_pack_object (msgpack_packer *packer, struct json_object *value, char *error, size_t error_size)
{
    struct json_object *bin = NULL;
    if (json_object_object_length (value) == 1 && json_object_object_get_ex (value, "$bin", &bin))
        return s_pack_bin (packer, bin, error, error_size);
    msgpack_pack_map (packer, (size_t) json_object_object_length (value));
    json_object_object_foreach (value, key, member)
    {
        size_t length = strlen (key);
        msgpack_pack_str (packer, length);
        msgpack_pack_str_body (packer, key, length);
        if (s_pack (packer, member, error, error_size) != 0)
            return -1;
    }
    return 0;
}

//  Pack VALUE; json-c's tokener has already bounded its depth.
static int
s_pack (msgpack_packer *packer, struct json_object *value, char *error, size_t error_size)
{
    switch (json_object_get_type (value)) {
    case json_type_null: return msgpack_pack_nil (packer);
    case json_type_boolean:
        return json_object_get_boolean (value) ? msgpack_pack_true (packer)
                                               : msgpack_pack_false (packer);
    case json_type_double: return msgpack_pack_double (packer, json_object_get_double (value));
    case json_type_int:
        //  json-c keeps integers above INT64_MAX as uint64.
        if (json_object_get_int64 (value) == INT64_MAX &&
            json_object_get_uint64 (value) > (uint64_t) INT64_MAX)
            return msgpack_pack_uint64 (packer, json_object_get_uint64 (value));
        return msgpack_pack_int64 (packer, json_object_get_int64 (value));
    case json_type_string: {
        size_t length = (size_t) json_object_get_string_len (value);
        msgpack_pack_str (packer, length);
        return msgpack_pack_str_body (packer, json_object_get_string (value), length);
    }
    case json_type_array: {
        size_t count = json_object_array_length (value);
        msgpack_pack_array (packer, count);
        for (size_t i = 0; i < count; i++)
            if (s_pack (packer, json_object_array_get_idx (value, i), error, error_size) != 0)
                return -1;
        return 0;
    }
    case json_type_object: return s_pack_object (packer, value, error, error_size);
    }
    snprintf (error, error_size, "bad JSON: an unsupported value");
    return -1;
}

//  Parse TEXT with json-c; NULL with the reason in ERROR.
static struct json_object *
s_parse (const char *text, char *error, size_t error_size)
{
    struct json_tokener *tokener = json_tokener_new_ex (CLI_JSON_DEPTH_MAX);
    if (!tokener) {
        snprintf (error, error_size, "out of memory");
        return NULL;
    }
    json_tokener_set_flags (tokener, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    size_t length = strlen (text);
    //  The terminating NUL goes in too: it ends a number at the very end
    //  ("1" alone would leave the tokener waiting for more digits).
    struct json_object *value = json_tokener_parse_ex (tokener, text, (int) length + 1);
    enum json_tokener_error status = json_tokener_get_error (tokener);
    size_t offset = json_tokener_get_parse_end (tokener);
    json_tokener_free (tokener);
    if (status != json_tokener_success) {
        s_bad_json (text, status == json_tokener_continue ? length : offset,
                    status == json_tokener_continue ? "unexpected end of input"
                                                    : json_tokener_error_desc (status),
                    error, error_size);
        return NULL;
    }
    const char *why = NULL;
    if (!s_is_strict (text, &offset, &why)) {
        s_bad_json (text, offset, why, error, error_size);
        json_object_put (value);
        return NULL;
    }
    return value;
}

char *
cli_json_to_msgpack (const char *text, size_t *size, char *error, size_t error_size)
{
    if (strlen (text) > INT32_MAX - 1) {
        snprintf (error, error_size, "the JSON text is too long");
        return NULL;
    }
    struct json_object *value = s_parse (text, error, error_size);
    if (!value)
        return NULL;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    int rc = s_pack (&packer, value, error, error_size);
    json_object_put (value);
    if (rc != 0) {
        msgpack_sbuffer_destroy (&buffer);
        return NULL;
    }
    *size = buffer.size;
    return msgpack_sbuffer_release (&buffer);
}

//  --- msgpack -> JSON ----------------------------------------------------------------------

static struct json_object *
s_wrap_bytes (const char *key, const void *data, size_t size)
{
    char *text = s_base64_encode ((const uint8_t *) data, size);
    struct json_object *wrapper = json_object_new_object ();
    json_object_object_add (wrapper, key, json_object_new_string (text ? text : ""));
    free (text);
    return wrapper;
}

//  VALUE in the fewest digits that read back the same (json-c would
//  write 0.1 as 0.10000000000000001), still looking like a float (1.0).
//  NaN and the infinities have no JSON form: null.
static struct json_object *
s_new_double (double value, bool single)
{
    if (!isfinite (value))
        return NULL;
    char text[64];
    for (int digits = 1; digits <= 17; digits++) {
        snprintf (text, sizeof (text), "%.*g", digits, value);
        if (single ? strtof (text, NULL) == (float) value : strtod (text, NULL) == value)
            break;
    }
    if (!strpbrk (text, ".e"))
        strcat (text, ".0");
    return json_object_new_double_s (value, text);
}

//  A map key that is not a string is written as its JSON text, and a key
//  within such a key has its text escaped once more: each level doubles
//  it, so that a few hundred bytes of keys within keys would make
//  gigabytes. The texts of a payload's keys may take KEY_TEXT_PER_BYTE
//  bytes per byte of payload (and KEY_TEXT_SLACK more); past that the
//  payload is not written.
#define KEY_TEXT_PER_BYTE 8
#define KEY_TEXT_SLACK 4096

typedef struct {
    size_t key_text_left; //  what the keys' texts may still take
    bool too_long;        //  they took more: nothing more is converted
} to_json_t;

static struct json_object *s_to_json (to_json_t *ctx, const msgpack_object *object);

static struct json_object *
s_map_to_json (to_json_t *ctx, const msgpack_object_map *from)
{
    struct json_object *map = json_object_new_object ();
    for (uint32_t i = 0; i < from->size && !ctx->too_long; i++) {
        const msgpack_object_kv *pair = &from->ptr[i];
        struct json_object *value = s_to_json (ctx, &pair->val);
        if (pair->key.type == MSGPACK_OBJECT_STR) {
            //  msgpack-c gives an empty str no bytes at all: a NULL ptr.
            char *key = strndup (pair->key.via.str.size ? pair->key.via.str.ptr : "",
                                 pair->key.via.str.size);
            json_object_object_add (map, key ? key : "", value);
            free (key);
        }
        else {
            struct json_object *key = s_to_json (ctx, &pair->key);
            const char *text = json_object_to_json_string (key);
            size_t length = strlen (text);
            if (ctx->too_long || length > ctx->key_text_left) {
                ctx->too_long = true;
                json_object_put (value);
            }
            else {
                ctx->key_text_left -= length;
                json_object_object_add (map, text, value);
            }
            json_object_put (key);
        }
    }
    return map;
}

//  OBJECT as JSON; NULL is json-c's null. msgpack-c bounded the depth.
static struct json_object *
s_to_json (to_json_t *ctx, const msgpack_object *object)
{
    if (ctx->too_long)
        return NULL;
    switch (object->type) {
    case MSGPACK_OBJECT_NIL: return NULL;
    case MSGPACK_OBJECT_BOOLEAN: return json_object_new_boolean (object->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return object->via.u64 > (uint64_t) INT64_MAX
                   ? json_object_new_uint64 (object->via.u64)
                   : json_object_new_int64 ((int64_t) object->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return json_object_new_int64 (object->via.i64);
    case MSGPACK_OBJECT_FLOAT32: return s_new_double (object->via.f64, true);
    case MSGPACK_OBJECT_FLOAT64: return s_new_double (object->via.f64, false);
    case MSGPACK_OBJECT_STR:
        return json_object_new_string_len (object->via.str.size ? object->via.str.ptr : "",
                                           (int) object->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return s_wrap_bytes ("$bin", object->via.bin.ptr, object->via.bin.size);
    case MSGPACK_OBJECT_EXT: {
        struct json_object *wrapper =
            s_wrap_bytes ("data", object->via.ext.ptr, object->via.ext.size);
        json_object_object_add (wrapper, "$ext", json_object_new_int (object->via.ext.type));
        return wrapper;
    }
    case MSGPACK_OBJECT_ARRAY: {
        struct json_object *array = json_object_new_array ();
        for (uint32_t i = 0; i < object->via.array.size; i++)
            json_object_array_add (array, s_to_json (ctx, &object->via.array.ptr[i]));
        return array;
    }
    case MSGPACK_OBJECT_MAP: return s_map_to_json (ctx, &object->via.map);
    }
    return NULL;
}

char *
cli_msgpack_to_json (const void *data, size_t size, char *error, size_t error_size)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_unpack_return rc = msgpack_unpack_next (&unpacked, (const char *) data, size, &offset);
    if (rc != MSGPACK_UNPACK_SUCCESS || offset != size) {
        //  libprokit lets only well-formed msgpack in, so the likely reason
        //  is depth: msgpack-c's unpacker stops at 32 nested containers.
        snprintf (error, error_size,
                  "cannot read the payload as msgpack (nested deeper than %d levels?)",
                  CLI_JSON_DEPTH_MAX);
        msgpack_unpacked_destroy (&unpacked);
        return NULL;
    }
    to_json_t ctx = { KEY_TEXT_SLACK + KEY_TEXT_PER_BYTE * size, false };
    struct json_object *json = s_to_json (&ctx, &unpacked.data);
    msgpack_unpacked_destroy (&unpacked);
    if (ctx.too_long) {
        snprintf (error, error_size,
                  "cannot write the payload as JSON: its map keys that are not strings (keys "
                  "within keys) would take more than %d bytes of JSON text per byte",
                  KEY_TEXT_PER_BYTE);
        json_object_put (json);
        return NULL;
    }
    const char *text = json ? json_object_to_json_string_ext (
                                  json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                            : "null";
    char *copy = strdup (text);
    json_object_put (json);
    if (!copy)
        snprintf (error, error_size, "out of memory");
    return copy;
}

char *
cli_json_quote (const char *text)
{
    struct json_object *string = json_object_new_string (text ? text : "");
    char *quoted = string ? strdup (json_object_to_json_string_ext (
                                string, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE))
                          : NULL;
    json_object_put (string);
    return quoted;
}
