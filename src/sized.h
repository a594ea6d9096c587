/*  sized.h: structures that cross the public API with their size (private).

    Options and specs the application fills carry, in their first member,
    the size its program was compiled with (their _init functions are
    inline, so they record the application's sizeof, not the library's).
    Structures the library fills are passed with their size beside them.
    Either way the library reads and writes only that many bytes, so a
    program built against an older header runs against a newer library,
    and the other way round. The rules are those of Linux's
    copy_struct_from_user() (clone3, openat2).

    Thread-safety: pure functions.
*/
#ifndef PROKIT_SIZED_H_INCLUDED
#define PROKIT_SIZED_H_INCLUDED

#include <stddef.h>

//  Copy the application's structure GIVEN, whose first member is its size
//  as compiled there, into OWN, the library's, of OWN_SIZE bytes. OWN is
//  zeroed first: fields an older application does not have keep their
//  defaults. Returns PROKIT_OK, or PROKIT_EINVAL when the size is
//  implausible (the structure was never initialised) or when GIVEN is
//  longer than OWN and sets fields this library does not know (refused,
//  never ignored). WHAT names the structure in the error logged.
int sized_take (void *own, size_t own_size, const void *given, const char *what);

//  Copy OWN (OWN_SIZE bytes) into the application's OUT of OUT_SIZE bytes:
//  as much as both have; bytes of OUT beyond OWN are zeroed.
void sized_give (void *out, size_t out_size, const void *own, size_t own_size);

#endif
