/*  main.c: the main process handle. It embeds the router (router.c) and
    is its client "@main" in memory: its messages go straight into the
    router under its lock, and what the router has for main waits in an
    inbox, announced on main's descriptor (router.h, "the embedded main").
    Attached to a broker instead, the same client talks to the broker's
    router over a DEALER, as a window does.

    It also keeps the registry of windows: every window that joined (fed by
    the router's JOINED/LEFT events, so a send to an unknown window fails
    at once), and every window process it started (createWindow), which
    the supervisor (supervisor.c) runs, closes and restarts.
*/
#include "prokit/main.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "child.h"
#include "client.h"
#include "clock.h"
#include "log.h"
#include "prokit/error.h"
#include "proto.h"
#include "router.h"
#include "sized.h"
#include "supervisor.h"

#define DEFAULT_GRACE_MS 2000
//  How long an attached main waits for the broker's counters.
#define MAIN_QUERY_TIMEOUT_MS 5000

//  One window main knows about: joined, or started by main, or both.
typedef struct entry {
    prokit_window_info_t info;
} entry_t;

struct prokit_main {
    router_t *router; //  the embedded router; NULL when attached to a broker
    char *endpoint;   //  where windows connect: the router's or the broker's
    client_t *client;
    supervisor_t *supervisor; //  the window processes main started
    zhashx_t *windows;        //  name -> entry_t: the registry
    size_t joined;            //  entries that joined
    prokit_presence_fn *presence_fn;
    void *presence_arg;
    //  The window prokit_main_create_window() waits for, and its outcome.
    const char *awaiting;
    bool awaited_exited;
    int awaited_status;
};

//  --- entries -----------------------------------------------------------------

static void
s_entry_destructor (void **item)
{
    free (*item);
    *item = NULL;
}

//  Take window NAME out of the registry.
static void
s_forget (prokit_main_t *self, const char *name)
{
    zhashx_delete (self->windows, name);
}

static entry_t *
s_entry_new (prokit_main_t *self, const char *name)
{
    entry_t *entry = (entry_t *) calloc (1, sizeof (*entry));
    if (entry) {
        snprintf (entry->info.name, sizeof (entry->info.name), "%s", name);
        zhashx_insert (self->windows, name, entry);
    }
    return entry;
}

static void
s_emit (prokit_main_t *self, prokit_presence_kind_t kind, const char *window, const char *reason,
        int pid, int wait_status, bool will_restart, const char *service)
{
    if (!self->presence_fn)
        return;
    prokit_presence_t event = { kind,        window,       reason ? reason : "",  pid,
                                wait_status, will_restart, service ? service : "" };
    self->presence_fn (&event, self->presence_arg);
}

//  --- the processes main started ---------------------------------------------

//  Is NAME a process main started, running or to start again?
static bool
s_supervised (const prokit_main_t *self, const char *name)
{
    return self->supervisor && supervisor_has (self->supervisor, name);
}

//  A window process ended. One main had closed is out of the registry
//  already; one that will not start again leaves it, unless it is still
//  joined (its LEFT is on the way, and takes it out).
static void
s_on_ended (void *owner, const char *name, int pid, int status, const char *reason, bool closed,
            bool will_restart)
{
    prokit_main_t *self = (prokit_main_t *) owner;
    entry_t *entry = closed ? NULL : (entry_t *) zhashx_lookup (self->windows, name);
    if (entry && self->awaiting && strcmp (self->awaiting, name) == 0 && !entry->info.joined) {
        self->awaited_exited = true;
        self->awaited_status = status;
    }
    if (entry && !will_restart && !entry->info.joined)
        s_forget (self, name);
    s_emit (self, PROKIT_PRESENCE_EXITED, name, reason, pid, status, will_restart, NULL);
}

//  Started again as PID, or (PID 0) not: then it is forgotten unless
//  joined.
static void
s_on_restarted (void *owner, const char *name, int pid)
{
    prokit_main_t *self = (prokit_main_t *) owner;
    entry_t *entry = (entry_t *) zhashx_lookup (self->windows, name);
    if (!entry)
        return;
    if (pid > 0) {
        entry->info.pid = pid;
        entry->info.restarts++;
    }
    else if (!entry->info.joined)
        s_forget (self, name);
}

