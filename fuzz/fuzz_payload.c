/*  fuzz_payload.c: payload validation and reading (src/pack.c,
    src/payload.c) on bytes from anywhere.

    The whole input is offered as a payload (prokit_payload_new_msgpack(),
    which takes it only if pack_check() does) and read back through every
    accessor. pack_check() is held against msgpack-c's own unpacker: what
    it accepts, msgpack-c reads as exactly one value (or finds nested
    deeper than its 32 levels). The same bytes are also walked with the
    cursor readers (pack_read_*, pack_skip) in an order the input picks,
    which must never read past the end, and wrapped as a string and as
    bytes, which must read back unchanged.
*/
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pack.h"
#include "prokit/error.h"
#include "prokit/payload.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf (stderr, "fuzz_payload: %s:%d: check failed: %s\n", __FILE__, __LINE__,        \
                     #cond);                                                                       \
            abort ();                                                                              \
        }                                                                                          \
    } while (0)

//  The payload's value through every reader.
static void
s_read_payload (const prokit_payload_t *payload, const uint8_t *data, size_t size)
{
    CHECK (prokit_payload_size (payload) == size);
    CHECK (memcmp (prokit_payload_data (payload), data, size) == 0);
    prokit_payload_type_t type = prokit_payload_type (payload);
    CHECK (type == pack_type_of (data[0]));
    size_t len = (size_t) -1;
    const uint8_t *bytes = (const uint8_t *) prokit_payload_bytes (payload, &len);
    const uint8_t *start = (const uint8_t *) prokit_payload_data (payload);
    if (type == PROKIT_PAYLOAD_STR || type == PROKIT_PAYLOAD_BIN) {
        CHECK (bytes && bytes >= start && bytes + len == start + size);
    }
    else
        CHECK (!bytes && len == (size_t) -1);
    const char *text = prokit_payload_str (payload);
    CHECK ((text != NULL) == (type == PROKIT_PAYLOAD_STR));
    if (text) {
        CHECK (strlen (text) <= len);
        CHECK (memcmp (text, bytes, strlen (text)) == 0);
        CHECK (prokit_payload_str (payload) == text); //  kept, not made again
    }
    prokit_payload_t *copy = prokit_payload_dup (payload);
    CHECK (copy);
    CHECK (prokit_payload_size (copy) == size &&
           memcmp (prokit_payload_data (copy), data, size) == 0);
    prokit_payload_destroy (&copy);
}

//  pack_check() against msgpack-c: a value pack_check() accepts is one
//  msgpack-c reads whole, or one nested deeper than msgpack-c goes (it
//  says NOMEM_ERROR when its 32-level stack is full). Only for accepted
//  bytes: msgpack-c allocates what a container's count promises before
//  reading it, which for a lying count is gigabytes.
static void
s_against_msgpack_c (const uint8_t *data, size_t size)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_unpack_return rc = msgpack_unpack_next (&unpacked, (const char *) data, size, &offset);
    CHECK ((rc == MSGPACK_UNPACK_SUCCESS && offset == size) || rc == MSGPACK_UNPACK_NOMEM_ERROR);
    msgpack_unpacked_destroy (&unpacked);
}

//  Walk the bytes with the cursor readers, in the order the bytes say: a
//  reader that fails leaves the cursor anywhere, so each step restarts at
//  the next byte after a failure.
static void
s_cursor_walk (const uint8_t *data, size_t size)
{
    pack_cursor_t c = { data, data + size };
    size_t steps = 0;
    while (pack_left (&c) > 0 && steps++ < 64) {
        uint8_t pick = *c.at;
        pack_cursor_t at = c;
        bool ok = true;
        int64_t i64;
        uint64_t u64;
        bool flag;
        const uint8_t *p;
        size_t len;
        switch (pick % 8) {
        case 0: ok = pack_read_int (&c, &i64); break;
        case 1: ok = pack_read_uint (&c, &u64); break;
        case 2: ok = pack_read_bool (&c, &flag); break;
        case 3:
            ok = pack_read_str (&c, &p, &len);
            CHECK (!ok || (p >= data && p + len <= data + size));
            break;
        case 4:
            ok = pack_read_raw (&c, &p, &len);
            CHECK (!ok || (p >= data && p + len <= data + size));
            break;
        case 5: ok = pack_read_container (&c, 0x90, 0xdc, 0xdd, &u64); break;
        case 6: ok = pack_skip (&c); break;
        default: ok = pack_open_map (c.at, pack_left (&c), &c, &u64); break;
        }
        CHECK (c.at >= data && c.at <= c.end && c.end == data + size);
        if (!ok || c.at == at.at)
            c.at = at.at + 1;
    }
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    int checked = pack_check (data, size);
    CHECK (checked == PROKIT_OK || checked == PROKIT_EPROTO);
    prokit_payload_t *payload = prokit_payload_new_msgpack (data, size);
    CHECK ((payload != NULL) == (checked == PROKIT_OK));
    if (payload) {
        s_read_payload (payload, data, size);
        prokit_payload_destroy (&payload);
        CHECK (payload == NULL);
        //  One well-formed value: pack_skip() steps over exactly it.
        pack_cursor_t c = { data, data + size };
        CHECK (pack_skip (&c) && c.at == data + size);
        s_against_msgpack_c (data, size);
    }
    s_cursor_walk (data, size);

    //  The same bytes as a bin and (up to a NUL) as a string.
    prokit_payload_t *bytes = prokit_payload_new_bytes (size ? data : NULL, size);
    CHECK (bytes);
    size_t len = 0;
    const void *back = prokit_payload_bytes (bytes, &len);
    CHECK (back && len == size && (size == 0 || memcmp (back, data, size) == 0));
    CHECK (prokit_payload_type (bytes) == PROKIT_PAYLOAD_BIN);
    CHECK (pack_check (prokit_payload_data (bytes), prokit_payload_size (bytes)) == PROKIT_OK);
    prokit_payload_destroy (&bytes);
    char *text = (char *) malloc (size + 1);
    CHECK (text);
    if (size)
        memcpy (text, data, size);
    text[size] = 0;
    prokit_payload_t *string = prokit_payload_new_string (text);
    CHECK (string);
    CHECK (strcmp (prokit_payload_str (string), text) == 0);
    CHECK (pack_check (prokit_payload_data (string), prokit_payload_size (string)) == PROKIT_OK);
    prokit_payload_destroy (&string);
    free (text);
    return 0;
}
