/*  sock.h: ZeroMQ sockets that may be refused (private).

    CZMQ's zsock_new() asserts when libzmq cannot make a socket (out of
    descriptors: each socket needs one for its mailbox; or at the context's
    socket limit), which would abort the application. A library must say so
    instead. A client's sockets are therefore raw libzmq sockets in CZMQ's
    context, made with zsys_socket(), which returns NULL there; CZMQ's
    option setters and readers (zsock_set_*(), zsock_fd()) take them as
    they are.

    The router, made once per main or broker, keeps CZMQ's sockets, made
    with sock_zsock_new(): it asks libzmq for a socket first and only then
    lets CZMQ make the real one in the place just freed. Another thread
    taking that descriptor in between would still meet CZMQ's assertion; a
    router is made before its process has windows.

    Thread-safety: any thread.
*/
#ifndef PROKIT_SOCK_H_INCLUDED
#define PROKIT_SOCK_H_INCLUDED

#include <czmq.h>

//  A raw libzmq socket of TYPE in CZMQ's context, or NULL (errno says why:
//  EMFILE, ENFILE, or the socket limit).
void *sock_new (int type);

//  Close *HANDLE_P (with its linger) and null it. NULL-safe.
void sock_destroy (void **handle_p);

//  A CZMQ socket of TYPE, or NULL as sock_new().
zsock_t *sock_zsock_new (int type);

//  Give CZMQ's context WANTED libzmq I/O threads, if it has fewer. libzmq
//  reads the count when the context opens its first socket: false, and
//  nothing changed, when prokit has opened one in this process already
//  (sockets the application opened itself are not seen: the count is
//  then set and unused).
bool sock_set_io_threads (int wanted);

//  The error code for a resource that could not be had, from errno:
//  PROKIT_ENOFILE when descriptors or sockets ran out, else FALLBACK.
int sock_error (int fallback);

#endif
