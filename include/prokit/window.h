/*  prokit/window.h: a window, i.e. a render process (electron-prokit's
    initExposeInMainWorld and the render-side calls).

    A window connects to main's endpoint and claims a unique name ("main",
    "work", ...). It then sends requests to main or to other windows,
    sends one-way messages to other windows, and receives messages from
    main (several listeners may be registered), messages from other
    windows (with the sender's name), and requests (one handler). A hidden
    window is simply a window whose process shows no user interface.

    Lifecycle: prokit_window_new() (connects and joins, or fails) ->
    register listeners -> run the loop (prokit_window_run(), or
    prokit_window_fd() + prokit_window_dispatch()) -> prokit_window_destroy()
    (leaves at once: the name is free again).

    Callbacks run only inside prokit_window_dispatch() / prokit_window_run(),
    never inside a send or prokit_window_request_wait().

    Thread-safety: not thread-safe. Use a prokit_window_t from one thread at
    a time; the exception is prokit_window_stop(), which any thread or a
    signal handler may call.
*/
#ifndef PROKIT_WINDOW_H_INCLUDED
#define PROKIT_WINDOW_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "prokit/export.h"
#include "prokit/info.h"
#include "prokit/message.h"
#include "prokit/payload.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct prokit_window prokit_window_t;

//  Options for prokit_window_new(). Initialise with
//  prokit_window_opts_init(), which records in SIZE the size your program
//  was compiled with; later versions add fields at the end only.
typedef struct prokit_window_opts {
    size_t size; //  sizeof (prokit_window_opts_t) as you compiled it: set by _init
    //  As in prokit_main_opts_t: names the default endpoint.
    const char *app_name;
    //  Main's endpoint. NULL: $PROKIT_ENDPOINT, else the default.
    const char *endpoint;
    //  How long prokit_window_new() waits for main to admit it, in ms.
    //  0: 5000.
    int join_timeout_ms;
    //  Default deadline of requests, in ms. 0: 30000.
    int request_timeout_ms;
    //  Follow the other windows joining and leaving (see
    //  prokit_window_on_presence()).
    bool presence;
    //  CURVE security, for a broker that requires it (docs/SECURITY.md):
    //  the path of this window's certificate, holding its secret key (the
    //  PATH_secret file prokit_curve_keygen() writes, or PATH itself), and
    //  the broker's public key, as 40 characters of Z85 or the path of the
    //  broker's public certificate. Both or neither. NULL: the environment
    //  variables PROKIT_CURVE_CERT and PROKIT_CURVE_SERVER_KEY.
    const char *curve_cert;
    const char *curve_server_key;
    //  Serve the pool SERVICE (a window name, such as "work") beside this
    //  window's own name: a request or message to SERVICE goes to one of
    //  its windows, the one with the fewest requests in flight, then each
    //  in turn (GUIDE, "Worker pools"). NULL: $PROKIT_WINDOW_SERVICE if
    //  set (main's createWindow can set it in the spec's env), else none.
    //  A window called SERVICE cannot join while the pool has members, nor
    //  the other way round (PROKIT_EEXIST).
    const char *service;
} prokit_window_opts_t;

//  Fill OPTS with the defaults (all fields zero / NULL) and its size.
static inline void
prokit_window_opts_init (prokit_window_opts_t *opts)
{
    if (opts) {
        memset (opts, 0, sizeof (*opts));
        opts->size = sizeof (*opts);
    }
}

//  The endpoint a window with these settings would connect to: GIVEN, else
//  $PROKIT_ENDPOINT, else the default ipc endpoint of APP_NAME (NULL:
//  $PROKIT_APP, else "prokit"), written into OUT (SIZE bytes). Returns
//  PROKIT_OK, or PROKIT_EINVAL (an invalid app name, or OUT too small).
//  For tools that probe an endpoint without joining (prokit_ping()).
PROKIT_EXPORT int prokit_endpoint_resolve (const char *given, const char *app_name, char *out,
                                           size_t size);

//  Connect to main and join as NAME (NULL: $PROKIT_WINDOW_NAME). OPTS may
//  be NULL. Returns the window once main has admitted it, so messages sent
//  to it from then on are delivered. Returns NULL on failure with the
//  reason in *error (if ERROR is not NULL): PROKIT_EINVAL (bad or missing
//  name, or an unreadable certificate), PROKIT_EEXIST (a live window
//  already has that name), PROKIT_EACCES (the broker refused this window's
//  key, its lack of one, or this name for its key), PROKIT_ETIMEDOUT (no
//  main answered within join_timeout_ms), PROKIT_ETRANSPORT, PROKIT_ENOMEM.
PROKIT_EXPORT prokit_window_t *prokit_window_new (const char *name,
                                                  const prokit_window_opts_t *opts, int *error);

