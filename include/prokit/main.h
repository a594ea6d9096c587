/*  prokit/main.h: the main process (electron-prokit's initIpc).

    Creating a prokit_main_t starts the router inside this process, on a
    thread of its own, bound to one endpoint that every window connects to;
    main itself connects to it as the client "@main". Or, given a broker's
    endpoint (opts.broker or $PROKIT_BROKER), main starts no router and
    attaches to the broker's (prokit-broker, see prokit/broker.h), which may
    be on another host: the API is the same. Windows send requests
    to main (answered by the handler set with prokit_main_on_request),
    main sends messages to windows by name or to all of them, and windows
    reach each other through the router, which keeps routing while main's
    application code is busy.

    Lifecycle: prokit_main_new() -> prokit_main_on_request() -> run the
    loop (prokit_main_run(), or prokit_main_fd() + prokit_main_dispatch()
    in your own loop) -> prokit_main_destroy().

    Callbacks run only inside prokit_main_dispatch() / prokit_main_run(),
    on the thread that calls them.

    Thread-safety: not thread-safe. Use a prokit_main_t from one thread at a
    time; the exception is prokit_main_stop(), which any thread or a signal
    handler may call.
*/
#ifndef PROKIT_MAIN_H_INCLUDED
#define PROKIT_MAIN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "prokit/export.h"
#include "prokit/info.h"
#include "prokit/message.h"
#include "prokit/payload.h"
#include "prokit/spawn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct prokit_main prokit_main_t;

//  The largest max_payload a main accepts: 1 GiB.
#define PROKIT_MAX_PAYLOAD_LIMIT ((size_t) 1 << 30)

//  Options for prokit_main_new(). Initialise with prokit_main_opts_init(),
//  which records in SIZE the size your program was compiled with; later
//  versions add fields at the end only (see prokit.h, "Structures").
typedef struct prokit_main_opts {
    size_t size; //  sizeof (prokit_main_opts_t) as you compiled it: set by _init
    //  Names the default endpoint, ipc://$XDG_RUNTIME_DIR/prokit-APP.sock
    //  (or ipc:///tmp/prokit-APP-UID.sock). NULL: $PROKIT_APP, else "prokit".
    const char *app_name;
    //  Endpoint to bind (ipc://path, tcp://host:port, tcp://host:* for any
    //  port). NULL: $PROKIT_ENDPOINT, else the default above.
    const char *endpoint;
    //  Largest payload accepted, in bytes. 0: 16 MiB. At most
    //  PROKIT_MAX_PAYLOAD_LIMIT (1 GiB); more is refused with PROKIT_EINVAL.
    size_t max_payload;
    //  Liveness of window connections: the router pings each every
    //  heartbeat_ivl_ms (0: 1000) and drops one silent for
    //  heartbeat_timeout_ms (0: 3000); the window then leaves ("connection
    //  lost"). Any traffic counts; windows' libzmq answer pings by
    //  themselves. The other way, windows ping main on their own (every
    //  1000 ms, 3000 ms timeout), whatever these are.
    int heartbeat_ivl_ms;
    int heartbeat_timeout_ms;
    //  Attach to the broker at this endpoint (tcp://host:port, ipc://path)
    //  instead of embedding a router. NULL: $PROKIT_BROKER, else embed.
    //  Then endpoint must be NULL, and max_payload and the heartbeat
    //  options are the broker's (set there, ignored here).
    const char *broker;
    //  CURVE security towards a broker that requires it: main's
    //  certificate (with its secret key) and the broker's public key, as in
    //  prokit_window_opts_t. NULL: $PROKIT_CURVE_CERT and
    //  $PROKIT_CURVE_SERVER_KEY. Ignored when embedding.
    const char *curve_cert;
    const char *curve_server_key;
    //  Limits (0: the default). Exceeding one gets the offender
    //  PROKIT_ELIMIT; each is counted (prokit_stats_t.limited) and logged.
    //  Main itself is never limited. The first three are the router's, so
    //  a broker's when attached (set them there, ignored here):
    //    max_windows: windows joined at once (100000); the next HELLO is
    //      refused;
    //    max_requests_per_window: requests one window has in flight, until
    //      answered or failed (10000); the next request is refused;
    //    max_messages_per_second: SENDs and requests per second from one
    //      window, a second's worth in a burst (default: no limit); what is
    //      over is refused (a send: reported undelivered).
    //  max_requests_at_main: requests waiting for main's answer, deferred
    //  by its handler (10000); the next one is answered PROKIT_ELIMIT
    //  without reaching the handler.
    size_t max_windows;
    size_t max_requests_per_window;
    size_t max_messages_per_second;
    size_t max_requests_at_main;
    //  Connections from one address (a host over TCP, a process over ipc)
    //  that have not joined yet, at once (1000); those past it are closed at
    //  once. A router's, so a broker's when attached.
    size_t max_pending_per_address;
    //  libzmq I/O threads in this process (0: as its ZeroMQ context has
    //  them: 1, or $ZSYS_IO_THREADS). A router serving thousands of
    //  windows wants about one per thousand: each thread holds its share
    //  of the connections, and their heartbeats cost a thread the square
    //  of its share (docs/GUIDE.md, "Thousands of windows"). libzmq reads
    //  the count when the process opens its first ZeroMQ socket: it takes
    //  effect only when main is made before any other socket of the
    //  process (CZMQ's context), and is ignored, with a warning, when
    //  prokit has opened sockets in this process already. Ignored when
    //  attached (the broker's own option counts).
    int io_threads;
} prokit_main_opts_t;

