/*  prokit/message.h: what callbacks receive.

    Three small objects, all carrying one payload:

    * prokit_message_t: a one-way message that arrived (main -> window,
      window -> window, or a broadcast). Borrowed by the listener callback:
      valid until it returns.
    * prokit_request_t: a request that arrived at a handler, waiting for its
      answer. The handler answers by returning the reply payload, or calls
      prokit_request_fail(), or keeps the request with prokit_request_defer()
      and answers it later, from the same thread, with prokit_request_reply()
      or prokit_request_fail().
    * prokit_reply_t: the outcome of a request you made: the reply payload or
      an error (code, text, and the handler's own code). Every request gets
      exactly one.

    Names: a sender or target is a window name, or "@main" for the main
    process (PROKIT_MAIN). The seed's window called "main" is an ordinary
    window name and never means the main process.

    Channels (Electron's ipcMain.handle(channel) and ipcRenderer.on(channel)):
    every message and request travels on a channel. The seed's calls use
    the default channel, ""; the _on calls and the handlers registered per
    channel (prokit_main_handle(), prokit_window_handle(), prokit_window_on())
    name one: 1 to PROKIT_CHANNEL_MAX bytes of printable ASCII (0x21 to
    0x7e) other than '#', such as "resize" or "file:open". A request on a
    channel nobody handles ends with PROKIT_ENOHANDLER naming the channel.

    Thread-safety: use these objects on the thread that runs the callbacks
    of the handle they came from.
*/
#ifndef PROKIT_MESSAGE_H_INCLUDED
#define PROKIT_MESSAGE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "prokit/export.h"
#include "prokit/payload.h"

