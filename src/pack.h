/*  pack.h: MessagePack, read in place and written into fixed buffers
    (private).

    Every payload is one MessagePack value and every control body a map or
    an array; this is the one place that knows the format's bytes.

    Reading is our own: a cursor over bytes that never allocates and never
    trusts a count (pack_check() walks a whole value with bounded nesting
    before anything else reads it; a count larger than what is left is a
    lie, refused at once). msgpack-c's unpacker allocates a zone per value
    and builds a tree, which is neither needed nor safe against input that
    promises millions of elements.

    Writing is msgpack-c's packer (header-only, no library to link) into a
    buffer the caller sized. Integers are written as they always were on
    the wire: a positive fixint up to 127 (-32 for signed), else the full
    64-bit form, so that encoded bodies keep their documented bytes.

    Thread-safety: pure functions.
*/
#ifndef PROKIT_PACK_H_INCLUDED
#define PROKIT_PACK_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prokit/payload.h"

//  The deepest nesting pack_check() accepts.
#define PACK_DEPTH_MAX 64

//  --- reading -----------------------------------------------------------------

typedef struct pack_cursor {
    const uint8_t *at;
    const uint8_t *end;
} pack_cursor_t;

//  Bytes left after C.
size_t pack_left (const pack_cursor_t *c);

//  Take N bytes (their start in *OUT, when not NULL); false when fewer are
//  left.
bool pack_take (pack_cursor_t *c, size_t n, const uint8_t **out);

//  N bytes at P as a big-endian number, and the other way.
uint64_t pack_be (const uint8_t *p, size_t n);
void pack_put_be (uint8_t *p, uint64_t value, size_t n);

//  Return 0 if DATA holds exactly one complete, well-formed value nested
//  at most PACK_DEPTH_MAX deep, else PROKIT_EPROTO.
int pack_check (const void *data, size_t size);

//  Read one value of a kind; false (the cursor then undefined) when the
//  next value is not of that kind or is cut short.
bool pack_read_int (pack_cursor_t *c, int64_t *value);   //  any int within int64
bool pack_read_uint (pack_cursor_t *c, uint64_t *value); //  any int >= 0, uint64 whole
bool pack_read_bool (pack_cursor_t *c, bool *value);
bool pack_read_str (pack_cursor_t *c, const uint8_t **str, size_t *len);
//  A container head: FIX_LOW is its fix form's first byte (0x80 map, 0x90
//  array), B16 and B32 its 16- and 32-bit forms; *N its count.
bool pack_read_container (pack_cursor_t *c, uint8_t fix_low, uint8_t b16, uint8_t b32, uint64_t *n);
//  A str or a bin: its bytes, in place, and their length.
bool pack_read_raw (pack_cursor_t *c, const uint8_t **bytes, size_t *len);
//  The type of the value whose first byte is B.
prokit_payload_type_t pack_type_of (uint8_t b);
//  Skip one complete value (already known to be well-formed).
bool pack_skip (pack_cursor_t *c);
//  Start reading a map of SIZE bytes at DATA: *C after its head, *PAIRS
//  its pairs. False when it is not a map.
bool pack_open_map (const void *data, size_t size, pack_cursor_t *c, uint64_t *pairs);

//  --- writing -----------------------------------------------------------------
//  Each writes into OUT, which has room (the largest form of each: 9 bytes
//  for a number, 5 for a head), and returns the bytes written.

size_t pack_write_int (uint8_t *out, int64_t value);
size_t pack_write_uint (uint8_t *out, uint64_t value);
size_t pack_write_bool (uint8_t *out, bool value);
size_t pack_write_nil (uint8_t *out);
//  A str of LEN bytes, head and bytes.
size_t pack_write_str (uint8_t *out, const char *text, size_t len);
//  The head of a str (IS_STR) or bin of LEN bytes; the bytes follow.
size_t pack_write_raw_head (uint8_t *out, size_t len, bool is_str);
size_t pack_write_map_head (uint8_t *out, size_t pairs);
size_t pack_write_array_head (uint8_t *out, size_t count);
//  Always the 5-byte array32 head: for a count known only once the
//  elements are written after it.
#define PACK_ARRAY32_HEAD 5
void pack_write_array32_head (uint8_t out[PACK_ARRAY32_HEAD], uint32_t count);

#endif