static const supervisor_events_t s_supervisor_events = { .on_ended = s_on_ended,
                                                         .on_restarted = s_on_restarted };

//  After every dispatch: children that ended, deadlines that passed.
static void
s_on_dispatch (void *owner)
{
    prokit_main_t *self = (prokit_main_t *) owner;
    if (self->supervisor)
        supervisor_process (self->supervisor);
}

//  --- events from the router ---------------------------------------------------

static void
s_on_presence (void *owner, const char *window, bool joined, const proto_presence_t *presence)
{
    prokit_main_t *self = (prokit_main_t *) owner;
    entry_t *entry = (entry_t *) zhashx_lookup (self->windows, window);
    if (joined) {
        if (!entry && !(entry = s_entry_new (self, window))) {
            log_error ("main: out of memory: window '%s' not registered", window);
            return;
        }
        if (!entry->info.joined)
            self->joined++;
        entry->info.joined = true;
        //  The router's clock: the same one last_seen_ms comes from.
        entry->info.joined_at_ms =
            presence->joined_at ? (long long) presence->joined_at : clock_wall_ms ();
        entry->info.last_seen_ms = entry->info.joined_at_ms;
        if (!s_supervised (self, window))
            entry->info.pid = (int) presence->pid;
        if (!entry->info.spawned)
            entry->info.shown = presence->shown;
        snprintf (entry->info.address, sizeof (entry->info.address), "%s", presence->address);
        memcpy (entry->info.service, presence->service, sizeof (entry->info.service));
        s_emit (self, PROKIT_PRESENCE_JOINED, window, "", entry->info.pid, 0, false,
                presence->service);
        return;
    }
    int pid = entry ? entry->info.pid : 0;
    if (entry && entry->info.joined) {
        self->joined--;
        entry->info.joined = false;
        entry->info.address[0] = 0;
        entry->info.service[0] = 0;
        //  Keep tracking a process main started until it is reaped.
        if (!s_supervised (self, window))
            s_forget (self, window);
    }
    s_emit (self, PROKIT_PRESENCE_LEFT, window, presence->reason, pid, 0, false, NULL);
}

//  Only an attached main loses its router. The broker it comes back to
//  knows nothing of the windows, which rejoin by themselves: forget who
//  was there; the router tells again who joins.
static void
s_on_connection (void *owner, int event, int code, const char *text)
{
    prokit_main_t *self = (prokit_main_t *) owner;
    if (event == PROKIT_CONNECTION_LOST) {
        zlistx_t *joined = zlistx_new ();
        for (entry_t *entry = (entry_t *) zhashx_first (self->windows); entry;
             entry = (entry_t *) zhashx_next (self->windows))
            if (entry->info.joined)
                zlistx_add_end (joined, entry->info.name);
        proto_presence_t left;
        memset (&left, 0, sizeof (left));
        snprintf (left.reason, sizeof (left.reason), "connection to the broker lost");
        for (const char *name = (const char *) zlistx_first (joined); name;
             name = (const char *) zlistx_next (joined)) {
            char copy[PROKIT_NAME_MAX + 1];
            snprintf (copy, sizeof (copy), "%s", name); //  the entry may go
            s_on_presence (self, copy, false, &left);
        }
        zlistx_destroy (&joined);
    }
    (void) code;
    (void) text;
}

static const client_events_t s_events = { .on_presence = s_on_presence,
                                          .on_connection = s_on_connection,
                                          .on_dispatch = s_on_dispatch };

//  --- life cycle ----------------------------------------------------------------

//  Where main's router is to bind, or (*ATTACHED) the broker it attaches
//  to, from OPTS and the environment, into ENDPOINT of SIZE bytes.
static int
s_resolve (const prokit_main_opts_t *opts, char *endpoint, size_t size, bool *attached)
{
    if (opts->max_payload > PROKIT_MAX_PAYLOAD_LIMIT || opts->heartbeat_ivl_ms < 0 ||
        opts->heartbeat_timeout_ms < 0 || opts->io_threads < 0)
        return PROKIT_EINVAL;
    const char *broker = client_resolve_setting (opts->broker, "PROKIT_BROKER");
    *attached = broker != NULL;
    if (!broker)
        return client_resolve_endpoint (opts->endpoint, opts->app_name, endpoint, size);
    if (opts->endpoint) {
        log_error ("main: give an endpoint to bind or a broker to attach to, not both");
        return PROKIT_EINVAL;
    }
    if (strlen (broker) >= size)
        return PROKIT_EINVAL;
    strcpy (endpoint, broker);
    return PROKIT_OK;
}

