/*  router_private.h: the routing core's state and what drives it (private).

    router.c is the core: one ROUTER socket, the PUB channel's XPUB and the
    registry, in a router_state_t that knows nothing of threads. Whoever
    holds the router's lock drives it: the router's own thread, or the
    embedded main's, in router_thread.c, which also hands main's messages
    in and its inbox out. Nothing here locks.

    Thread-safety: every function with the router's lock held.
*/
#ifndef PROKIT_ROUTER_PRIVATE_H_INCLUDED
#define PROKIT_ROUTER_PRIVATE_H_INCLUDED

#include <czmq.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "acl.h"
#include "inbound.h"
#include "pool.h"
#include "proto.h"
#include "router.h"

//  The router refuses bodies over max_payload with ETOOBIG; libzmq itself
//  drops connections whose frames exceed twice that, so a hostile peer
//  cannot make the router buffer arbitrarily large frames.
#define ROUTER_BOUND_MAX 256
#define ROUTER_MAXMSGSIZE(max) ((int64_t) (max) *2 + 65536)
//  The PUB channel's limit on what it receives (subscriptions, handshakes).
#define ROUTER_CHANNEL_MAXMSGSIZE 4096
#define ROUTING_ID_MAX 255
#define BATCH_MAX 256
//  Items for main kept for reuse once main has handled them.
#define ROUTER_SPARE_MAX 1024
//  BATCH buffers (PROTO_BATCH_MAX bytes) kept for reuse when not in use.
#define BATCH_POOL_MAX 64
//  Per-peer queue depth (messages) before the router sees EAGAIN for it.
#define ROUTER_HWM 10000
//  The most messages a client under flow control may hold unconfirmed
//  (well within its own and our high-water marks of ROUTER_HWM).
#define ROUTER_WINDOW_MAX 8000
//  Errors and presence events the router itself generates are never
//  dropped for a full queue: they wait in a per-peer backlog, retried
//  every BACKLOG_RETRY_MS, up to BACKLOG_MAX entries.
#define BACKLOG_RETRY_MS 5
//  Liveness of connections (ZMTP PING/PONG, done by libzmq).
#define ROUTER_HEARTBEAT_IVL_MS 1000
#define ROUTER_HEARTBEAT_TIMEOUT_MS 3000
#define BACKLOG_MAX 1000000
//  When main used the socket outside its run loop, the background thread
//  looks again this soon: a send may have consumed libzmq's wake-up for
//  incoming messages. Only while main keeps sending; idle costs nothing.
#define TOUCH_RECHECK_MS 1
//  While main is in its run loop it processes the socket itself; the
//  thread, not watching the socket meanwhile, checks this often that main
//  got on, and steps in when it did not (main is busy in a handler of the
//  application's, or idle) or left its loop.
#define MAIN_GRACE_MS 1

#define LOST_SWEEP_MS 250
//  How often the channel's socket is read at least, for subscriptions a
//  publish swallowed the announcement of (ending connections, strangers).
#define PUB_LOOK_MS 100

typedef struct peer peer_t;

