/*  client.h: one connection to a router, as main or as a window (private).

    Main and windows speak the same protocol to the router; they differ
    only in the name they claim and the events they care about. A client
    owns a DEALER socket used only from the application's thread (no
    background thread: the libzmq I/O thread does the transport work), a
    table of requests in flight with their deadlines, and one pollable
    descriptor that is readable whenever client_dispatch() has work.
*/
#ifndef PROKIT_CLIENT_H_INCLUDED
#define PROKIT_CLIENT_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

#include "prokit/info.h"
#include "prokit/message.h"
#include "prokit/payload.h"
#include "proto.h"

typedef struct client client_t;

//  How a client hands events to its owner (main.c or window.c). Called from
//  client_dispatch() only, on the application's thread.
typedef struct client_events {
    void (*on_message) (void *owner, const prokit_message_t *message);
    void (*on_presence) (void *owner, const char *window, bool joined,
                         const proto_presence_t *presence);
    //  The connection was lost or is back, before the application hears.
    void (*on_connection) (void *owner, int event, int code, const char *text);
    //  CLOSE, SHOW or HIDE from main.
    void (*on_control) (void *owner, int command);
    //  Called at the end of every dispatch, for the owner's own sources
    //  (see client_watch_fd()).
    void (*on_dispatch) (void *owner);
} client_events_t;

typedef struct client_config {
    const char *name;       //  window name, or "@main"
    const char *endpoint;   //  resolved endpoint to connect to
    int join_timeout_ms;    //  how long to wait for WELCOME
    int request_timeout_ms; //  default deadline of requests
    bool presence;          //  ask for JOINED/LEFT about other windows
    const char *service;    //  the pool it serves (a valid window name), NULL: none
    bool shown;             //  say it starts visible
    //  CURVE: this client's certificate file (with its secret key) and the
    //  router's public key (Z85 or a certificate file). Both or neither.
    const char *curve_cert;
    const char *curve_server_key;
    const client_events_t *events;
    void *owner;
    //  The embedded main: talk to this router in memory rather than over
    //  a socket (endpoint, heartbeats and CURVE are then unused).
    struct router *router;
    //  Requests the handler may have deferred and not yet answered; the
    //  next is answered PROKIT_ELIMIT without reaching it. 0: no limit.
    size_t max_deferred;
} client_config_t;

#define CLIENT_DEFAULT_MAX_DEFERRED 10000

//  Connect, claim the name and wait for the router's answer. Returns NULL
//  with *error set: PROKIT_EEXIST (name taken), PROKIT_EACCES (the router
//  refused our key, our security, or this name for our key),
//  PROKIT_ETIMEDOUT (no router answered), PROKIT_EINVAL (bad name or
//  certificate), PROKIT_ETRANSPORT, PROKIT_ENOMEM. ERROR is required.
client_t *client_new (const client_config_t *config, int *error);

//  Leave (BYE), end requests in flight with PROKIT_ECLOSED (their callbacks
//  run now), orphan deferred requests, close. Returns promptly. NULL-safe.
void client_destroy (client_t **self_p);

const char *client_name (const client_t *self);

//  How logs name this client: "main" or "window 'NAME'".
const char *client_label (const client_t *self);

//  True while joined and connected.
bool client_is_connected (const client_t *self);

//  Set the handler for incoming requests (NULL: answer PROKIT_ENOHANDLER).
//  The application's callbacks for messages not delivered and for the
//  connection's events (prokit_*_on_undelivered(), _on_connection()): the
//  client calls them itself. Without the first, it logs a warning. Return
//  PROKIT_OK.
int client_on_undelivered (client_t *self, prokit_undelivered_fn *fn, void *arg);
int client_on_connection (client_t *self, prokit_connection_fn *fn, void *arg);

//  Set the handler for requests on CHANNEL (NULL or "": the default one);
//  FN NULL removes it. Returns PROKIT_OK, PROKIT_EINVAL (a bad channel
//  name) or PROKIT_ENOMEM.
int client_set_handler (client_t *self, const char *channel, prokit_request_fn *fn, void *arg);