//  The routing: the embedded router bound to ENDPOINT, or the broker at
//  ENDPOINT (ATTACHED). Sets self->endpoint and fills CLIENT, main's own
//  client's settings.
static int
s_open_routing (prokit_main_t *self, const prokit_main_opts_t *opts, const char *endpoint,
                bool attached, client_config_t *client)
{
    int rc = PROKIT_OK;
    if (attached) {
        //  Attached: the broker's router does the routing; main is one of
        //  its clients, over the network, with the same liveness rules as
        //  a window: the broker's.
        client->endpoint = endpoint;
        client->curve_cert = client_resolve_setting (opts->curve_cert, "PROKIT_CURVE_CERT");
        client->curve_server_key =
            client_resolve_setting (opts->curve_server_key, "PROKIT_CURVE_SERVER_KEY");
        self->endpoint = strdup (endpoint);
    }
    else {
        router_config_t config = { .endpoints = { endpoint },
                                   .endpoint_count = 1,
                                   .embedded_main = true,
                                   .max_payload = opts->max_payload,
                                   .heartbeat_ivl_ms = opts->heartbeat_ivl_ms,
                                   .heartbeat_timeout_ms = opts->heartbeat_timeout_ms,
                                   .max_windows = opts->max_windows,
                                   .max_requests_per_window = opts->max_requests_per_window,
                                   .max_messages_per_second = opts->max_messages_per_second,
                                   .max_pending_per_address = opts->max_pending_per_address,
                                   .io_threads = opts->io_threads };
        if (!(self->router = router_new (&config, &rc)))
            return rc;
        self->endpoint = strdup (router_endpoint (self->router));
        //  Main reaches its own router in memory, not through a socket.
        client->router = self->router;
    }
    return self->endpoint ? PROKIT_OK : PROKIT_ENOMEM;
}

prokit_main_t *
prokit_main_new (const prokit_main_opts_t *opts, int *error)
{
    error = error ? error : &(int){ 0 }; //  the caller may not want the code
    //  The application's options, as far as its header had them.
    prokit_main_opts_t own;
    prokit_main_opts_init (&own);
    if (opts && (*error = sized_take (&own, sizeof (own), opts, "prokit_main_opts_t")) != PROKIT_OK)
        return NULL;
    char endpoint[512];
    bool attached = false;
    if ((*error = s_resolve (&own, endpoint, sizeof (endpoint), &attached)) != PROKIT_OK)
        return NULL;
    //  The application owns its signals; CZMQ must not install handlers.
    zsys_handler_set (NULL);

    prokit_main_t *self = (prokit_main_t *) calloc (1, sizeof (*self));
    if (!self || !(self->windows = zhashx_new ())) {
        free (self);
        *error = PROKIT_ENOMEM;
        return NULL;
    }
    zhashx_set_destructor (self->windows, s_entry_destructor);
    client_config_t client = { .name = PROTO_MAIN_NAME,
                               .join_timeout_ms = 5000,
                               .events = &s_events,
                               .owner = self,
                               .max_deferred = own.max_requests_at_main
                                                   ? own.max_requests_at_main
                                                   : CLIENT_DEFAULT_MAX_DEFERRED };
    *error = s_open_routing (self, &own, endpoint, attached, &client);
    if (*error == PROKIT_OK &&
        !(self->supervisor = supervisor_new (self->endpoint, &s_supervisor_events, self)))
        *error = PROKIT_ENOMEM;
    if (*error == PROKIT_OK) {
        self->client = client_new (&client, error);
        if (self->client && client_watch_fd (self->client, supervisor_fd (self->supervisor)) != 0)
            *error = PROKIT_ETRANSPORT;
    }
    if (*error != PROKIT_OK)
        prokit_main_destroy (&self);
    return self;
}

