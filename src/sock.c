/*  sock.c: ZeroMQ sockets that may be refused. */
#include "sock.h"

#include <errno.h>

#include "prokit/error.h"

void *
sock_new (int type)
{
    void *handle = zsys_socket (type, __FILE__, __LINE__);
    if (!handle && errno == 0)
        errno = EMFILE;
    return handle;
}

void
sock_destroy (void **handle_p)
{
    if (handle_p && *handle_p) {
        zsys_close (*handle_p, __FILE__, __LINE__);
        *handle_p = NULL;
    }
}

zsock_t *
sock_zsock_new (int type)
{
    void *probe = sock_new (type);
    if (!probe)
        return NULL;
    sock_destroy (&probe);
    return zsock_new (type);
}

int
sock_error (int fallback)
{
    //  libzmq says EMFILE at its socket limit too.
    return errno == EMFILE || errno == ENFILE ? PROKIT_ENOFILE : fallback;
}
