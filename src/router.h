/*  router.h: the routing core (private).

    The ROUTER socket every client connects to, and the registry behind it.
    It admits clients by name, routes messages, requests, replies and
    errors between them, and tells main who joins and leaves. The same code
    runs embedded in the main process and alone as the broker daemon.

    Who drives it: a background thread does, except while an embedded main
    sits in its run loop. Then main's own thread processes the socket (no
    thread hand-off per message, which is what a round trip to main would
    otherwise cost), and the thread sleeps until main leaves the loop. The
    state is guarded by one mutex; whoever holds it and touches the socket
    also drains it, so no libzmq wake-up is ever lost between the two.

    An embedded main is not a socket client of its own router: it hands
    its messages over in memory (router_local_send) and takes what is for
    it from an in-memory inbox (router_local_take).
*/
#ifndef PROKIT_ROUTER_H_INCLUDED
#define PROKIT_ROUTER_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acl.h"
#include "inbound.h"
#include "prokit/info.h"
#include "proto.h"

typedef struct router router_t;

//  Most endpoints one router binds.
#define ROUTER_ENDPOINTS_MAX 16

typedef struct router_config {
    //  Where clients connect (ipc://, tcp://), in order; at least one.
    const char *endpoints[ROUTER_ENDPOINTS_MAX];
    size_t endpoint_count;
    //  Main lives in this process and talks to the router in memory: the
    //  @main role is taken from the start, never by a connection.
    bool embedded_main;
    //  CURVE: when curve_cert (with its secret key) is set, every tcp://
    //  endpoint is a CURVE server with that certificate, and ZAP (CZMQ's
    //  zauth, one per process) admits the client keys in the directory
    //  curve_allow, or any key when it is "*". ipc:// and inproc:// stay
    //  plaintext: the file system guards them.
    zcert_t *curve_cert;
    const char *curve_allow;
    //  Which names each client key may claim; NULL: any. Moved into the
    //  router by router_new(), on success and on failure.
    acl_t *acl;
    size_t max_payload;       //  largest body accepted, in bytes
    int heartbeat_ivl_ms;     //  ZMTP ping interval (0: 1000)
    int heartbeat_timeout_ms; //  silence after which a connection is dropped (0: 3000)
    //  Limits, 0 for the default: windows joined (or joining) at once;
    //  requests one window may have in flight through the router; SENDs,
    //  REQUESTs and BROADCASTs per second from one window (default: none).
    //  Main is not limited. Exceeding one gets the offender PROKIT_ELIMIT.
    size_t max_windows;
    size_t max_requests_per_window;
    size_t max_messages_per_second;
    //  Connections from one address (a host over TCP, a process over ipc)
    //  that have not joined, at once: those past it are closed at once.
    //  Windows joined with one CURVE key at once (default: none): the
    //  next HELLO with that key is refused.
    size_t max_pending_per_address;
    size_t max_windows_per_key;
    //  libzmq I/O threads for the process's ZeroMQ context, if it has not
    //  started yet (0: leave it as it is).
    int io_threads;
} router_config_t;

#define ROUTER_DEFAULT_MAX_WINDOWS 100000
#define ROUTER_DEFAULT_MAX_REQUESTS 10000
#define ROUTER_DEFAULT_MAX_PENDING 1000

//  Counters the router keeps; read with router_stats().
//  What each one counts: prokit_stats_t in prokit/info.h.
#define ROUTER_STATS_FIELD(name) uint64_t name;
typedef struct router_stats {
    PROTO_COUNTER_LIST (ROUTER_STATS_FIELD)
} router_stats_t;
_Static_assert(sizeof (prokit_stats_t) == PROTO_COUNTERS * sizeof (unsigned long long),
               "prokit_stats_t has the counters of PROTO_COUNTER_LIST");

//  Start a router bound to CONFIG's endpoints. Returns NULL and sets *error
//  (PROKIT_ETRANSPORT, PROKIT_EEXIST when another main listens on the ipc
//  path, PROKIT_EINVAL) when it cannot start. ERROR is required.
router_t *router_new (const router_config_t *config, int *error);

//  The first endpoint as bound (a tcp port of * resolved).
const char *router_endpoint (const router_t *self);

//  Endpoint INDEX (0 .. config's endpoint_count - 1) as bound; NULL when
//  out of range.
const char *router_endpoint_at (const router_t *self, size_t index);

//  Copy the router's counters (taken under the router's lock).
int router_stats (router_t *self, router_stats_t *stats);

//  The same, as the public API reports them.
int router_public_stats (router_t *self, prokit_stats_t *stats);

//  When the router last received a message from window NAME, in ms since
//  the Unix epoch (under the router's lock). PROKIT_ENOTFOUND if none.
int router_last_seen (router_t *self, const char *name, long long *ms);

//  Take ACL (moved in; NULL: no access list) in place of the one in use,
//  and look again at every client that has joined: one whose key is no
//  longer allowed (its certificate gone from the allowed-keys directory,
//  or its name no longer its key's in ACL) is told, with an ERROR
//  PROKIT_EACCES of id 0, and dropped. Returns how many were dropped.
size_t router_reload (router_t *self, acl_t *acl);

//  Stop the router, telling connected clients, and free it. NULL-safe.
void router_destroy (router_t **self_p);

//  --- the embedded main ---------------------------------------------------
//  For a router made with embedded_main, from main's thread only.

//  A message for main, in memory: inbound_t (inbound.h).

#define ROUTER_LOCAL_FDS 4

//  The descriptors main must watch: readable when the router has work
//  for main's thread (the socket's and the monitor's ZMQ_FD, an eventfd
//  written when the inbox gets items while main was not looking, and the
//  PUB channel's ZMQ_FD).
void router_local_fds (const router_t *self, int fds[ROUTER_LOCAL_FDS]);

//  Largest body the router accepts.
size_t router_max_payload (const router_t *self);

//  Handle a message from main as if it had arrived on the socket: a
//  SEND, REQUEST, REPLY, ERROR, BROADCAST, CLOSE, SHOW, HIDE or QUERY to
//  PEER, a peer field in its parts (a name, and a REQUEST's time left and
//  a channel if it says them). BODY is taken (closed). Main checked names and sizes already. Returns
//  PROKIT_OK, or, for a message to one peer that was not delivered, why:
//  PROKIT_EAGAIN (its queue is full), PROKIT_ENOTFOUND (no such peer) or
//  PROKIT_ENOHANDLER (it does not read named channels). Answers, and what a broadcast could not deliver, come
//  back through the inbox.
int router_local_send (router_t *self, proto_command_t command, uint64_t id,
                       const proto_peer_t *peer, zmq_msg_t *body);

//  Process what waits on the socket, on main's thread, and take main's
//  inbox: *HEAD and *TAIL are set to the list (NULL when empty). Connection
//  events are looked at when MONITOR_READY (the monitor's descriptor, the
//  second of router_local_fds, was readable), subscriptions on the channel
//  when PUB_READY (the fourth) or when due. *SPARE is a list of items
//  main has finished with (bodies closed): the router takes them for reuse
//  and sets *SPARE to NULL. Returns true when more is waiting than one call
//  processes.
bool router_local_take (router_t *self, bool monitor_ready, bool pub_ready, inbound_t **spare,
                        inbound_t **head, inbound_t **tail);

//  Publish the BATCHes main's messages left waiting (the end of main's
//  dispatch round); cheap when there are none.
void router_local_flush (router_t *self);

//  Main enters (true) or leaves (false) its run loop. While it is in it,
//  main's thread does the processing and the background thread sleeps.
void router_local_attend (router_t *self, bool attending);

#endif
