/*  cli_json.c: JSON <-> MessagePack (see cli_json.h), with json-c for
    JSON and msgpack-c for MessagePack. */
#include "cli_json.h"

#include <json-c/json.h>
#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Deeper JSON is refused rather than recursed into without bound.
#define JSON_DEPTH_MAX 64

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

//  Decode TEXT into a malloc'ed buffer; NULL if it is not base64.
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

//  --- JSON -> msgpack --------------------------------------------------------------------

static int
s_pack (msgpack_packer *packer, struct json_object *value, int depth, char *error,
        size_t error_size)
{
    if (depth > JSON_DEPTH_MAX) {
        snprintf (error, error_size, "nested deeper than %d levels", JSON_DEPTH_MAX);
        return -1;
    }
    switch (json_object_get_type (value)) {
    case json_type_null: return msgpack_pack_nil (packer);
    case json_type_boolean:
        return json_object_get_boolean (value) ? msgpack_pack_true (packer)
                                               : msgpack_pack_false (packer);
    case json_type_double: return msgpack_pack_double (packer, json_object_get_double (value));
    case json_type_int: {
        //  json-c keeps integers above INT64_MAX as uint64.
        int64_t signed_value = json_object_get_int64 (value);
        if (signed_value == INT64_MAX && json_object_get_uint64 (value) > (uint64_t) INT64_MAX)
            return msgpack_pack_uint64 (packer, json_object_get_uint64 (value));
        return msgpack_pack_int64 (packer, signed_value);
    }
    case json_type_string: {
        size_t length = (size_t) json_object_get_string_len (value);
        msgpack_pack_str (packer, length);
        return msgpack_pack_str_body (packer, json_object_get_string (value), length);
    }
    case json_type_array: {
        size_t count = json_object_array_length (value);
        msgpack_pack_array (packer, count);
        for (size_t i = 0; i < count; i++)
            if (s_pack (packer, json_object_array_get_idx (value, i), depth + 1, error,
                        error_size) != 0)
                return -1;
        return 0;
    }
    case json_type_object: {
        struct json_object *bin = NULL;
        if (json_object_object_length (value) == 1 &&
            json_object_object_get_ex (value, "$bin", &bin)) {
            size_t size = 0;
            uint8_t *bytes = json_object_is_type (bin, json_type_string)
                                 ? s_base64_decode (json_object_get_string (bin), &size)
                                 : NULL;
            if (!bytes) {
                snprintf (error, error_size, "\"$bin\" must be a base64 string");
                return -1;
            }
            msgpack_pack_bin (packer, size);
            msgpack_pack_bin_body (packer, bytes, size);
            free (bytes);
            return 0;
        }
        msgpack_pack_map (packer, (size_t) json_object_object_length (value));
        json_object_object_foreach (value, key, member)
        {
            size_t length = strlen (key);
            msgpack_pack_str (packer, length);
            msgpack_pack_str_body (packer, key, length);
            if (s_pack (packer, member, depth + 1, error, error_size) != 0)
                return -1;
        }
        return 0;
    }
    }
    snprintf (error, error_size, "unsupported JSON value");
    return -1;
}

char *
cli_json_to_msgpack (const char *text, size_t *size, char *error, size_t error_size)
{
    struct json_tokener *tokener = json_tokener_new_ex (JSON_DEPTH_MAX);
    if (!tokener) {
        snprintf (error, error_size, "out of memory");
        return NULL;
    }
    size_t length = strlen (text);
    //  The terminating NUL goes in too: it ends a number at the very end
    //  ("1" alone would leave the tokener waiting for more digits).
    struct json_object *value = json_tokener_parse_ex (tokener, text, (int) length + 1);
    enum json_tokener_error status = json_tokener_get_error (tokener);
    size_t offset = json_tokener_get_parse_end (tokener);
    json_tokener_free (tokener);
    if (status != json_tokener_success) {
        snprintf (error, error_size, "bad JSON at offset %zu: %s",
                  status == json_tokener_continue ? length : offset,
                  status == json_tokener_continue ? "unexpected end of input"
                                                  : json_tokener_error_desc (status));
        return NULL;
    }
    //  Only blanks may follow the value.
    for (size_t i = offset; i < length && offset <= length; i++)
        if (!strchr (" \t\r\n", text[i])) {
            snprintf (error, error_size, "bad JSON at offset %zu: text after the value", i);
            json_object_put (value);
            return NULL;
        }
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    int rc = s_pack (&packer, value, 0, error, error_size);
    json_object_put (value);
    if (rc != 0) {
        msgpack_sbuffer_destroy (&buffer);
        return NULL;
    }
    *size = buffer.size;
    return msgpack_sbuffer_release (&buffer);
}

//  --- msgpack -> JSON ----------------------------------------------------------------------

static struct json_object *s_to_json (const msgpack_object *object, int depth);

static struct json_object *
s_wrap_bytes (const char *key, const void *data, size_t size)
{
    char *text = s_base64_encode ((const uint8_t *) data, size);
    struct json_object *wrapper = json_object_new_object ();
    json_object_object_add (wrapper, key, json_object_new_string (text ? text : ""));
    free (text);
    return wrapper;
}

static struct json_object *
s_to_json (const msgpack_object *object, int depth)
{
    if (depth > JSON_DEPTH_MAX)
        return json_object_new_string ("(nested too deep)");
    switch (object->type) {
    case MSGPACK_OBJECT_NIL: return NULL; //  json-c's null
    case MSGPACK_OBJECT_BOOLEAN: return json_object_new_boolean (object->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return object->via.u64 > (uint64_t) INT64_MAX
                   ? json_object_new_uint64 (object->via.u64)
                   : json_object_new_int64 ((int64_t) object->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return json_object_new_int64 (object->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return json_object_new_double (object->via.f64);
    case MSGPACK_OBJECT_STR:
        return json_object_new_string_len (object->via.str.ptr, (int) object->via.str.size);
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
            json_object_array_add (array, s_to_json (&object->via.array.ptr[i], depth + 1));
        return array;
    }
    case MSGPACK_OBJECT_MAP: {
        struct json_object *map = json_object_new_object ();
        for (uint32_t i = 0; i < object->via.map.size; i++) {
            const msgpack_object_kv *pair = &object->via.map.ptr[i];
            struct json_object *value = s_to_json (&pair->val, depth + 1);
            if (pair->key.type == MSGPACK_OBJECT_STR) {
                char *key = strndup (pair->key.via.str.ptr, pair->key.via.str.size);
                json_object_object_add (map, key ? key : "", value);
                free (key);
            }
            else {
                struct json_object *key = s_to_json (&pair->key, depth + 1);
                json_object_object_add (map, json_object_to_json_string (key), value);
                json_object_put (key);
            }
        }
        return map;
    }
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
        snprintf (error, error_size, "the payload is not one msgpack value");
        msgpack_unpacked_destroy (&unpacked);
        return NULL;
    }
    struct json_object *json = s_to_json (&unpacked.data, 0);
    msgpack_unpacked_destroy (&unpacked);
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