//  Fill OPTS with the defaults (all fields zero / NULL) and its size.
static inline void
prokit_main_opts_init (prokit_main_opts_t *opts)
{
    if (opts) {
        memset (opts, 0, sizeof (*opts));
        opts->size = sizeof (*opts);
    }
}

//  Start the main process side: bind the endpoint and start the router, or
//  attach to a broker. OPTS may be NULL for the defaults. Returns NULL on
//  failure and stores the reason in *error when ERROR is not NULL:
//  PROKIT_EINVAL (bad option, both endpoint and broker, unreadable
//  certificate), PROKIT_EEXIST (another main listens on that ipc endpoint,
//  or the broker already has a main), PROKIT_EACCES (the broker refused
//  main's key or the main role to it), PROKIT_ETIMEDOUT (no broker
//  answered within 5 s), PROKIT_ETRANSPORT (the endpoint cannot be bound
//  or connected), PROKIT_ENOMEM.
PROKIT_EXPORT prokit_main_t *prokit_main_new (const prokit_main_opts_t *opts, int *error);

//  Tell every window main is going away, stop the router and free
//  everything; nulls *self_p. (Attached to a broker, main only leaves it:
//  the windows stay joined to the broker.) Window processes main started and that are
//  still running get SIGTERM at once, SIGKILL after 1 s, and are reaped
//  (close them politely first with prokit_main_clear_windows() and wait
//  for their EXITED events if they need to clean up). Returns within about
//  a second whatever the peers do.
//  Deferred requests not yet answered are orphaned (see
//  prokit_request_defer()). Safe on NULL. Do not call from a callback.
PROKIT_EXPORT void prokit_main_destroy (prokit_main_t **self_p);

//  Return the endpoint windows connect to, as bound (a tcp port given as *
//  is resolved). Borrowed, valid while SELF lives.
PROKIT_EXPORT const char *prokit_main_endpoint (const prokit_main_t *self);

//  True when main attached to a broker rather than embedding a router.
PROKIT_EXPORT bool prokit_main_is_attached (const prokit_main_t *self);

//  True while main is joined to its router (always, when embedded).
PROKIT_EXPORT bool prokit_main_is_connected (const prokit_main_t *self);

//  Follow main's connection to a broker (never called when embedded): on
//  PROKIT_CONNECTION_LOST every window is reported as having left (reason
//  "connection to the broker lost") and sends fail with PROKIT_ECLOSED;
//  main rejoins by itself when the broker is back, and the windows that
//  rejoin it are reported as they join. FN may be NULL (then rejoins and
//  refusals are logged).
PROKIT_EXPORT int prokit_main_on_connection (prokit_main_t *self, prokit_connection_fn *fn,
                                             void *arg);

//  Set the handler for requests from windows (onMsgFromRender). Its return
//  value is the reply; see prokit_request_fn. NULL removes it: requests
//  then fail with PROKIT_ENOHANDLER. Returns PROKIT_OK or PROKIT_EINVAL.
PROKIT_EXPORT int prokit_main_on_request (prokit_main_t *self, prokit_request_fn *fn, void *arg);

//  Set the handler for requests on CHANNEL (ipcMain.handle(channel); see
//  "Channels" in prokit/message.h). NULL or "" is the default channel, as
//  prokit_main_on_request(). FN NULL removes it: requests on CHANNEL then
//  fail with PROKIT_ENOHANDLER, naming the channel. Returns PROKIT_OK,
//  PROKIT_EINVAL (a bad channel name) or PROKIT_ENOMEM.
PROKIT_EXPORT int prokit_main_handle (prokit_main_t *self, const char *channel,
                                      prokit_request_fn *fn, void *arg);