typedef struct router_state {
    zsock_t *router_sock;
    void *router; //  the raw libzmq socket of router_sock
    //  The PUB channel: main -> window messages and broadcasts. An XPUB
    //  that never drops (ZMQ_XPUB_NODROP: a full subscriber makes the send
    //  fail with EAGAIN) and applies only the subscriptions the router
    //  approves (ZMQ_XPUB_MANUAL): a joining window's own secret topic,
    //  under which everything main sends it goes, broadcasts included.
    zsock_t *pub_sock;
    void *pub;
    char channels[ROUTER_ENDPOINTS_MAX][ROUTER_BOUND_MAX]; //  per endpoint, "" if none
    char bound[ROUTER_ENDPOINTS_MAX][ROUTER_BOUND_MAX];    //  the endpoints as bound
    size_t endpoint_count;
    zhashx_t *by_topic;                  //  topic -> peer_t on the channel
    size_t joining_count;                //  windows waiting for their subscription
    char instance[PROTO_TOPIC_SIZE + 1]; //  this router's id, in WELCOME
    uint64_t sessions;                   //  HELLOs admitted
    size_t receipts_pending;             //  peers with receipts unsent
    uint64_t sending_session;            //  the session of the SEND s_forward sends
    const char *sending_via;             //  and the pool it was addressed to, "" for none
    bool main_handling;                  //  handling main's SEND or BROADCAST: its ACCOUNT waits
    pools_t *pools;                      //  service name -> the windows that serve it
    zhashx_t *main_cancelled;    //  "requester/id" of requests to the embedded main cancelled
    int64_t pub_read_at;         //  when the channel's socket was last read
    size_t channel_windows;      //  joined windows on the channel
    atomic_size_t channel_count; //  the same, for the thread to read unlocked
    zhashx_t *lost;              //  topic -> lost_session_t
    atomic_size_t lost_count;
    //  What windows back from a router that went said they took in, for
    //  senders not here yet (router.c, took_note_t), oldest first.
    zlistx_t *took_notes;
    int lost_grace_ms;
    zsock_t *monitor; //  connection events of router_sock
    //  Windows to look at once, a heartbeat after they joined (oldest
    //  first): is their connection still there? (router.c, s_probe_joins)
    zlistx_t *probes; //  join_probe_t
    size_t max_payload;
    size_t max_windows; //  limits (router_config_t)
    size_t max_requests_per_window;
    size_t max_messages_per_second; //  0: none
    size_t max_pending_per_address;
    size_t max_windows_per_key; //  0: none
    //  The connections the router's monitor announced, by descriptor, and
    //  how many of each address's have not joined.
    struct connection *connections;
    size_t connections_size;
    zhashx_t *pending;    //  address -> pending_t
    zhashx_t *per_key;    //  CURVE key -> pending_t (windows joined with it)
    size_t closed_unsaid; //  closed past the limit: their failed handshakes are not news
    int heartbeat_ms;     //  announced in WELCOME
    zhashx_t *by_name;    //  name -> peer_t (owns the peers)
    zhashx_t *by_id;      //  hex routing id -> peer_t
    peer_t *main;
    //  The peers last found by routing id and by name: traffic comes in
    //  runs from the same sender to the same target, and a hit spares a
    //  hex conversion and a string hash. Cleared whenever a peer goes.
    peer_t *recent_sender;
    peer_t *recent_target;
    //  While s_drain() routes a batch from the socket: the clocks as the
    //  batch first read them (0: not yet), one reading each per batch.
    bool in_batch;
    int64_t batch_wall_ms; //  coarse wall clock
    int64_t batch_mono_ms;
    zactor_t *auth;        //  CZMQ's ZAP handler, when CURVE is on
    zcertstore_t *allowed; //  the allowed-keys directory, NULL: any key (or no CURVE)
    acl_t *acl;            //  which key may claim which name; NULL: any
    size_t backlog_total;  //  entries in all peers' backlogs
    peer_t **targets;      //  a broadcast's recipients, kept between broadcasts
    size_t targets_size;
    router_stats_t stats;
    //  The embedded main's inbox, and the eventfd that announces it when
    //  main's thread is not the one filling it.
    inbound_t *inbox_head, *inbox_tail;
    size_t inbox_size;
    int inbox_fd;
    bool inbox_signalled; //  inbox_fd was written and not yet read
    inbound_t *spare;     //  items main has finished with, for reuse
    size_t spare_count;
    bool main_holds_lock;  //  main's thread is processing: it takes the inbox itself
    int local_result;      //  why the embedded main's message was not delivered
    bool main_awaits_room; //  main was refused for a full window: tell it of room
    //  Windows with a BATCH waiting to be published (router.c, "batches"),
    //  and whether there are any, for a look without the lock.
    peer_t **batched;
    size_t batched_count, batched_size;
    uint8_t *batch_pool[BATCH_POOL_MAX]; //  BATCH buffers not in use, for reuse
    size_t batch_pool_count;
    atomic_bool batches_waiting;
    bool in_round; //  in router_core_process(): what is published waits for its end
    //  The embedded main is in a dispatch round (taken, not yet flushed):
    //  set and cleared under the lock, read without it by router_local_flush().
    atomic_bool main_round;
} router_state_t;

//  Set up STATE as CONFIG says: sockets bound (BOUND gets each endpoint as
//  bound), the embedded main registered when asked for. Returns PROKIT_OK
//  or an error; router_core_free() cleans up either way.
int router_core_init (router_state_t *self, const router_config_t *config,
                      char bound[][ROUTER_BOUND_MAX]);

//  Free everything STATE holds (sockets, peers, inbox).
void router_core_free (router_state_t *self);

//  Read and route what waits on the sockets (the monitor's events and the
//  channel's subscriptions when announced), retry backlogs. Returns true
//  when it stopped at its batch limit (more is waiting).
bool router_core_process (router_state_t *self, bool monitor_ready, bool pub_ready);

//  Settle lost sessions whose grace has passed.
void router_core_sweep_lost (router_state_t *self);

//  Read the channel's subscriptions (joins, channel connections ending).
void router_core_drain_pub (router_state_t *self);

//  Send the RECEIPTs still owed to senders.
void router_core_flush_receipts (router_state_t *self);

//  Publish the BATCHes waiting (the end of a round of work).
void router_core_flush_batches (router_state_t *self);

//  Tell every connected client the router is going.
void router_core_say_goodbye (router_state_t *self);

//  Handle MSG (BODY taken) from SENDER, a joined peer: the embedded main's
//  messages enter here.
void router_core_handle (router_state_t *self, peer_t *sender, const proto_msg_t *msg,
                         zmq_msg_t *body);

//  Take ACL (moved in, NULL: none) in place of the access list, and drop
//  every client whose key is no longer allowed. Returns how many.
size_t router_core_reload (router_state_t *self, acl_t *acl);

//  When the router last received from window NAME (ms since the epoch), 0
//  when none is joined under it.
int64_t router_core_last_seen (router_state_t *self, const char *name);

//  Make the eventfd FD readable.
void router_core_signal (int fd);

#endif
