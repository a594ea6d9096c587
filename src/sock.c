/*  sock.c: ZeroMQ sockets that may be refused. */
#include "sock.h"

#include <errno.h>
#include <stdatomic.h>

#include "prokit/error.h"

//  Whether prokit has opened a socket in this process: CZMQ's context
//  has started, its I/O threads with it.
static atomic_bool s_opened;

bool
sock_set_io_threads (int wanted)
{
    void *context = zsys_init ();
    if (!context)
        return false;
    if (zmq_ctx_get (context, ZMQ_IO_THREADS) >= wanted)
        return true;
    if (atomic_load (&s_opened))
        return false;
    return zmq_ctx_set (context, ZMQ_IO_THREADS, wanted) == 0;
}

void *
sock_new (int type)
{
    atomic_store (&s_opened, true);
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
    atomic_store (&s_opened, true);
    return zsock_new (type);
}

int
sock_error (int fallback)
{
    //  libzmq says EMFILE at its socket limit too.
    return errno == EMFILE || errno == ENFILE ? PROKIT_ENOFILE : fallback;
}
