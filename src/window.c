/*  window.c: the window handle: a client of the router plus the listener
    lists of the seed's onMsgFromMain / onRenderMsgToRender. Listeners may
    be added or removed from inside a listener; a change takes effect from
    the next message, as with an EventEmitter. */
#include "prokit/window.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "client.h"
#include "log.h"
#include "prokit/error.h"
#include "proto.h"
#include "sized.h"

typedef struct listener {
    prokit_message_fn *fn; //  NULL: removed while the list was being walked
    void *arg;
} listener_t;

typedef struct listeners {
    listener_t *items;
    size_t count;
    size_t capacity;
    int walking;
} listeners_t;

struct prokit_window {
    client_t *client;
    listeners_t from_main;    //  the default channel's, from main
    listeners_t from_windows; //  the default channel's, from windows
    zhashx_t *by_channel;     //  a named channel's, from anyone: name -> listeners_t
    prokit_presence_fn *presence_fn;
    void *presence_arg;
    prokit_close_fn *close_fn;
    void *close_arg;
    prokit_visibility_fn *visibility_fn;
    void *visibility_arg;
    bool shown;
    bool close_requested;
};

static int
s_listeners_add (listeners_t *list, prokit_message_fn *fn, void *arg)
{
    if (!fn)
        return PROKIT_EINVAL;
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? 2 * list->capacity : 4;
        listener_t *items = (listener_t *) realloc (list->items, capacity * sizeof (*items));
        if (!items)
            return PROKIT_ENOMEM;
        list->items = items;
        list->capacity = capacity;
    }
    list->items[list->count].fn = fn;
    list->items[list->count].arg = arg;
    list->count++;
    return PROKIT_OK;
}

static void
s_listeners_compact (listeners_t *list)
{
    size_t kept = 0;
    for (size_t i = 0; i < list->count; i++)
        if (list->items[i].fn)
            list->items[kept++] = list->items[i];
    list->count = kept;
}

static int
s_listeners_remove (listeners_t *list, prokit_message_fn *fn, void *arg)
{
    for (size_t i = 0; i < list->count; i++)
        if (list->items[i].fn == fn && list->items[i].arg == arg) {
            list->items[i].fn = NULL;
            if (!list->walking)
                s_listeners_compact (list);
            return PROKIT_OK;
        }
    return PROKIT_ENOTFOUND;
}

static void
s_listeners_call (listeners_t *list, const prokit_message_t *message)
{
    size_t count = list->count; //  listeners added now start with the next message
    list->walking++;
    for (size_t i = 0; i < count; i++)
        if (list->items[i].fn)
            list->items[i].fn (message, list->items[i].arg);
    if (--list->walking == 0)
        s_listeners_compact (list);
}

static void
s_listeners_destroy (void **item)
{
    listeners_t *list = (listeners_t *) *item;
    if (list)
        free (list->items);
    free (list);
    *item = NULL;
}

//  The listeners of CHANNEL, a named channel; MAKE: made if missing.
//  NULL when there are none (or memory runs out).
static listeners_t *
s_channel_listeners (prokit_window_t *self, const char *channel, bool make)
{
    if (!self->by_channel) {
        if (!make || !(self->by_channel = zhashx_new ()))
            return NULL;
        zhashx_set_destructor (self->by_channel, s_listeners_destroy);
    }
    listeners_t *list = (listeners_t *) zhashx_lookup (self->by_channel, channel);
    if (!list && make && (list = (listeners_t *) calloc (1, sizeof (*list))) != NULL &&
        zhashx_insert (self->by_channel, channel, list) != 0) {
        free (list);
        list = NULL;
    }
    return list;
}

static void
s_on_message (void *owner, const prokit_message_t *message)
{
    prokit_window_t *self = (prokit_window_t *) owner;
    const char *channel = prokit_message_channel (message);
    listeners_t *list;
    if (channel[0])
        list = s_channel_listeners (self, channel, false);
    else {
        bool from_main = strcmp (prokit_message_sender (message), PROTO_MAIN_NAME) == 0;
        list = from_main ? &self->from_main : &self->from_windows;
    }
    if (!list || list->count == 0) {
        log_debug ("%s: no listener for a message from '%s'%s%s%s", client_label (self->client),
                   prokit_message_sender (message), channel[0] ? " on channel '" : "", channel,
                   channel[0] ? "'" : "");
        return;
    }
    s_listeners_call (list, message);
}