void
prokit_main_destroy (prokit_main_t **self_p)
{
    if (self_p && *self_p) {
        prokit_main_t *self = *self_p;
        supervisor_destroy (&self->supervisor); //  ends and reaps every child
        client_destroy (&self->client);
        router_destroy (&self->router);
        free (self->endpoint);
        zhashx_destroy (&self->windows);
        free (self);
        *self_p = NULL;
    }
}

//  --- state and callbacks -------------------------------------------------------

const char *
prokit_main_endpoint (const prokit_main_t *self)
{
    return self ? self->endpoint : NULL;
}

bool
prokit_main_is_attached (const prokit_main_t *self)
{
    return self && !self->router;
}

bool
prokit_main_is_connected (const prokit_main_t *self)
{
    return self && client_is_connected (self->client);
}

int
prokit_main_on_connection (prokit_main_t *self, prokit_connection_fn *fn, void *arg)
{
    return self ? client_on_connection (self->client, fn, arg) : PROKIT_EINVAL;
}

int
prokit_main_on_presence (prokit_main_t *self, prokit_presence_fn *fn, void *arg)
{
    if (!self)
        return PROKIT_EINVAL;
    self->presence_fn = fn;
    self->presence_arg = arg;
    return PROKIT_OK;
}

int
prokit_main_on_request (prokit_main_t *self, prokit_request_fn *fn, void *arg)
{
    return prokit_main_handle (self, NULL, fn, arg);
}

int
prokit_main_handle (prokit_main_t *self, const char *channel, prokit_request_fn *fn, void *arg)
{
    return self ? client_set_handler (self->client, channel, fn, arg) : PROKIT_EINVAL;
}

//  --- messages --------------------------------------------------------------------

static bool
s_is_joined (const prokit_main_t *self, const char *name)
{
    entry_t *entry = (entry_t *) zhashx_lookup (self->windows, name);
    if (entry)
        return entry->info.joined;
    //  Or a pool: a joined window serves it.
    for (entry = (entry_t *) zhashx_first (self->windows); entry;
         entry = (entry_t *) zhashx_next (self->windows))
        if (entry->info.joined && strcmp (entry->info.service, name) == 0)
            return true;
    return false;
}

int
prokit_main_send (prokit_main_t *self, const char *window, prokit_payload_t **payload_p)
{
    return prokit_main_send_on (self, window, NULL, payload_p);
}

int
prokit_main_send_on (prokit_main_t *self, const char *window, const char *channel,
                     prokit_payload_t **payload_p)
{
    if (!self || !window || !payload_p || !*payload_p)
        return PROKIT_EINVAL;
    //  The embedded router refuses a name nobody holds as it routes
    //  (PROKIT_ENOTFOUND, synchronously), so only an attached main, whose
    //  broker would answer later, looks in its registry first. A joined
    //  name is a valid one; the name is checked only to tell a bad one
    //  (EINVAL) from one nobody holds (ENOTFOUND). client_send() checks it
    //  again on its way out.
    if (!self->router && !s_is_joined (self, window)) {
        return proto_window_name_valid (window, strlen (window)) ? PROKIT_ENOTFOUND : PROKIT_EINVAL;
    }
    return client_send (self->client, window, channel, payload_p);
}

int
prokit_main_broadcast (prokit_main_t *self, prokit_payload_t **payload_p)
{
    return prokit_main_broadcast_on (self, NULL, payload_p);
}

int
prokit_main_broadcast_on (prokit_main_t *self, const char *channel, prokit_payload_t **payload_p)
{
    return self ? client_send (self->client, NULL, channel, payload_p) : PROKIT_EINVAL;
}

int
prokit_main_on_undelivered (prokit_main_t *self, prokit_undelivered_fn *fn, void *arg)
{
    return self ? client_on_undelivered (self->client, fn, arg) : PROKIT_EINVAL;
}

//  --- the registry -------------------------------------------------------------------

