/*  pack.c: MessagePack, read in place and written into fixed buffers. */
#include "pack.h"

#include <msgpack/pack.h>
#include <string.h>

#include "prokit/error.h"

//  --- reading -----------------------------------------------------------------

size_t
pack_left (const pack_cursor_t *c)
{
    return (size_t) (c->end - c->at);
}

bool
pack_take (pack_cursor_t *c, size_t n, const uint8_t **out)
{
    if (pack_left (c) < n)
        return false;
    if (out)
        *out = c->at;
    c->at += n;
    return true;
}

uint64_t
pack_be (const uint8_t *p, size_t n)
{
    uint64_t value = 0;
    for (size_t i = 0; i < n; i++)
        value = (value << 8) | p[i];
    return value;
}

void
pack_put_be (uint8_t *p, uint64_t value, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t) (value >> (8 * (n - 1 - i)));
}

//  The width of the value after head B of an integer of 1 to 8 bytes
//  (uint8 to uint64, int8 to int64); 0 when B heads none.
static size_t
s_int_width (uint8_t b)
{
    switch (b) {
    case 0xcc:
    case 0xd0: return 1;
    case 0xcd:
    case 0xd1: return 2;
    case 0xce:
    case 0xd2: return 4;
    case 0xcf:
    case 0xd3: return 8;
    default: return 0;
    }
}

//  Read the head of one msgpack object: how many bytes of payload follow it
//  directly (SKIP) and how many child objects it contains (CHILDREN).
static bool
s_head (pack_cursor_t *c, uint64_t *skip, uint64_t *children)
{
    const uint8_t *p;
    if (!pack_take (c, 1, &p))
        return false;
    uint8_t b = *p;
    *skip = 0;
    *children = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return true;
    if (b >= 0x80 && b <= 0x8f) {
        *children = 2u * (b & 0x0f);
        return true;
    }
    if (b >= 0x90 && b <= 0x9f) {
        *children = b & 0x0f;
        return true;
    }
    if (b >= 0xa0 && b <= 0xbf) {
        *skip = b & 0x1f;
        return true;
    }
    //  Length-prefixed forms: width of the length field, and extra bytes.
    size_t width = 0;
    switch (b) {
    case 0xc4:
    case 0xd9: width = 1; break;
    case 0xc5:
    case 0xda: width = 2; break;
    case 0xc6:
    case 0xdb: width = 4; break;
    case 0xc7: width = 1; break;
    case 0xc8: width = 2; break;
    case 0xc9: width = 4; break;
    case 0xca: *skip = 4; return true;
    case 0xcb: *skip = 8; return true;
    case 0xd4: *skip = 2; return true;
    case 0xd5: *skip = 3; return true;
    case 0xd6: *skip = 5; return true;
    case 0xd7: *skip = 9; return true;
    case 0xd8: *skip = 17; return true;
    case 0xdc:
    case 0xdd:
    case 0xde:
    case 0xdf: {
        size_t w = (b == 0xdc || b == 0xde) ? 2 : 4;
        if (!pack_take (c, w, &p))
            return false;
        uint64_t n = pack_be (p, w);
        *children = (b >= 0xde) ? 2 * n : n;
        return true;
    }
    default: //  the integers of 1 to 8 bytes, or 0xc1 (never used)
        *skip = s_int_width (b);
        return *skip > 0;
    }
    if (!pack_take (c, width, &p))
        return false;
    *skip = pack_be (p, width);
    if (b >= 0xc7 && b <= 0xc9)
        *skip += 1; //  the ext type byte
    return true;
}

int
pack_check (const void *data, size_t size)
{
    if (!data || size == 0)
        return PROKIT_EPROTO;
    pack_cursor_t c = { (const uint8_t *) data, (const uint8_t *) data + size };
    //  Children still expected at each open nesting level.
    uint64_t open[PACK_DEPTH_MAX + 1];
    size_t depth = 0;
    open[0] = 1;
    while (true) {
        while (depth > 0 && open[depth] == 0)
            depth--;
        if (open[depth] == 0)
            break;
        open[depth]--;
        uint64_t skip, children;
        if (!s_head (&c, &skip, &children))
            return PROKIT_EPROTO;
        if (skip > pack_left (&c))
            return PROKIT_EPROTO;
        c.at += skip;
        if (children > 0) {
            //  Each child takes at least one byte: a count larger than
            //  what is left is a lie, whatever the nesting.
            if (children > pack_left (&c) || depth == PACK_DEPTH_MAX)
                return PROKIT_EPROTO;
            open[++depth] = children;
        }
    }
    return pack_left (&c) == 0 ? PROKIT_OK : PROKIT_EPROTO;
}