//  Send PAYLOAD to the window called WINDOW (mainMsgToRender). Takes
//  ownership of *payload_p and nulls it when it returns PROKIT_OK; on any
//  failure nothing was sent and the payload is still yours. Returns PROKIT_OK
//  when the message is on its way; PROKIT_ENOTFOUND when no such window has
//  joined; PROKIT_EINVAL for a bad name; PROKIT_ETOOBIG; PROKIT_EAGAIN
//  when the window has as many of main's messages as it may hold
//  unconfirmed (it reads slowly: nothing was sent, try again; with the
//  embedded router, prokit_main_fd() turns readable once it has room, so
//  wait on it, dispatch, and send again). A message
//  accepted that the window never takes in (it leaves, is closed, killed
//  or dropped) is reported to the undelivered callback
//  (prokit_main_on_undelivered()). Attached to a broker, PROKIT_EAGAIN
//  means the queue to the broker is full, and a window that cannot keep
//  up is reported to that callback too.
PROKIT_EXPORT int prokit_main_send (prokit_main_t *self, const char *window,
                                    prokit_payload_t **payload_p);

//  prokit_main_send() on CHANNEL (NULL or "": the default one): the
//  window's listeners for CHANNEL get it (prokit_window_on()). Returns as
//  prokit_main_send(), and PROKIT_EINVAL for a bad channel name,
//  PROKIT_EVERSION when the broker predates named channels, and
//  PROKIT_ENOHANDLER (embedded) when the window does not read them (an
//  older library); attached to a broker, that comes to the undelivered
//  callback.
PROKIT_EXPORT int prokit_main_send_on (prokit_main_t *self, const char *window, const char *channel,
                                       prokit_payload_t **payload_p);

//  Send PAYLOAD to every window that has joined. Takes *payload_p as
//  prokit_main_send(). All or none: PROKIT_EAGAIN when any window has as
//  many messages as it may hold unconfirmed (nothing was sent; attached to
//  a broker, that comes to the undelivered callback with an empty name). A
//  window that then never takes it in is reported like a message by name.
//  (A window that did not ask for the PUB channel, such as an older one,
//  is sent to on its own, and reported one call per window.)
PROKIT_EXPORT int prokit_main_broadcast (prokit_main_t *self, prokit_payload_t **payload_p);

//  prokit_main_broadcast() on CHANNEL (NULL or "": the default one). A
//  window that does not read named channels (an older library) is left out
//  and reported to the undelivered callback (PROKIT_ENOHANDLER).
PROKIT_EXPORT int prokit_main_broadcast_on (prokit_main_t *self, const char *channel,
                                            prokit_payload_t **payload_p);

//  Set the callback for messages that could not be delivered after
//  prokit_main_send() or prokit_main_broadcast() returned PROKIT_OK. NULL:
//  log them at warn level.
PROKIT_EXPORT int prokit_main_on_undelivered (prokit_main_t *self, prokit_undelivered_fn *fn,
                                              void *arg);

//  Set the presence callback (NULL: none): every window that joins or
//  leaves, wherever it runs, and every window process main started that
//  ends (see prokit_presence_t).
PROKIT_EXPORT int prokit_main_on_presence (prokit_main_t *self, prokit_presence_fn *fn, void *arg);

//  --- windows as processes (createWindow) ----------------------------------

//  Start the window NAME as a process (createWindow): SPEC->path runs with
//  PROKIT_ENDPOINT, PROKIT_WINDOW_NAME and PROKIT_WINDOW_SHOW (1 or 0) in
//  its environment, so prokit_window_new (NULL, NULL, ...) in it needs no
//  configuration. Returns once the process started, or, with
//  join_timeout_ms, once it joined. The window is in the registry from
//  now on (not joined yet: see prokit_window_info_t). RESULT may be NULL;
//  else RESULT_SIZE is sizeof (*result) (see prokit.h, "Structures").
//  Returns PROKIT_OK; PROKIT_EINVAL (bad name or spec); PROKIT_EEXIST (a
//  window of that name is live or already started); PROKIT_ESPAWN (it could
//  not be started: RESULT->reason says why); PROKIT_EEXITED (it ended
//  before joining: RESULT->wait_status; it is not restarted);
//  PROKIT_ETIMEDOUT (it did not join in time: it is still running and
//  tracked); PROKIT_ENOMEM. While it waits for the join
//  it dispatches events, so callbacks may run. Not from a callback.
PROKIT_EXPORT int prokit_main_create_window (prokit_main_t *self, const char *name,
                                             const prokit_window_spec_t *spec,
                                             prokit_spawned_t *result, size_t result_size);