static int
s_create_window (prokit_main_t *self, const char *name, const prokit_window_spec_t *spec,
                 prokit_spawned_t *result)
{
    if (!self || !name || !spec->path || !proto_window_name_valid (name, strlen (name)) ||
        spec->join_timeout_ms < 0 || spec->restart_max < 0 || spec->restart_backoff_ms < 0) {
        snprintf (result->reason, sizeof (result->reason), "invalid name or spec");
        return PROKIT_EINVAL;
    }
    if (zhashx_lookup (self->windows, name)) {
        snprintf (result->reason, sizeof (result->reason), "window '%s' already exists", name);
        return PROKIT_EEXIST;
    }
    int rc = supervisor_start (self->supervisor, name, spec, &result->pid, result->reason,
                               sizeof (result->reason));
    if (rc != PROKIT_OK) {
        log_error ("main: %s", result->reason);
        return rc;
    }
    entry_t *entry = s_entry_new (self, name);
    if (!entry) {
        supervisor_close (self->supervisor, name, DEFAULT_GRACE_MS);
        return PROKIT_ENOMEM;
    }
    entry->info.spawned = true;
    entry->info.pid = result->pid;
    entry->info.shown = spec->show;
    if (spec->join_timeout_ms == 0)
        return PROKIT_OK;

    //  Wait for it to join, or to end first, dispatching as we go; it is
    //  not started again meanwhile: its end is the answer.
    supervisor_hold (self->supervisor, name, true);
    self->awaiting = name;
    self->awaited_exited = false;
    int64_t deadline = clock_mono_ms () + spec->join_timeout_ms;
    rc = PROKIT_ETIMEDOUT;
    while (true) {
        client_dispatch (self->client);
        if (s_is_joined (self, name)) {
            rc = PROKIT_OK;
            break;
        }
        if (self->awaited_exited) {
            rc = PROKIT_EEXITED;
            result->wait_status = self->awaited_status;
            child_describe (self->awaited_status, result->reason, sizeof (result->reason));
            break;
        }
        int64_t left = deadline - clock_mono_ms ();
        if (left <= 0)
            break;
        struct epoll_event event;
        epoll_wait (client_fd (self->client), &event, 1, (int) left);
    }
    self->awaiting = NULL;
    supervisor_hold (self->supervisor, name, false);
    if (rc == PROKIT_ETIMEDOUT)
        snprintf (result->reason, sizeof (result->reason), "did not join within %d ms",
                  spec->join_timeout_ms);
    return rc;
}

int
prokit_main_create_window (prokit_main_t *self, const char *name, const prokit_window_spec_t *spec,
                           prokit_spawned_t *result, size_t result_size)
{
    prokit_window_spec_t own;
    prokit_spawned_t learnt;
    memset (&learnt, 0, sizeof (learnt));
    int rc = PROKIT_EINVAL;
    if (!spec || (result && result_size == 0))
        snprintf (learnt.reason, sizeof (learnt.reason), "invalid name or spec");
    else if (sized_take (&own, sizeof (own), spec, "prokit_window_spec_t") != PROKIT_OK)
        snprintf (learnt.reason, sizeof (learnt.reason), "the spec was not initialised");
    else
        rc = s_create_window (self, name, &own, &learnt);
    if (result)
        sized_give (result, result_size, &learnt, sizeof (learnt));
    return rc;
}

int
prokit_main_destroy_window (prokit_main_t *self, const char *name, int grace_ms)
{
    if (!self || !name || grace_ms < 0)
        return PROKIT_EINVAL;
    entry_t *entry = (entry_t *) zhashx_lookup (self->windows, name);
    if (!entry)
        return PROKIT_ENOTFOUND;
    if (grace_ms == 0)
        grace_ms = DEFAULT_GRACE_MS;
    if (entry->info.joined) {
        //  The router forwards the close and drops the window at once; its
        //  LEFT ("closed by main") follows.
        client_control (self->client, PROTO_CLOSE, name);
        self->joined--;
        entry->info.joined = false;
    }
    s_forget (self, name);
    supervisor_close (self->supervisor, name, grace_ms);
    return PROKIT_OK;
}

