/*  prokit/export.h: symbol visibility.

    The library is built with hidden visibility; only declarations marked
    PROKIT_EXPORT are part of the ABI. In the static library the same
    marks decide which symbols stay global: the rest are made local when
    the archive is built, so prokit's internals cannot clash with yours.
*/
#ifndef PROKIT_EXPORT_H_INCLUDED
#define PROKIT_EXPORT_H_INCLUDED

#if defined(__GNUC__) || defined(__clang__)
#define PROKIT_EXPORT __attribute__ ((visibility ("default")))
#else
#define PROKIT_EXPORT
#endif

#endif