//  Leave, end requests still in flight with PROKIT_ECLOSED (their
//  callbacks run now), and free everything; nulls *self_p. Returns
//  promptly. Safe on NULL. Do not call from a callback.
PROKIT_EXPORT void prokit_window_destroy (prokit_window_t **self_p);

//  Return the window's name (borrowed, valid while SELF lives).
PROKIT_EXPORT const char *prokit_window_name (const prokit_window_t *self);

//  Add a listener for messages from main, direct or broadcast
//  (onMsgFromMain). Listeners run in the order they were added. Returns
//  PROKIT_OK, PROKIT_EINVAL, PROKIT_ENOMEM.
PROKIT_EXPORT int prokit_window_on_main_message (prokit_window_t *self, prokit_message_fn *fn,
                                                 void *arg);

//  Remove the listener added with the same FN and ARG (offMsgFromMain); if
//  it was added several times, one registration goes. Returns PROKIT_OK or
//  PROKIT_ENOTFOUND. Safe to call from inside a listener.
PROKIT_EXPORT int prokit_window_off_main_message (prokit_window_t *self, prokit_message_fn *fn,
                                                  void *arg);

//  Add a listener for messages from other windows (onRenderMsgToRender);
//  prokit_message_sender() tells who sent it. Returns as above.
PROKIT_EXPORT int prokit_window_on_window_message (prokit_window_t *self, prokit_message_fn *fn,
                                                   void *arg);

//  Remove a window-message listener. Returns PROKIT_OK or PROKIT_ENOTFOUND.
PROKIT_EXPORT int prokit_window_off_window_message (prokit_window_t *self, prokit_message_fn *fn,
                                                    void *arg);

//  Set the handler for requests from other windows. NULL removes
//  it: requests then fail with PROKIT_ENOHANDLER. Returns PROKIT_OK or
//  PROKIT_EINVAL.
PROKIT_EXPORT int prokit_window_on_request (prokit_window_t *self, prokit_request_fn *fn,
                                            void *arg);

//  Set the handler for requests on CHANNEL (see "Channels" in
//  prokit/message.h); NULL or "" is the default channel, as
//  prokit_window_on_request(). FN NULL removes it. Returns PROKIT_OK,
//  PROKIT_EINVAL (a bad channel name) or PROKIT_ENOMEM.
PROKIT_EXPORT int prokit_window_handle (prokit_window_t *self, const char *channel,
                                        prokit_request_fn *fn, void *arg);

//  Add a listener for messages on the named CHANNEL, from main (direct or
//  broadcast) or from windows (ipcRenderer.on(channel));
//  prokit_message_sender() tells who sent it. Listeners run in the order
//  they were added. The default channel has its own calls above: CHANNEL
//  NULL or "" is PROKIT_EINVAL. Returns PROKIT_OK, PROKIT_EINVAL,
//  PROKIT_ENOMEM. A message on a channel with no listener is dropped (it
//  was delivered: logged at debug level).
PROKIT_EXPORT int prokit_window_on (prokit_window_t *self, const char *channel,
                                    prokit_message_fn *fn, void *arg);

//  Remove the listener added on CHANNEL with the same FN and ARG. Returns
//  PROKIT_OK, PROKIT_ENOTFOUND or PROKIT_EINVAL. Safe inside a listener.
PROKIT_EXPORT int prokit_window_off (prokit_window_t *self, const char *channel,
                                     prokit_message_fn *fn, void *arg);

//  Set the callback for messages that could not be delivered after
//  prokit_window_send() returned PROKIT_OK: an unknown target window
//  (PROKIT_ENOTFOUND), a target that cannot keep up (PROKIT_EAGAIN).
//  NULL: log them at warn level.
PROKIT_EXPORT int prokit_window_on_undelivered (prokit_window_t *self, prokit_undelivered_fn *fn,
                                                void *arg);

//  Set the callback for connection changes (NULL: none). When main (or the
//  router) goes away, the window notices within seconds (the connection
//  closes, or heartbeats stop), then reconnects and rejoins by itself when
//  main is back on the same endpoint; see prokit_connection_event_t.
PROKIT_EXPORT int prokit_window_on_connection (prokit_window_t *self, prokit_connection_fn *fn,
                                               void *arg);

