/*  prokit/export.h: symbol visibility.

    The library is built with hidden visibility; only declarations marked
    PROKIT_EXPORT are part of the ABI. Static builds define PROKIT_STATIC.
*/
#ifndef PROKIT_EXPORT_H_INCLUDED
#define PROKIT_EXPORT_H_INCLUDED

#if defined(PROKIT_STATIC)
#define PROKIT_EXPORT
#elif defined(__GNUC__) || defined(__clang__)
#define PROKIT_EXPORT __attribute__ ((visibility ("default")))
#else
#define PROKIT_EXPORT
#endif

#endif
