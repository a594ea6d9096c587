/*  error.c: text for error codes. The table is the single place where a
    code gets its words; docs/PROTOCOL.md lists the same numbers. */
#include "prokit/error.h"

#include <stddef.h>

typedef struct {
    int code;
    const char *name;
    const char *text;
} error_entry_t;

static const error_entry_t s_errors[] = {
    { PROKIT_OK, "PROKIT_OK", "success" },
    { PROKIT_EINVAL, "PROKIT_EINVAL", "invalid argument" },
    { PROKIT_ENOMEM, "PROKIT_ENOMEM", "out of memory" },
    { PROKIT_ENOTFOUND, "PROKIT_ENOTFOUND", "no such window" },
    { PROKIT_EEXIST, "PROKIT_EEXIST", "name already taken" },
    { PROKIT_ETIMEDOUT, "PROKIT_ETIMEDOUT", "timed out" },
    { PROKIT_ENOHANDLER, "PROKIT_ENOHANDLER", "no request handler" },
    { PROKIT_EHANDLER, "PROKIT_EHANDLER", "request handler failed" },
    { PROKIT_ECLOSED, "PROKIT_ECLOSED", "connection closed" },
    { PROKIT_ETOOBIG, "PROKIT_ETOOBIG", "payload too large" },
    { PROKIT_EPROTO, "PROKIT_EPROTO", "protocol error" },
    { PROKIT_EVERSION, "PROKIT_EVERSION", "unsupported protocol version" },
    { PROKIT_EAGAIN, "PROKIT_EAGAIN", "queue full, try again" },
    { PROKIT_EACCES, "PROKIT_EACCES", "permission denied" },
    { PROKIT_ETRANSPORT, "PROKIT_ETRANSPORT", "transport error" },
    { PROKIT_ESPAWN, "PROKIT_ESPAWN", "window process could not be started" },
    { PROKIT_EEXITED, "PROKIT_EEXITED", "window process exited before joining" },
    { PROKIT_ENOFILE, "PROKIT_ENOFILE", "out of file descriptors or sockets" },
    { PROKIT_ELIMIT, "PROKIT_ELIMIT", "a configured limit was reached" },
    { PROKIT_ECANCELED, "PROKIT_ECANCELED", "the request was cancelled" },
    { PROKIT_EUNCONFIRMED, "PROKIT_EUNCONFIRMED",
      "the receiver was lost before confirming it: it may have taken it in" },
};

static const error_entry_t *
s_find (int code)
{
    for (size_t i = 0; i < sizeof (s_errors) / sizeof (s_errors[0]); i++)
        if (s_errors[i].code == code)
            return &s_errors[i];
    return NULL;
}

const char *
prokit_strerror (int code)
{
    const error_entry_t *entry = s_find (code);
    return entry ? entry->text : "unknown error";
}

const char *
prokit_error_name (int code)
{
    const error_entry_t *entry = s_find (code);
    return entry ? entry->name : "PROKIT_E?";
}