static void
s_on_presence (void *owner, const char *window, bool joined, const proto_presence_t *presence)
{
    prokit_window_t *self = (prokit_window_t *) owner;
    if (!self->presence_fn)
        return;
    prokit_presence_t event = { joined ? PROKIT_PRESENCE_JOINED : PROKIT_PRESENCE_LEFT,
                                window,
                                presence->reason,
                                (int) presence->pid,
                                0,
                                false,
                                joined ? presence->service : "" };
    self->presence_fn (&event, self->presence_arg);
}

//  Main's orders: close, show, hide.
static void
s_on_control (void *owner, int command)
{
    prokit_window_t *self = (prokit_window_t *) owner;
    if (command == PROTO_CLOSE) {
        self->close_requested = true;
        if (self->close_fn)
            self->close_fn (self->close_arg);
        client_stop (self->client); //  prokit_window_run() returns PROKIT_ECLOSED
        return;
    }
    self->shown = command == PROTO_SHOW;
    if (self->visibility_fn)
        self->visibility_fn (self->shown, self->visibility_arg);
}

static const client_events_t s_events = { .on_message = s_on_message,
                                          .on_presence = s_on_presence,
                                          .on_control = s_on_control };

int
prokit_endpoint_resolve (const char *given, const char *app_name, char *out, size_t size)
{
    if (!out || size == 0)
        return PROKIT_EINVAL;
    return client_resolve_endpoint (given, app_name, out, size);
}

prokit_window_t *
prokit_window_new (const char *name, const prokit_window_opts_t *opts, int *error)
{
    //  Where main watches this process through a pipe instead of a pidfd
    //  (src/child.h), programs this window starts must not inherit it:
    //  they would hold it open after the window has ended.
    child_watch_close_on_exec ();
    error = error ? error : &(int){ 0 }; //  the caller may not want the code
    //  The application's options, as far as its header had them.
    prokit_window_opts_t own;
    prokit_window_opts_init (&own);
    if (opts &&
        (*error = sized_take (&own, sizeof (own), opts, "prokit_window_opts_t")) != PROKIT_OK)
        return NULL;
    opts = &own;
    if (!name)
        name = getenv ("PROKIT_WINDOW_NAME");
    if (!name || !proto_window_name_valid (name, strlen (name))) {
        *error = PROKIT_EINVAL;
        return NULL;
    }
    const char *service = opts->service ? opts->service : getenv ("PROKIT_WINDOW_SERVICE");
    if (service && !*service && !opts->service)
        service = NULL; //  an empty variable is no pool
    if (service &&
        (!proto_window_name_valid (service, strlen (service)) || strcmp (service, name) == 0)) {
        *error = PROKIT_EINVAL;
        return NULL;
    }
    char endpoint[512];
    *error = client_resolve_endpoint (opts->endpoint, opts->app_name, endpoint, sizeof (endpoint));
    if (*error != PROKIT_OK)
        return NULL;
    prokit_window_t *self = (prokit_window_t *) calloc (1, sizeof (*self));
    if (!self) {
        *error = PROKIT_ENOMEM;
        return NULL;
    }
    //  Main says how a window it started should begin (createWindow's show).
    const char *show = getenv ("PROKIT_WINDOW_SHOW");
    self->shown = !(show && strcmp (show, "0") == 0);
    client_config_t config = { .name = name,
                               .endpoint = endpoint,
                               .join_timeout_ms = opts->join_timeout_ms,
                               .request_timeout_ms = opts->request_timeout_ms,
                               .presence = opts->presence,
                               .service = service,
                               .shown = self->shown,
                               .curve_cert =
                                   client_resolve_setting (opts->curve_cert, "PROKIT_CURVE_CERT"),
                               .curve_server_key = client_resolve_setting (
                                   opts->curve_server_key, "PROKIT_CURVE_SERVER_KEY"),
                               .events = &s_events,
                               .owner = self };
    self->client = client_new (&config, error);
    if (self->client)
        return self;
    free (self);
    return NULL;
}

void
prokit_window_destroy (prokit_window_t **self_p)
{
    if (self_p && *self_p) {
        prokit_window_t *self = *self_p;
        client_destroy (&self->client);
        free (self->from_main.items);
        free (self->from_windows.items);
        zhashx_destroy (&self->by_channel);
        free (self);
        *self_p = NULL;
    }
}

const char *
prokit_window_name (const prokit_window_t *self)
{
    return self ? client_name (self->client) : NULL;
}