//  Close the window NAME (destroyWindow): it gets a close event, leaves the
//  registry at once (its name is free), and a process main started that has
//  not ended GRACE_MS later gets SIGTERM, then SIGKILL after another
//  GRACE_MS (0: 2000). How it ended comes as a PROKIT_PRESENCE_EXITED
//  event. A window main did not start is told to close and dropped by the
//  router. Returns PROKIT_OK, PROKIT_ENOTFOUND or PROKIT_EINVAL.
PROKIT_EXPORT int prokit_main_destroy_window (prokit_main_t *self, const char *name, int grace_ms);

//  Close every window (clearWindows), all at once: one grace period for
//  all of them. Returns PROKIT_OK, or PROKIT_EINVAL (NULL, negative grace).
PROKIT_EXPORT int prokit_main_clear_windows (prokit_main_t *self, int grace_ms);

//  Show or hide the window NAME (workWindow.hide()): it gets the event, and
//  the registry keeps the state. Returns PROKIT_OK, PROKIT_ENOTFOUND (not
//  joined) or PROKIT_EINVAL.
PROKIT_EXPORT int prokit_main_show_window (prokit_main_t *self, const char *name);
PROKIT_EXPORT int prokit_main_hide_window (prokit_main_t *self, const char *name);

//  Copy what main knows about window NAME into *INFO, of INFO_SIZE bytes
//  (sizeof (*info)) (getWindow). Returns PROKIT_OK, PROKIT_ENOTFOUND or
//  PROKIT_EINVAL.
PROKIT_EXPORT int prokit_main_get_window (prokit_main_t *self, const char *name,
                                          prokit_window_info_t *info, size_t info_size);

//  Copy up to CAPACITY windows into INFOS, whose elements are INFO_SIZE
//  bytes (sizeof (infos[0])) (getAllWindows): every window that joined,
//  wherever it runs, and every window process main started. Stores how
//  many there are in *COUNT (which may exceed CAPACITY; ask with a
//  CAPACITY of 0 and INFOS NULL to learn it). Returns PROKIT_OK or
//  PROKIT_EINVAL. The same shape as prokit_window_list_windows().
PROKIT_EXPORT int prokit_main_get_all_windows (prokit_main_t *self, prokit_window_info_t *infos,
                                               size_t capacity, size_t info_size, size_t *count);

//  Return true if a window called NAME has joined (hasWindow), as far as
//  main knows (presence events are applied in prokit_main_dispatch()).
PROKIT_EXPORT bool prokit_main_has_window (const prokit_main_t *self, const char *name);

//  Return how many windows have joined.
PROKIT_EXPORT size_t prokit_main_window_count (const prokit_main_t *self);

//  Return a descriptor that polls readable whenever prokit_main_dispatch()
//  has work (messages, requests, expired deadlines). Level-triggered: add
//  it to your poll/epoll/libuv loop and call dispatch when it is readable.
//  Borrowed: do not read or close it.
PROKIT_EXPORT int prokit_main_fd (const prokit_main_t *self);

//  Handle whatever is pending without blocking, running callbacks. Returns
//  the number of events handled (0 if none) or a negative error.
PROKIT_EXPORT int prokit_main_dispatch (prokit_main_t *self);

//  Dispatch events until prokit_main_stop() is called (returns PROKIT_OK)
//  or TIMEOUT_MS passes (returns PROKIT_ETIMEDOUT); -1 waits forever.
PROKIT_EXPORT int prokit_main_run (prokit_main_t *self, int timeout_ms);

//  Make prokit_main_run() return. Safe from any thread and from a signal
//  handler.
PROKIT_EXPORT void prokit_main_stop (prokit_main_t *self);

//  Copy the router's counters into *STATS, of STATS_SIZE bytes (sizeof
//  (*stats)). Returns PROKIT_OK or PROKIT_EINVAL; attached to a broker,
//  also as prokit_window_router_stats().
PROKIT_EXPORT int prokit_main_stats (prokit_main_t *self, prokit_stats_t *stats, size_t stats_size);

#ifdef __cplusplus
}
#endif

#endif