bool
pack_read_int (pack_cursor_t *c, int64_t *value)
{
    const uint8_t *p;
    if (!pack_take (c, 1, &p))
        return false;
    uint8_t b = *p;
    if (b <= 0x7f) {
        *value = b;
        return true;
    }
    if (b >= 0xe0) {
        *value = (int8_t) b;
        return true;
    }
    size_t width = s_int_width (b);
    if (width == 0)
        return false;
    bool is_signed = b >= 0xd0;
    if (!pack_take (c, width, &p))
        return false;
    uint64_t raw = pack_be (p, width);
    if (is_signed) {
        //  Sign-extend from WIDTH bytes.
        uint64_t sign = (uint64_t) 1 << (8 * width - 1);
        *value = width == 8 ? (int64_t) raw : (int64_t) ((raw ^ sign) - sign);
    }
    else {
        if (raw > INT64_MAX)
            return false;
        *value = (int64_t) raw;
    }
    return true;
}

bool
pack_read_str (pack_cursor_t *c, const uint8_t **str, size_t *len)
{
    return pack_left (c) > 0 && pack_type_of (*c->at) == PROKIT_PAYLOAD_STR &&
           pack_read_raw (c, str, len);
}

bool
pack_read_container (pack_cursor_t *c, uint8_t fix_low, uint8_t b16, uint8_t b32, uint64_t *n)
{
    const uint8_t *p;
    if (!pack_take (c, 1, &p))
        return false;
    uint8_t b = *p;
    if (b >= fix_low && b <= fix_low + 0x0f) {
        *n = b & 0x0f;
        return true;
    }
    size_t width = b == b16 ? 2 : b == b32 ? 4 : 0;
    if (width == 0 || !pack_take (c, width, &p))
        return false;
    *n = pack_be (p, width);
    return true;
}

//  Skip one complete object (already known to be well-formed).
bool
pack_skip (pack_cursor_t *c)
{
    uint64_t pending = 1;
    while (pending > 0) {
        uint64_t skip, children;
        if (!s_head (c, &skip, &children) || skip > pack_left (c))
            return false;
        c->at += skip;
        pending += children - 1;
    }
    return true;
}

//  Any msgpack integer that is not negative; a uint64 above INT64_MAX is
//  still a uint: taken whole.
bool
pack_read_uint (pack_cursor_t *c, uint64_t *value)
{
    if (pack_left (c) >= 9 && *c->at == 0xcf) {
        *value = pack_be (c->at + 1, 8);
        c->at += 9;
        return true;
    }
    int64_t number;
    if (!pack_read_int (c, &number) || number < 0)
        return false;
    *value = (uint64_t) number;
    return true;
}

bool
pack_read_bool (pack_cursor_t *c, bool *value)
{
    const uint8_t *p;
    if (!pack_take (c, 1, &p) || (*p != 0xc2 && *p != 0xc3))
        return false;
    *value = *p == 0xc3;
    return true;
}

//  Start reading a map of SIZE bytes at DATA: *C after its head, *PAIRS
//  its pairs. False when it is not a map.
bool
pack_open_map (const void *data, size_t size, pack_cursor_t *c, uint64_t *pairs)
{
    c->at = (const uint8_t *) data;
    c->end = (const uint8_t *) data + size;
    return pack_read_container (c, 0x80, 0xde, 0xdf, pairs);
}

prokit_payload_type_t
pack_type_of (uint8_t b)
{
    if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3))
        return PROKIT_PAYLOAD_INT;
    if (b <= 0x8f || b == 0xde || b == 0xdf)
        return PROKIT_PAYLOAD_MAP;
    if (b <= 0x9f || b == 0xdc || b == 0xdd)
        return PROKIT_PAYLOAD_ARRAY;
    if (b <= 0xbf || (b >= 0xd9 && b <= 0xdb))
        return PROKIT_PAYLOAD_STR;
    switch (b) {
    case 0xc2:
    case 0xc3: return PROKIT_PAYLOAD_BOOL;
    case 0xc4:
    case 0xc5:
    case 0xc6: return PROKIT_PAYLOAD_BIN;
    case 0xca:
    case 0xcb: return PROKIT_PAYLOAD_FLOAT;
    case 0xc7:
    case 0xc8:
    case 0xc9: return PROKIT_PAYLOAD_EXT;
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8: return PROKIT_PAYLOAD_EXT;
    default: return PROKIT_PAYLOAD_NIL;
    }
}