int
prokit_main_clear_windows (prokit_main_t *self, int grace_ms)
{
    if (!self || grace_ms < 0)
        return PROKIT_EINVAL;
    zlistx_t *names = zlistx_new ();
    zlistx_set_destructor (names, (zlistx_destructor_fn *) zstr_free);
    zlistx_set_duplicator (names, (zlistx_duplicator_fn *) strdup);
    for (entry_t *entry = (entry_t *) zhashx_first (self->windows); entry;
         entry = (entry_t *) zhashx_next (self->windows))
        zlistx_add_end (names, entry->info.name);
    for (const char *name = (const char *) zlistx_first (names); name;
         name = (const char *) zlistx_next (names))
        prokit_main_destroy_window (self, name, grace_ms);
    zlistx_destroy (&names);
    return PROKIT_OK;
}

static int
s_set_shown (prokit_main_t *self, const char *name, bool shown)
{
    if (!self || !name || !proto_window_name_valid (name, strlen (name)))
        return PROKIT_EINVAL;
    entry_t *entry = (entry_t *) zhashx_lookup (self->windows, name);
    if (!entry || !entry->info.joined)
        return PROKIT_ENOTFOUND;
    int rc = client_control (self->client, shown ? PROTO_SHOW : PROTO_HIDE, name);
    if (rc == PROKIT_OK) {
        entry->info.shown = shown;
        supervisor_set_shown (self->supervisor, name, shown); //  a restart keeps the state
    }
    return rc;
}

int
prokit_main_show_window (prokit_main_t *self, const char *name)
{
    return s_set_shown (self, name, true);
}

int
prokit_main_hide_window (prokit_main_t *self, const char *name)
{
    return s_set_shown (self, name, false);
}

//  Fill the application's INFO, of INFO_SIZE bytes, from ENTRY.
static void
s_fill_info (prokit_main_t *self, const entry_t *entry, void *info, size_t info_size)
{
    prokit_window_info_t own = entry->info;
    long long seen = 0;
    if (entry->info.joined &&
        client_last_seen (self->client, entry->info.name, &seen) == PROKIT_OK && seen > 0)
        own.last_seen_ms = seen;
    sized_give (info, info_size, &own, sizeof (own));
}

int
prokit_main_get_window (prokit_main_t *self, const char *name, prokit_window_info_t *info,
                        size_t info_size)
{
    if (!self || !name || !info || info_size == 0)
        return PROKIT_EINVAL;
    entry_t *entry = (entry_t *) zhashx_lookup (self->windows, name);
    if (!entry)
        return PROKIT_ENOTFOUND;
    s_fill_info (self, entry, info, info_size);
    return PROKIT_OK;
}

int
prokit_main_get_all_windows (prokit_main_t *self, prokit_window_info_t *infos, size_t capacity,
                             size_t info_size, size_t *count)
{
    if (!self || !count || (capacity > 0 && (!infos || info_size == 0)))
        return PROKIT_EINVAL;
    *count = 0;
    for (entry_t *entry = (entry_t *) zhashx_first (self->windows); entry;
         entry = (entry_t *) zhashx_next (self->windows), (*count)++)
        if (*count < capacity)
            s_fill_info (self, entry, (char *) infos + *count * info_size, info_size);
    return PROKIT_OK;
}

bool
prokit_main_has_window (const prokit_main_t *self, const char *name)
{
    return self && name && s_is_joined (self, name);
}

size_t
prokit_main_window_count (const prokit_main_t *self)
{
    return self ? self->joined : 0;
}

//  --- the loop --------------------------------------------------------------------------

int
prokit_main_fd (const prokit_main_t *self)
{
    return self ? client_fd (self->client) : -1;
}

int
prokit_main_dispatch (prokit_main_t *self)
{
    return self ? client_dispatch (self->client) : PROKIT_EINVAL;
}

int
prokit_main_run (prokit_main_t *self, int timeout_ms)
{
    return self ? client_run (self->client, timeout_ms) : PROKIT_EINVAL;
}

void
prokit_main_stop (prokit_main_t *self)
{
    if (self)
        client_stop (self->client);
}

int
prokit_main_stats (prokit_main_t *self, prokit_stats_t *stats, size_t stats_size)
{
    return self ? client_router_stats (self->client, MAIN_QUERY_TIMEOUT_MS, stats, stats_size)
                : PROKIT_EINVAL;
}