//  The listeners of the default channel: from main, or from windows.
#define S_LISTENERS_CALL(name, call, list)                                                         \
    int name (prokit_window_t *self, prokit_message_fn *fn, void *arg)                             \
    {                                                                                              \
        return self ? call (&self->list, fn, arg) : PROKIT_EINVAL;                                 \
    }

S_LISTENERS_CALL (prokit_window_on_main_message, s_listeners_add, from_main)
S_LISTENERS_CALL (prokit_window_off_main_message, s_listeners_remove, from_main)
S_LISTENERS_CALL (prokit_window_on_window_message, s_listeners_add, from_windows)
S_LISTENERS_CALL (prokit_window_off_window_message, s_listeners_remove, from_windows)

static bool
s_named (const char *channel)
{
    return channel && proto_channel_name_valid (channel, strlen (channel));
}

int
prokit_window_on (prokit_window_t *self, const char *channel, prokit_message_fn *fn, void *arg)
{
    if (!self || !s_named (channel) || !fn)
        return PROKIT_EINVAL;
    listeners_t *list = s_channel_listeners (self, channel, true);
    return list ? s_listeners_add (list, fn, arg) : PROKIT_ENOMEM;
}

int
prokit_window_off (prokit_window_t *self, const char *channel, prokit_message_fn *fn, void *arg)
{
    if (!self || !s_named (channel))
        return PROKIT_EINVAL;
    listeners_t *list = s_channel_listeners (self, channel, false);
    return list ? s_listeners_remove (list, fn, arg) : PROKIT_ENOTFOUND;
}

int
prokit_window_handle (prokit_window_t *self, const char *channel, prokit_request_fn *fn, void *arg)
{
    return self ? client_set_handler (self->client, channel, fn, arg) : PROKIT_EINVAL;
}

int
prokit_window_on_request (prokit_window_t *self, prokit_request_fn *fn, void *arg)
{
    return prokit_window_handle (self, NULL, fn, arg);
}

int
prokit_window_on_undelivered (prokit_window_t *self, prokit_undelivered_fn *fn, void *arg)
{
    return self ? client_on_undelivered (self->client, fn, arg) : PROKIT_EINVAL;
}

int
prokit_window_on_connection (prokit_window_t *self, prokit_connection_fn *fn, void *arg)
{
    return self ? client_on_connection (self->client, fn, arg) : PROKIT_EINVAL;
}

bool
prokit_window_is_connected (const prokit_window_t *self)
{
    return self && client_is_connected (self->client);
}

int
prokit_window_send_on (prokit_window_t *self, const char *target, const char *channel,
                       prokit_payload_t **payload_p)
{
    if (!self || !target)
        return PROKIT_EINVAL;
    return client_send (self->client, target, channel, payload_p);
}

int
prokit_window_send (prokit_window_t *self, const char *target, prokit_payload_t **payload_p)
{
    return prokit_window_send_on (self, target, NULL, payload_p);
}

int
prokit_window_request (prokit_window_t *self, const char *target, prokit_payload_t **payload_p,
                       int timeout_ms, prokit_reply_fn *fn, void *arg)
{
    return prokit_window_request_on (self, target, NULL, payload_p, timeout_ms, fn, arg);
}

int
prokit_window_request_on (prokit_window_t *self, const char *target, const char *channel,
                          prokit_payload_t **payload_p, int timeout_ms, prokit_reply_fn *fn,
                          void *arg)
{
    if (!self)
        return PROKIT_EINVAL;
    return client_request (self->client, target, channel, payload_p, timeout_ms, fn, arg, NULL,
                           NULL, NULL);
}

int
prokit_window_request_with (prokit_window_t *self, const char *target, prokit_payload_t **payload_p,
                            const prokit_request_opts_t *opts, prokit_reply_fn *fn, void *arg,
                            uint64_t *id_p)
{
    if (!self)
        return PROKIT_EINVAL;
    //  The application's options, as far as its header had them.
    prokit_request_opts_t own;
    prokit_request_opts_init (&own);
    if (opts && sized_take (&own, sizeof (own), opts, "prokit_request_opts_t") != PROKIT_OK)
        return PROKIT_EINVAL;
    return client_request (self->client, target, own.channel, payload_p, own.timeout_ms, fn, arg,
                           own.progress, own.progress_arg, id_p);
}

int
prokit_window_cancel (prokit_window_t *self, uint64_t id)
{
    return self ? client_cancel (self->client, id) : PROKIT_EINVAL;
}

int
prokit_window_request_wait (prokit_window_t *self, const char *target, prokit_payload_t **payload_p,
                            int timeout_ms, prokit_reply_t **reply_p)
{
    return prokit_window_request_wait_on (self, target, NULL, payload_p, timeout_ms, reply_p);
}