//  Return true while the window is joined and connected to main.
PROKIT_EXPORT bool prokit_window_is_connected (const prokit_window_t *self);

//  Send PAYLOAD to the window called TARGET (renderMsgToRender). Takes
//  ownership of *payload_p and nulls it when it returns PROKIT_OK; on any
//  failure nothing was sent and the payload is still yours. Returns PROKIT_OK
//  when it is on its way to the router, PROKIT_EINVAL (bad name),
//  PROKIT_ETOOBIG, PROKIT_EAGAIN (queue full, nothing sent) or
//  PROKIT_ECLOSED (the connection to main is gone). Whether TARGET exists
//  is known only to the router: if not, the undelivered callback is called
//  with PROKIT_ENOTFOUND and TARGET. Use a request for a confirmed send.
PROKIT_EXPORT int prokit_window_send (prokit_window_t *self, const char *target,
                                      prokit_payload_t **payload_p);

//  prokit_window_send() on CHANNEL (NULL or "": the default one). Also
//  PROKIT_EINVAL for a bad channel name, PROKIT_EVERSION when the router
//  predates named channels; a target that does not read them (an older
//  library) is reported undelivered with PROKIT_ENOHANDLER.
PROKIT_EXPORT int prokit_window_send_on (prokit_window_t *self, const char *target,
                                         const char *channel, prokit_payload_t **payload_p);

//  Send a request to TARGET: PROKIT_MAIN or NULL for main
//  (renderMsgToMain), or a window name. Takes *payload_p as above. FN is
//  called exactly once, from dispatch, with the outcome: the reply,
//  PROKIT_ENOTFOUND, PROKIT_ENOHANDLER, PROKIT_EHANDLER (with the
//  handler's code and text), PROKIT_ETIMEDOUT after TIMEOUT_MS (0 or less:
//  the window's default), PROKIT_ECLOSED if the connection or the window
//  closes first. Returns PROKIT_OK if the request is on its way (FN will be
//  called), else an error (FN will not be called). Made from a callback, or
//  with more than 32 in flight, a small request leaves with others at the
//  end of the dispatch round, or at the next dispatch or within 1 ms
//  (docs/GUIDE.md, "What goes out together").
PROKIT_EXPORT int prokit_window_request (prokit_window_t *self, const char *target,
                                         prokit_payload_t **payload_p, int timeout_ms,
                                         prokit_reply_fn *fn, void *arg);

//  prokit_window_request() on CHANNEL (NULL or "": the default one): the
//  target's handler for CHANNEL answers it (prokit_main_handle(),
//  prokit_window_handle()); none: PROKIT_ENOHANDLER naming the channel.
//  Also PROKIT_EINVAL for a bad channel name and PROKIT_EVERSION when the
//  router predates named channels (FN not called).
PROKIT_EXPORT int prokit_window_request_on (prokit_window_t *self, const char *target,
                                            const char *channel, prokit_payload_t **payload_p,
                                            int timeout_ms, prokit_reply_fn *fn, void *arg);

//  Send a request and block until its outcome, at most TIMEOUT_MS (0 or
//  less: the default). Returns the outcome's status. *payload_p is taken
//  (and nulled) once the request is sent, whatever its outcome; a request
//  that could not be sent leaves it yours. If REPLY_P is not
//  NULL, *reply_p receives the outcome (also on error: it has the text);
//  free it with prokit_reply_destroy(). Messages arriving meanwhile are
//  kept, in order, for the next dispatch.
PROKIT_EXPORT int prokit_window_request_wait (prokit_window_t *self, const char *target,
                                              prokit_payload_t **payload_p, int timeout_ms,
                                              prokit_reply_t **reply_p);

//  A request with options (OPTS NULL: the defaults): its channel, its
//  timeout, and a callback for the handler's progress updates. FN as
//  prokit_window_request(); *ID_P (if ID_P is not NULL) gets the request's
//  id, to cancel it with prokit_window_cancel(). Returns as
//  prokit_window_request_on(), and PROKIT_EINVAL for options never
//  initialised.
PROKIT_EXPORT int prokit_window_request_with (prokit_window_t *self, const char *target,
                                              prokit_payload_t **payload_p,
                                              const prokit_request_opts_t *opts,
                                              prokit_reply_fn *fn, void *arg, uint64_t *id_p);