//  Send a one-way SEND to TARGET (a window), or a BROADCAST when TARGET is
//  NULL, on CHANNEL (NULL or "": the default one). Takes *payload_p.
//  Returns PROKIT_OK, PROKIT_EINVAL, PROKIT_ETOOBIG, PROKIT_EAGAIN,
//  PROKIT_ECLOSED, or PROKIT_EVERSION (a named channel, and the router
//  predates them).
int client_send (client_t *self, const char *target, const char *channel,
                 prokit_payload_t **payload_p);

//  Send main's CLOSE, SHOW or HIDE to the window TARGET. Returns as
//  client_send(); failures to deliver come back as undelivered.
int client_control (client_t *self, int command, const char *target);

//  Start a request on CHANNEL (as client_send()); FN is called exactly once
//  from client_dispatch(). PROGRESS (NULL: none) gets the handler's
//  progress updates before it. *ID_P (if not NULL) gets its id, for
//  client_cancel().
int client_request (client_t *self, const char *target, const char *channel,
                    prokit_payload_t **payload_p, int timeout_ms, prokit_reply_fn *fn, void *arg,
                    prokit_progress_fn *progress, void *progress_arg, uint64_t *id_p);

//  Cancel request ID: the handler is told, its answer will be dropped, and
//  the request's callback is called now with PROKIT_ECANCELED. Returns
//  PROKIT_OK or PROKIT_ENOTFOUND (no such request in flight: it has had
//  its outcome).
int client_cancel (client_t *self, uint64_t id);

//  Send a PROGRESS for request ID from REQUESTER; *BODY_P taken on success.
int client_progress (client_t *self, const char *requester, uint64_t id, prokit_payload_t **body_p);

//  Make a request and wait for its outcome. Events that arrive meanwhile
//  are kept for the next client_dispatch().
int client_request_wait (client_t *self, const char *target, const char *channel,
                         prokit_payload_t **payload_p, int timeout_ms, prokit_reply_t **reply_p);

//  Ask the router WHAT ("windows", "stats") and wait for its INFO; its body
//  is moved into BODY (initialised here, closed by the caller) on success.
int client_query (client_t *self, const char *what, int timeout_ms, zmq_msg_t *body);

//  The router's counters into the application's STATS of STATS_SIZE bytes
//  (sized.h): in memory from the embedded router, else with a "stats"
//  query (at most TIMEOUT_MS). PROKIT_EINVAL when STATS is NULL or
//  STATS_SIZE 0.
int client_router_stats (client_t *self, int timeout_ms, prokit_stats_t *stats, size_t stats_size);

//  When the router last heard from window NAME, ms since the epoch, into
//  *MS: known only to an embedded main (its router is in memory), so
//  PROKIT_ENOTFOUND otherwise or for a stranger.
int client_last_seen (client_t *self, const char *name, long long *ms);

//  Answer request ID from REQUESTER with a REPLY (BODY, taken) or an ERROR.
int client_answer (client_t *self, const char *requester, uint64_t id, prokit_payload_t **body_p,
                   int code, int app_code, const char *text);

int client_fd (const client_t *self);

//  Add FD to the descriptors client_fd() stands for: when it is readable
//  the application calls dispatch, which calls events->on_dispatch.
int client_watch_fd (client_t *self, int fd);
int client_dispatch (client_t *self);
int client_run (client_t *self, int timeout_ms);
void client_stop (client_t *self);

//  Build the endpoint to use: GIVEN, else $PROKIT_ENDPOINT, else the
//  default ipc path for APP_NAME (else $PROKIT_APP, else "prokit").
//  Returns PROKIT_OK or PROKIT_EINVAL (bad app name, too long).
int client_resolve_endpoint (const char *given, const char *app_name, char *out, size_t size);

//  The CURVE settings to use: GIVEN, else the environment variable ENV
//  (PROKIT_CURVE_CERT, PROKIT_CURVE_SERVER_KEY); NULL when neither is set
//  or the variable is empty.
const char *client_resolve_setting (const char *given, const char *env);

#endif
