/*  router.h: the routing core (private).

    One background thread (a CZMQ actor) owning the ROUTER socket every
    client connects to. It admits clients by name, routes messages,
    requests, replies and errors between them, and tells main who joins and
    leaves. The same code runs embedded in the main process and alone as the
    broker daemon.
*/
#ifndef PROKIT_ROUTER_H_INCLUDED
#define PROKIT_ROUTER_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef struct router router_t;

typedef struct router_config {
    const char *endpoint;        //  where clients connect (ipc://, tcp://)
    const char *inproc_endpoint; //  optional second endpoint for an embedded main
    size_t max_payload;          //  largest body accepted, in bytes
    int heartbeat_ivl_ms;        //  ZMTP ping interval (0: 1000)
    int heartbeat_timeout_ms;    //  silence after which a connection is dropped (0: 3000)
} router_config_t;

//  Counters the router keeps; read with router_stats().
typedef struct router_stats {
    uint64_t received;      //  well-formed messages received
    uint64_t routed;        //  messages forwarded to a peer
    uint64_t errors_sent;   //  ERROR replies the router generated
    uint64_t garbage;       //  frames dropped: not prokit at all
    uint64_t malformed;     //  prokit messages refused as malformed
    uint64_t too_big;       //  bodies refused for their size
    uint64_t unroutable;    //  replies whose requester had gone
    uint64_t back_pressure; //  deliveries refused because a queue was full
    uint64_t control_lost;  //  router errors/events lost: backlog limit hit
    uint64_t windows;       //  windows joined right now
} router_stats_t;

//  Start a router bound to CONFIG's endpoints. Returns NULL and sets *error
//  (PROKIT_ETRANSPORT, PROKIT_EEXIST when another main listens on the ipc
//  path, PROKIT_EINVAL) when it cannot start.
router_t *router_new (const router_config_t *config, int *error);

//  The public endpoint as bound (a tcp port of * resolved).
const char *router_endpoint (const router_t *self);

//  Copy the router's counters (a round trip to its thread).
int router_stats (router_t *self, router_stats_t *stats);

//  When the router last received a message from window NAME, in ms since
//  the Unix epoch (a round trip to its thread). PROKIT_ENOTFOUND if none.
int router_last_seen (router_t *self, const char *name, long long *ms);

//  Stop the router, telling connected clients, and free it. NULL-safe.
void router_destroy (router_t **self_p);

#endif
