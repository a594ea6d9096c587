/*  prokit/payload.h: the value a message, request or reply carries.

    A payload is exactly one MessagePack value (https://msgpack.org), kept
    in its encoded form. prokit never re-encodes it: what the sender packed
    is what the receiver reads. The helpers below cover the common cases (a
    string, raw bytes) without any msgpack code; for anything else, pack the
    value with msgpack-c (or any encoder) and wrap the bytes with
    prokit_payload_new_msgpack().

    Lifecycle: a payload is created by one of the _new functions or handed
    to you by the library, and freed with prokit_payload_destroy(). Calls
    that send a payload take it as `prokit_payload_t **`: when they succeed
    they own it and null *payload_p; when they fail, nothing was sent and
    the payload is still yours, unchanged, to send again or destroy (as
    nng_sendmsg() and zmsg_send() do). Payloads handed to callbacks as
    `const prokit_payload_t *` are borrowed: valid until the callback returns.

    Thread-safety: a payload may be moved between threads, but must not be
    used from two threads at once.
*/
#ifndef PROKIT_PAYLOAD_H_INCLUDED
#define PROKIT_PAYLOAD_H_INCLUDED

#include <stddef.h>

#include "prokit/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct prokit_payload prokit_payload_t;

//  The MessagePack type of a payload's value.
typedef enum prokit_payload_type {
    PROKIT_PAYLOAD_NIL,
    PROKIT_PAYLOAD_BOOL,
    PROKIT_PAYLOAD_INT, //  positive or negative integer
    PROKIT_PAYLOAD_FLOAT,
    PROKIT_PAYLOAD_STR,
    PROKIT_PAYLOAD_BIN,
    PROKIT_PAYLOAD_ARRAY,
    PROKIT_PAYLOAD_MAP,
    PROKIT_PAYLOAD_EXT
} prokit_payload_type_t;

//  Create a payload holding the msgpack string TEXT (copied; NUL-terminated).
//  Returns NULL if TEXT is NULL or memory runs out.
PROKIT_EXPORT prokit_payload_t *prokit_payload_new_string (const char *text);

//  Create a payload holding the msgpack string formatted printf-style.
//  Returns NULL if FORMAT is NULL or memory runs out.
PROKIT_EXPORT prokit_payload_t *prokit_payload_new_printf (const char *format, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__ ((format (printf, 1, 2)))
#endif
    ;

//  Create a payload holding SIZE raw bytes (msgpack bin) copied from DATA.
//  DATA may be NULL when SIZE is 0. Returns NULL on bad arguments or when
//  memory runs out.
PROKIT_EXPORT prokit_payload_t *prokit_payload_new_bytes (const void *data, size_t size);

//  Create a payload holding msgpack nil (JavaScript's undefined/null).
PROKIT_EXPORT prokit_payload_t *prokit_payload_new_nil (void);

//  Create a payload from SIZE bytes of encoded MessagePack at DATA (copied).
//  The bytes must hold exactly one complete, well-formed value. Returns NULL
//  when they do not (or memory runs out): a malformed payload never leaves
//  the process.
PROKIT_EXPORT prokit_payload_t *prokit_payload_new_msgpack (const void *data, size_t size);

//  Return a new payload with the same value, or NULL when memory runs out.
PROKIT_EXPORT prokit_payload_t *prokit_payload_dup (const prokit_payload_t *self);

//  Destroy a payload and set *self_p to NULL. Safe on NULL and on *self_p NULL.
PROKIT_EXPORT void prokit_payload_destroy (prokit_payload_t **self_p);

//  Return the encoded MessagePack bytes (borrowed, valid while SELF lives).
PROKIT_EXPORT const void *prokit_payload_data (const prokit_payload_t *self);

//  Return the size in bytes of the encoded MessagePack value.
PROKIT_EXPORT size_t prokit_payload_size (const prokit_payload_t *self);

//  Return the type of the value.
PROKIT_EXPORT prokit_payload_type_t prokit_payload_type (const prokit_payload_t *self);

//  If the value is a msgpack string, return it NUL-terminated (borrowed,
//  valid while SELF lives); otherwise return NULL. A string that contains
//  NUL bytes is cut at the first one here: use prokit_payload_bytes() for
//  the whole of it.
PROKIT_EXPORT const char *prokit_payload_str (const prokit_payload_t *self);

//  If the value is a msgpack string or bin, return a pointer to its bytes
//  (borrowed, valid while SELF lives, not NUL-terminated) and store their
//  count in *SIZE; otherwise return NULL and leave *SIZE untouched.
PROKIT_EXPORT const void *prokit_payload_bytes (const prokit_payload_t *self, size_t *size);

#ifdef __cplusplus
}
#endif

#endif
