/*  leak_repro.c: libzmq loses the frames of a half-sent multipart message
    when the peer ends a PUSH socket's connection. No prokit in it.

    A PUSH connects to an endpoint whose socket refuses it at the ZMTP
    handshake (a ROUTER, as prokit's main does: PUSH and ROUTER do not go
    together), with the first frame of a multipart message already queued
    (ZMQ_SNDMORE). The refusal ends the connection's session, which asks the
    PUSH's pipe to terminate. A PUSH pipe terminates at once, without waiting
    for a delimiter (pipe_t::set_nodelay() in push.cpp), and
    pipe_t::process_pipe_term() then drops its outbound queue without the
    rollback() that would close the unfinished message: its frames are
    never freed. libzmq's own comment in lb_t::sendpipe() says as much
    ("the first N frames are unreachable"). PUB, RADIO and SCATTER pipes
    are nodelay too; a DEALER's pipe is not, and loses nothing (the
    control below).

    Each frame is a zmq_msg_init_data() message whose free function counts,
    so the program can tell by itself how many frames libzmq never freed,
    after zmq_ctx_term(). Built with -fsanitize=address, LeakSanitizer shows
    the same frames (zmq::msg_t::init_data, called from here).

    Usage: leak-repro [ROUNDS]      (default 20)
    Exit status: 0 when every frame was freed, 1 when some were not (the
    libzmq bug is there), 2 when the set-up failed.
*/
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define FRAME_SIZE 100 //  above the 33 bytes libzmq keeps without allocating

static atomic_int s_freed;

static void
s_count_free (void *data, void *hint)
{
    (void) data;
    (void) hint;
    atomic_fetch_add (&s_freed, 1);
}

static char s_frame[FRAME_SIZE] = "one frame of a multipart message, queued and never sent";

//  Queue one frame (counted) on SOCKET; returns zmq_msg_send's result.
static int
s_send_counted (void *socket, int flags, int *created)
{
    zmq_msg_t msg;
    if (zmq_msg_init_data (&msg, s_frame, sizeof (s_frame), s_count_free, NULL) != 0)
        return -1;
    (*created)++;
    int rc = zmq_msg_send (&msg, socket, flags);
    if (rc < 0)
        zmq_msg_close (&msg); //  refused: still ours, and counted when closed
    return rc;
}

//  A monitor of SOCKET's connection ending (the peer closes it after the
//  handshake, or SOCKET finds the peer's type wrong), set before it connects.
static void *
s_monitor (void *ctx, void *socket, int round)
{
    char address[64];
    snprintf (address, sizeof (address), "inproc://leak-repro-monitor-%d", round);
    if (zmq_socket_monitor (socket, address,
                            ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0)
        return NULL;
    void *monitor = zmq_socket (ctx, ZMQ_PAIR);
    zmq_connect (monitor, address);
    return monitor;
}

//  Wait (at most 2 s) until the refusing peer has ended the connection, as
//  MONITOR says; then stop monitoring.
static bool
s_refused (void *socket, void *monitor)
{
    zmq_pollitem_t item = { monitor, 0, ZMQ_POLLIN, 0 };
    bool refused = monitor && zmq_poll (&item, 1, 2000) > 0;
    zmq_socket_monitor (socket, NULL, 0);
    zmq_close (monitor);
    return refused;
}

//  ROUNDS connections of TYPE to ENDPOINT, each refused with the first
//  frame of a message queued. Returns the frames created; their frees are
//  counted in s_freed, complete once the context is gone.
static int
s_rounds (int type, const char *endpoint, int rounds)
{
    void *ctx = zmq_ctx_new ();
    int created = 0;
    for (int round = 0; round < rounds; round++) {
        void *socket = zmq_socket (ctx, type);
        int linger = 0;
        zmq_setsockopt (socket, ZMQ_LINGER, &linger, sizeof (linger));
        void *monitor = s_monitor (ctx, socket, round);
        zmq_connect (socket, endpoint);
        //  The first frame waits in the pipe (ZMQ_IMMEDIATE is off): the
        //  message is unfinished when the connection is refused.
        s_send_counted (socket, ZMQ_SNDMORE, &created);
        //  When the PUSH finds the peer's type wrong itself, its session
        //  ends and with it the pipe: the frame is lost. When the peer
        //  hangs up first, the PUSH reconnects and keeps its pipe, and the
        //  frame is freed at zmq_close(): so most rounds lose one, not all.
        if (!s_refused (socket, monitor))
            fprintf (stderr, "leak-repro: round %d: no refusal seen\n", round);
        //  The socket takes in its commands whenever asked for ZMQ_EVENTS:
        //  the session's end, then its pipe's termination.
        for (int i = 0; i < 20; i++) {
            int events;
            size_t size = sizeof (events);
            zmq_getsockopt (socket, ZMQ_EVENTS, &events, &size);
            usleep (5000);
        }
        //  The message's last frame: refused, or taken and dropped.
        s_send_counted (socket, ZMQ_DONTWAIT, &created);
        zmq_close (socket);
    }
    zmq_ctx_term (ctx);
    return created;
}

int
main (int argc, char **argv)
{
    int rounds = argc > 1 ? atoi (argv[1]) : 20;
    if (rounds <= 0)
        rounds = 20;
    char endpoint[64];
    snprintf (endpoint, sizeof (endpoint), "ipc:///tmp/prokit-leak-repro-%d.sock", (int) getpid ());

    //  The refusing peer, in a context of its own: a ROUTER, as at main's
    //  endpoint.
    void *peer_ctx = zmq_ctx_new ();
    void *router = zmq_socket (peer_ctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt (router, ZMQ_LINGER, &linger, sizeof (linger));
    if (zmq_bind (router, endpoint) != 0) {
        fprintf (stderr, "leak-repro: cannot bind %s: %s\n", endpoint, zmq_strerror (zmq_errno ()));
        return 2;
    }
    int major, minor, patch;
    zmq_version (&major, &minor, &patch);

    int lost_push = 0;
    static const struct {
        int type;
        const char *name;
    } kinds[] = { { ZMQ_PUSH, "PUSH" }, { ZMQ_DEALER, "DEALER" } };
    for (size_t k = 0; k < sizeof (kinds) / sizeof (kinds[0]); k++) {
        //  The DEALER is refused by a PUB instead: it goes with a ROUTER.
        void *refuser = router;
        char other[80];
        if (kinds[k].type == ZMQ_DEALER) {
            refuser = zmq_socket (peer_ctx, ZMQ_PUB);
            zmq_setsockopt (refuser, ZMQ_LINGER, &linger, sizeof (linger));
            snprintf (other, sizeof (other), "%s.pub", endpoint);
            if (zmq_bind (refuser, other) != 0)
                return 2;
        }
        atomic_store (&s_freed, 0);
        int created =
            s_rounds (kinds[k].type, kinds[k].type == ZMQ_DEALER ? other : endpoint, rounds);
        int lost = created - atomic_load (&s_freed);
        printf ("libzmq %d.%d.%d: %-6s refused by a %-6s %d rounds, %d frames, %d never freed\n",
                major, minor, patch, kinds[k].name,
                kinds[k].type == ZMQ_DEALER ? "PUB:" : "ROUTER:", rounds, created, lost);
        if (kinds[k].type == ZMQ_PUSH)
            lost_push = lost;
        if (refuser != router)
            zmq_close (refuser);
    }
    zmq_close (router);
    zmq_ctx_term (peer_ctx);
    fflush (stdout);
    return lost_push > 0 ? 1 : 0;
}