bool
pack_read_raw (pack_cursor_t *c, const uint8_t **bytes, size_t *len)
{
    const uint8_t *p;
    if (!pack_take (c, 1, &p))
        return false;
    uint8_t b = *p;
    uint64_t n;
    if (b >= 0xa0 && b <= 0xbf)
        n = b & 0x1f;
    else {
        size_t width = (b == 0xc4 || b == 0xd9)   ? 1
                       : (b == 0xc5 || b == 0xda) ? 2
                       : (b == 0xc6 || b == 0xdb) ? 4
                                                  : 0;
        if (width == 0 || !pack_take (c, width, &p))
            return false;
        n = pack_be (p, width);
    }
    if (n > pack_left (c))
        return false;
    *len = (size_t) n;
    return pack_take (c, *len, bytes);
}

//  --- writing -----------------------------------------------------------------

//  msgpack-c's packer, writing into a buffer the caller sized.
typedef struct sink {
    uint8_t *out;
    size_t used;
} sink_t;

static int
s_sink_write (void *data, const char *bytes, size_t len)
{
    sink_t *sink = (sink_t *) data;
    memcpy (sink->out + sink->used, bytes, len);
    sink->used += len;
    return 0;
}

#define S_PACKER(out)                                                                              \
    sink_t sink = { (out), 0 };                                                                    \
    msgpack_packer pk;                                                                             \
    msgpack_packer_init (&pk, &sink, s_sink_write)

//  An integer as a fixint when one holds it, else in the full 8 bytes of
//  its kind (int64, or uint64 when UNSIGNED_BITS): the layout PROTOCOL.md
//  gives, byte for byte.
static size_t
s_write_integer (uint8_t *out, int64_t value, bool is_unsigned, uint64_t unsigned_bits)
{
    S_PACKER (out);
    bool fixint = is_unsigned ? unsigned_bits <= 0x7f : value >= -32 && value <= 0x7f;
    if (fixint)
        msgpack_pack_int8 (&pk, (int8_t) value);
    else if (is_unsigned)
        msgpack_pack_fix_uint64 (&pk, unsigned_bits);
    else
        msgpack_pack_fix_int64 (&pk, value);
    return sink.used;
}

size_t
pack_write_int (uint8_t *out, int64_t value)
{
    return s_write_integer (out, value, false, 0);
}

size_t
pack_write_uint (uint8_t *out, uint64_t value)
{
    return s_write_integer (out, (int64_t) (value & 0x7f), true, value);
}

size_t
pack_write_bool (uint8_t *out, bool value)
{
    S_PACKER (out);
    if (value)
        msgpack_pack_true (&pk);
    else
        msgpack_pack_false (&pk);
    return sink.used;
}

size_t
pack_write_nil (uint8_t *out)
{
    S_PACKER (out);
    msgpack_pack_nil (&pk);
    return sink.used;
}

size_t
pack_write_raw_head (uint8_t *out, size_t len, bool is_str)
{
    S_PACKER (out);
    if (is_str)
        msgpack_pack_str (&pk, len);
    else
        msgpack_pack_bin (&pk, len);
    return sink.used;
}

size_t
pack_write_str (uint8_t *out, const char *text, size_t len)
{
    size_t head = pack_write_raw_head (out, len, true);
    memcpy (out + head, text, len);
    return head + len;
}

size_t
pack_write_map_head (uint8_t *out, size_t pairs)
{
    S_PACKER (out);
    msgpack_pack_map (&pk, pairs);
    return sink.used;
}

size_t
pack_write_array_head (uint8_t *out, size_t count)
{
    S_PACKER (out);
    msgpack_pack_array (&pk, count);
    return sink.used;
}

void
pack_write_array32_head (uint8_t out[PACK_ARRAY32_HEAD], uint32_t count)
{
    out[0] = 0xdd; //  msgpack-c's packer always picks the shortest form
    pack_put_be (out + 1, count, 4);
}