int
prokit_window_request_wait_on (prokit_window_t *self, const char *target, const char *channel,
                               prokit_payload_t **payload_p, int timeout_ms,
                               prokit_reply_t **reply_p)
{
    if (!self) {
        if (reply_p)
            *reply_p = NULL;
        return PROKIT_EINVAL;
    }
    return client_request_wait (self->client, target, channel, payload_p, timeout_ms, reply_p);
}

//  The loop: the window's own (run, stop), or the application's (dispatch
//  when the descriptor is readable).
int
prokit_window_run (prokit_window_t *self, int timeout_ms)
{
    if (!self)
        return PROKIT_EINVAL;
    if (self->close_requested)
        return PROKIT_ECLOSED;
    int rc = client_run (self->client, timeout_ms);
    return rc == PROKIT_OK && self->close_requested ? PROKIT_ECLOSED : rc;
}

void
prokit_window_stop (prokit_window_t *self)
{
    if (self)
        client_stop (self->client);
}

int
prokit_window_dispatch (prokit_window_t *self)
{
    return self ? client_dispatch (self->client) : PROKIT_EINVAL;
}

int
prokit_window_fd (const prokit_window_t *self)
{
    return self ? client_fd (self->client) : -1;
}

int
prokit_window_list_windows (prokit_window_t *self, prokit_window_info_t *infos, size_t capacity,
                            size_t info_size, size_t *count, int timeout_ms)
{
    if (!self || !count || (capacity > 0 && (!infos || info_size == 0)))
        return PROKIT_EINVAL;
    *count = 0;
    zmq_msg_t body;
    int rc = client_query (self->client, "windows", timeout_ms, &body);
    if (rc != PROKIT_OK)
        return rc;
    proto_window_info_t *decoded = NULL;
    if (capacity > 0) {
        decoded = (proto_window_info_t *) calloc (capacity, sizeof (*decoded));
        if (!decoded) {
            zmq_msg_close (&body);
            return PROKIT_ENOMEM;
        }
    }
    rc = proto_window_infos_decode (zmq_msg_data (&body), zmq_msg_size (&body), decoded, capacity,
                                    count);
    zmq_msg_close (&body);
    for (size_t i = 0; rc == PROKIT_OK && i < *count && i < capacity; i++) {
        prokit_window_info_t own;
        memset (&own, 0, sizeof (own));
        snprintf (own.name, sizeof (own.name), "%s", decoded[i].name);
        own.joined = true;
        own.joined_at_ms = (long long) decoded[i].joined_at;
        own.last_seen_ms = (long long) decoded[i].last_seen;
        own.pid = (int) decoded[i].pid;
        own.shown = decoded[i].shown;
        snprintf (own.address, sizeof (own.address), "%s", decoded[i].address);
        snprintf (own.service, sizeof (own.service), "%s", decoded[i].service);
        sized_give ((char *) infos + i * info_size, info_size, &own, sizeof (own));
    }
    free (decoded);
    return rc;
}

int
prokit_window_router_stats (prokit_window_t *self, prokit_stats_t *stats, size_t stats_size,
                            int timeout_ms)
{
    return self ? client_router_stats (self->client, timeout_ms, stats, stats_size) : PROKIT_EINVAL;
}

//  The application's callbacks for presence, main's close and its
//  show/hide: FN and its ARG, kept in SELF's FN_MEMBER and ARG_MEMBER.
#define S_CALLBACK_SETTER(name, fn_t, fn_member, arg_member)                                       \
    int name (prokit_window_t *self, fn_t *fn, void *arg)                                          \
    {                                                                                              \
        if (!self)                                                                                 \
            return PROKIT_EINVAL;                                                                  \
        self->fn_member = fn;                                                                      \
        self->arg_member = arg;                                                                    \
        return PROKIT_OK;                                                                          \
    }

S_CALLBACK_SETTER (prokit_window_on_presence, prokit_presence_fn, presence_fn, presence_arg)
S_CALLBACK_SETTER (prokit_window_on_close, prokit_close_fn, close_fn, close_arg)
S_CALLBACK_SETTER (prokit_window_on_visibility, prokit_visibility_fn, visibility_fn, visibility_arg)

bool
prokit_window_is_shown (const prokit_window_t *self)
{
    return self && self->shown;
}

bool
prokit_window_close_requested (const prokit_window_t *self)
{
    return self && self->close_requested;
}