//  Cancel request ID (from prokit_window_request_with()): its callback is
//  called now, before this returns, with PROKIT_ECANCELED; the handler is
//  told (prokit_request_is_cancelled()) and whatever it answers is dropped.
//  Returns PROKIT_OK, PROKIT_ENOTFOUND (no such request in flight: it has
//  had its outcome already) or PROKIT_EINVAL.
PROKIT_EXPORT int prokit_window_cancel (prokit_window_t *self, uint64_t id);

//  prokit_window_request_wait() on CHANNEL (NULL or "": the default one).
PROKIT_EXPORT int prokit_window_request_wait_on (prokit_window_t *self, const char *target,
                                                 const char *channel, prokit_payload_t **payload_p,
                                                 int timeout_ms, prokit_reply_t **reply_p);

//  Set the callback for other windows joining and leaving (NULL: none).
//  Only called if the window was created with opts.presence set; right
//  after joining it hears of every window already there.
PROKIT_EXPORT int prokit_window_on_presence (prokit_window_t *self, prokit_presence_fn *fn,
                                             void *arg);

//  Called when main closes the window (destroyWindow). Clean up here; the
//  window has already left (its name is free), prokit_window_run() returns
//  PROKIT_ECLOSED, and the process is expected to end: main sends SIGTERM
//  if it has not after a grace period.
typedef void (prokit_close_fn) (void *arg);

//  Set the close callback (NULL: none).
PROKIT_EXPORT int prokit_window_on_close (prokit_window_t *self, prokit_close_fn *fn, void *arg);

//  Return true once main has asked the window to close.
PROKIT_EXPORT bool prokit_window_close_requested (const prokit_window_t *self);

//  Called when main shows (SHOWN true) or hides the window.
typedef void (prokit_visibility_fn) (bool shown, void *arg);

//  Set the visibility callback (NULL: none).
PROKIT_EXPORT int prokit_window_on_visibility (prokit_window_t *self, prokit_visibility_fn *fn,
                                               void *arg);

//  Return true if the window is visible: as main started it
//  ($PROKIT_WINDOW_SHOW, default visible), then as main last showed or hid
//  it.
PROKIT_EXPORT bool prokit_window_is_shown (const prokit_window_t *self);

//  Ask the router which windows have joined: copies up to CAPACITY of them
//  into INFOS, whose elements are INFO_SIZE bytes (sizeof (infos[0])), and
//  stores how many there are in *COUNT (which may exceed CAPACITY), as
//  prokit_main_get_all_windows() does. Blocks at most TIMEOUT_MS (0 or
//  less: the default deadline); events arriving meanwhile are kept for
//  dispatch. Returns PROKIT_OK, PROKIT_EINVAL, PROKIT_ETIMEDOUT,
//  PROKIT_ECLOSED or PROKIT_EPROTO.
PROKIT_EXPORT int prokit_window_list_windows (prokit_window_t *self, prokit_window_info_t *infos,
                                              size_t capacity, size_t info_size, size_t *count,
                                              int timeout_ms);

//  Ask the router for its counters (as prokit_main_stats() in main), into
//  *STATS of STATS_SIZE bytes (sizeof (*stats)). Blocks like
//  prokit_window_list_windows(); returns as it does.
PROKIT_EXPORT int prokit_window_router_stats (prokit_window_t *self, prokit_stats_t *stats,
                                              size_t stats_size, int timeout_ms);

//  Return a descriptor that polls readable whenever prokit_window_dispatch()
//  has work. Level-triggered; borrowed: do not read or close it.
PROKIT_EXPORT int prokit_window_fd (const prokit_window_t *self);

//  Handle whatever is pending without blocking, running callbacks. Returns
//  the number of events handled or a negative error.
PROKIT_EXPORT int prokit_window_dispatch (prokit_window_t *self);

//  Dispatch events until prokit_window_stop() (returns PROKIT_OK), main
//  closes the window (PROKIT_ECLOSED) or TIMEOUT_MS passes
//  (PROKIT_ETIMEDOUT); -1 waits forever.
PROKIT_EXPORT int prokit_window_run (prokit_window_t *self, int timeout_ms);

//  Make prokit_window_run() return. Safe from any thread and from a signal
//  handler.
PROKIT_EXPORT void prokit_window_stop (prokit_window_t *self);

#ifdef __cplusplus
}
#endif

#endif