#ifdef __cplusplus
extern "C" {
#endif

//  The address of the main process, as a sender or as a request target.
#define PROKIT_MAIN "@main"

//  Window names: 1 to PROKIT_NAME_MAX bytes of [A-Za-z0-9._-], starting
//  with a letter or a digit.
#define PROKIT_NAME_MAX 64

//  Channel names: 1 to PROKIT_CHANNEL_MAX bytes (see "Channels" above).
#define PROKIT_CHANNEL_MAX 64

typedef struct prokit_message prokit_message_t;
typedef struct prokit_request prokit_request_t;
typedef struct prokit_reply prokit_reply_t;

//  Listener for one-way messages. MESSAGE is borrowed until it returns.
typedef void (prokit_message_fn) (const prokit_message_t *message, void *arg);

//  Request handler. Return the reply payload (the library takes it), or
//  NULL: then the request has been answered with prokit_request_fail(), or
//  kept with prokit_request_defer(), or, if neither, it is answered with a
//  nil value (like a JavaScript handler that returns nothing).
typedef prokit_payload_t *(prokit_request_fn) (prokit_request_t *request, void *arg);

//  Called once with the outcome of an asynchronous request. REPLY is
//  borrowed until the callback returns; take its payload to keep it.
typedef void (prokit_reply_fn) (prokit_reply_t *reply, void *arg);

//  Called with each progress update a handler sends for a request
//  (prokit_request_progress()), in order, before the outcome. PROGRESS is
//  borrowed until the callback returns.
typedef void (prokit_progress_fn) (const prokit_payload_t *progress, void *arg);

//  Options of a request (prokit_window_request_with()). Initialise with
//  prokit_request_opts_init(); later versions add fields at the end only.
typedef struct prokit_request_opts {
    size_t size;         //  sizeof (prokit_request_opts_t) as you compiled it: set by _init
    const char *channel; //  NULL or "": the default channel
    int timeout_ms;      //  0 or less: the handle's default
    //  Progress updates from the handler, in order, before the outcome
    //  (NULL: ignored).
    prokit_progress_fn *progress;
    void *progress_arg;
} prokit_request_opts_t;

static inline void
prokit_request_opts_init (prokit_request_opts_t *opts)
{
    if (opts) {
        memset (opts, 0, sizeof (*opts));
        opts->size = sizeof (*opts);
    }
}

//  Called when a message or request you sent could not be delivered after
//  the send call had returned PROKIT_OK (the target left meanwhile, its
//  queue was full, ...). TARGET is the window it was for ("" for a
//  broadcast a restarting broker never handled: it reached no window),
//  CODE the reason (PROKIT_ENOTFOUND, PROKIT_EAGAIN, PROKIT_ECLOSED, ...),
//  TEXT a description; all borrowed. Called once per message.
//  Without such a callback these failures are logged at warn level.
typedef void (prokit_undelivered_fn) (const char *target, int code, const char *text, void *arg);

//  A window joining or leaving, or a window process main started ending.
typedef enum prokit_presence_kind {
    PROKIT_PRESENCE_JOINED = 1, //  the window joined (claimed its name)
    PROKIT_PRESENCE_LEFT = 2,   //  it left; its name is free again
    PROKIT_PRESENCE_EXITED = 3  //  (main only) a process main started has ended, and was reaped
} prokit_presence_kind_t;

typedef struct prokit_presence {
    prokit_presence_kind_t kind;
    const char *window; //  its name
    //  Why: LEFT: "closed" (it left), "closed by main", "connection lost"
    //  (killed, or silent past the heartbeat timeout); EXITED: "exited
    //  with status N", "killed by signal N (SIGNAME)", or "ended (status
    //  unknown)" (wait_status -1) when something else reaped the child, e.g.
    //  SIGCHLD set to SIG_IGN or a waitpid(-1) elsewhere. "" for JOINED.
    const char *reason;
    int pid;             //  its process id when known, else 0
    int wait_status;     //  EXITED: the status waitpid() gave; else 0
    bool will_restart;   //  EXITED: main will start it again (restart policy)
    const char *service; //  JOINED: the pool it serves ("" for none); else ""
} prokit_presence_t;

//  Called for presence events. EVENT and its strings are borrowed until
//  the callback returns.
typedef void (prokit_presence_fn) (const prokit_presence_t *event, void *arg);

//  What happened to a handle's connection to the router.
typedef enum prokit_connection_event {
    //  The connection was lost (the router or main went away, or stopped
    //  answering heartbeats). Requests in flight end with PROKIT_ECLOSED,
    //  and sends fail with PROKIT_ECLOSED until the handle has rejoined.
    PROKIT_CONNECTION_LOST = 1,
    //  The connection is back and the handle joined again under its name.
    PROKIT_CONNECTION_REJOINED = 2,
    //  The connection is back but joining again was refused (CODE and TEXT
    //  say why, e.g. PROKIT_EEXIST: another window took the name). The
    //  handle stays disconnected; it tries again at the next reconnection.
    PROKIT_CONNECTION_REFUSED = 3
} prokit_connection_event_t;

//  Called on connection changes; TEXT is borrowed until it returns.
typedef void (prokit_connection_fn) (prokit_connection_event_t event, int code, const char *text,
                                     void *arg);

//  --- prokit_message_t ----------------------------------------------------

//  Return the sender's name: a window name or PROKIT_MAIN.
PROKIT_EXPORT const char *prokit_message_sender (const prokit_message_t *self);

//  Return the channel the message was sent on: "" for the default one
//  (the seed's calls), else its name (see "Channels" above).
PROKIT_EXPORT const char *prokit_message_channel (const prokit_message_t *self);

//  Return the payload (borrowed, valid while the message is).
PROKIT_EXPORT const prokit_payload_t *prokit_message_payload (const prokit_message_t *self);

//  Return true if the message was broadcast to every window.
PROKIT_EXPORT bool prokit_message_is_broadcast (const prokit_message_t *self);

//  --- prokit_request_t ----------------------------------------------------

//  Return the requester's name: a window name or PROKIT_MAIN.
PROKIT_EXPORT const char *prokit_request_sender (const prokit_request_t *self);

//  Return the channel the request was made on: "" for the default one.
PROKIT_EXPORT const char *prokit_request_channel (const prokit_request_t *self);

//  Return the request's payload (borrowed, valid while the request is), or
//  NULL once it has been taken.
PROKIT_EXPORT const prokit_payload_t *prokit_request_payload (const prokit_request_t *self);

//  Take the payload out of the request, without copying its bytes: the
//  caller owns it, to reply with it, send it on or keep it, and frees it
//  with prokit_payload_destroy() unless a send takes it. A handler that
//  echoes or forwards a large payload saves a copy of it this way.
//  Returns NULL if SELF is NULL, the payload was taken already, or memory
//  ran out (the request keeps it then).
PROKIT_EXPORT prokit_payload_t *prokit_request_take_payload (prokit_request_t *self);

//  Keep the request past the handler's return, to answer it later. Call it
//  inside the handler and return NULL; the returned pointer is yours until
//  you pass it to prokit_request_reply() or prokit_request_fail(). If the
//  handle it came from is destroyed first, those calls return
//  PROKIT_ECLOSED and still free it. Returns NULL if SELF is NULL or was
//  already answered.
PROKIT_EXPORT prokit_request_t *prokit_request_defer (prokit_request_t *self);

//  Answer a request with a reply payload. Takes ownership of *payload_p and
//  nulls it when it returns PROKIT_OK; on failure the payload is still
//  yours. Nulls *self_p (a deferred request is freed).
//  Returns PROKIT_OK, PROKIT_EINVAL if it was answered already,
//  PROKIT_ETOOBIG (the requester gets PROKIT_ETOOBIG too), PROKIT_ECLOSED
//  when the handle is gone, or PROKIT_EAGAIN when the queue to the router
//  is full: then the request stays open and *self_p is left as it was, to
//  try again. A NULL payload is refused
//  with PROKIT_EINVAL and leaves the request unanswered and *self_p as is.
PROKIT_EXPORT int prokit_request_reply (prokit_request_t **self_p, prokit_payload_t **payload_p);

//  Answer a request with a failure: the requester gets PROKIT_EHANDLER with
//  APP_CODE (your own number) and TEXT (copied; NULL means ""). Nulls *self_p.
//  Returns as prokit_request_reply().
PROKIT_EXPORT int prokit_request_fail (prokit_request_t **self_p, int app_code, const char *text);

//  Send a progress update for the request, before its answer: the
//  requester's progress callback gets them in order, then the outcome
//  (prokit_request_opts_t.progress; a requester without one ignores
//  them). Takes ownership of *payload_p and nulls it on PROKIT_OK; else
//  the payload is still yours. Returns PROKIT_OK, PROKIT_EINVAL (NULL, or
//  answered already), PROKIT_ECANCELED (the requester cancelled it: no
//  need to go on), PROKIT_ETOOBIG, PROKIT_EAGAIN (the queue to the router
//  is full: nothing sent), PROKIT_ECLOSED. A progress update the
//  requester's queue has no room for is dropped (the outcome is not).
PROKIT_EXPORT int prokit_request_progress (prokit_request_t *self, prokit_payload_t **payload_p);

//  Return the time left, in ms, before the request's deadline (its
//  requester's timeout, which travels with it): 0 once it has passed (the
//  requester has had PROKIT_ETIMEDOUT: no need to answer), -1 when the
//  requester said none (an older library). A request whose deadline passes
//  before its handler is called is never handed to it.
PROKIT_EXPORT long long prokit_request_time_left (const prokit_request_t *self);

//  Return true once the requester has cancelled the request (a deferred
//  request learns it as the dispatcher reads the cancellation): stop its
//  work, and answer it or not; any answer is dropped by the router and
//  counted (prokit_stats_t.late).
PROKIT_EXPORT bool prokit_request_is_cancelled (const prokit_request_t *self);

//  --- prokit_reply_t ------------------------------------------------------

//  Return PROKIT_OK if the request was answered with a payload, else the
//  error: PROKIT_ENOTFOUND, PROKIT_ENOHANDLER, PROKIT_EHANDLER,
//  PROKIT_ETIMEDOUT, PROKIT_ECLOSED, PROKIT_ETOOBIG, PROKIT_EAGAIN, ...
PROKIT_EXPORT int prokit_reply_status (const prokit_reply_t *self);

//  Return the reply's payload (borrowed), or NULL when the status is an error.
PROKIT_EXPORT const prokit_payload_t *prokit_reply_payload (const prokit_reply_t *self);

//  Return the reply as a NUL-terminated string if it is a msgpack string,
//  else NULL (borrowed, valid while the reply is).
PROKIT_EXPORT const char *prokit_reply_str (const prokit_reply_t *self);

//  Take the payload out of the reply, without copying its bytes: the caller
//  owns it and frees it with prokit_payload_destroy(). Returns NULL if there
//  is none, it was taken, or memory ran out (the reply keeps it then).
PROKIT_EXPORT prokit_payload_t *prokit_reply_take_payload (prokit_reply_t *self);

//  Return the error text: the answering side's text for errors that crossed
//  the wire, else a local explanation; "" when the status is PROKIT_OK.
PROKIT_EXPORT const char *prokit_reply_error (const prokit_reply_t *self);

//  Return the handler's own code given to prokit_request_fail() when the
//  status is PROKIT_EHANDLER, else 0.
PROKIT_EXPORT int prokit_reply_app_code (const prokit_reply_t *self);

//  Return the name of the peer the request was sent to (a window name or
//  PROKIT_MAIN).
PROKIT_EXPORT const char *prokit_reply_target (const prokit_reply_t *self);

//  Destroy a reply you own (from prokit_window_request_wait()) and null
//  *self_p. Safe on NULL.
PROKIT_EXPORT void prokit_reply_destroy (prokit_reply_t **self_p);

#ifdef __cplusplus
}
#endif

#endif
