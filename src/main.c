/*  main.c: the main process handle. It embeds the router (router.c) and
    talks to it as the client "@main" over inproc, exactly as it would talk
    to a router running elsewhere; it also keeps the set of joined windows,
    fed by the router's JOINED/LEFT events, so that a send to an unknown
    window fails at once instead of travelling to the router first. */
#include "prokit/main.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "log.h"
#include "prokit/error.h"
#include "proto.h"
#include "router.h"

struct prokit_main {
    router_t *router;
    client_t *client;
    zhashx_t *windows; //  name -> (void *) 1
    prokit_presence_fn *presence_fn;
    void *presence_arg;
    prokit_undelivered_fn *undelivered_fn;
    void *undelivered_arg;
};

void
prokit_main_opts_init (prokit_main_opts_t *opts)
{
    if (opts)
        memset (opts, 0, sizeof (*opts));
}

static void
s_on_presence (void *owner, const char *window, bool joined)
{
    prokit_main_t *self = (prokit_main_t *) owner;
    if (joined)
        zhashx_update (self->windows, window, (void *) 1);
    else
        zhashx_delete (self->windows, window);
    if (self->presence_fn)
        self->presence_fn (window, joined, self->presence_arg);
}

static void
s_on_undelivered (void *owner, const char *target, int code, const char *text)
{
    prokit_main_t *self = (prokit_main_t *) owner;
    if (self->undelivered_fn)
        self->undelivered_fn (target, code, text, self->undelivered_arg);
    else
        log_warn ("main: message to '%s' not delivered: %s", target, text);
}

static const client_events_t s_events = { NULL, s_on_presence, s_on_undelivered, NULL };

prokit_main_t *
prokit_main_new (const prokit_main_opts_t *opts, int *error)
{
    int dummy;
    if (!error)
        error = &dummy;
    prokit_main_opts_t defaults;
    if (!opts) {
        prokit_main_opts_init (&defaults);
        opts = &defaults;
    }
    if (opts->max_payload > PROKIT_MAX_PAYLOAD_LIMIT) {
        *error = PROKIT_EINVAL;
        return NULL;
    }
    char endpoint[512];
    *error = client_resolve_endpoint (opts->endpoint, opts->app_name, endpoint, sizeof (endpoint));
    if (*error != PROKIT_OK)
        return NULL;
    //  The application owns its signals; CZMQ must not install handlers.
    zsys_handler_set (NULL);

    prokit_main_t *self = (prokit_main_t *) calloc (1, sizeof (*self));
    if (!self || !(self->windows = zhashx_new ())) {
        free (self);
        *error = PROKIT_ENOMEM;
        return NULL;
    }
    char inproc[64];
    snprintf (inproc, sizeof (inproc), "inproc://prokit-main-%llu",
              (unsigned long long) client_serial ());
    router_config_t config = { endpoint, inproc, opts->max_payload };
    self->router = router_new (&config, error);
    if (!self->router) {
        prokit_main_destroy (&self);
        return NULL;
    }
    client_config_t client_config = { PROTO_MAIN_NAME,          inproc,    5000,
                                      opts->request_timeout_ms, &s_events, self };
    self->client = client_new (&client_config, error);
    if (!self->client) {
        prokit_main_destroy (&self);
        return NULL;
    }
    return self;
}

void
prokit_main_destroy (prokit_main_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    prokit_main_t *self = *self_p;
    client_destroy (&self->client);
    router_destroy (&self->router);
    zhashx_destroy (&self->windows);
    free (self);
    *self_p = NULL;
}

const char *
prokit_main_endpoint (const prokit_main_t *self)
{
    return self ? router_endpoint (self->router) : NULL;
}

int
prokit_main_on_request (prokit_main_t *self, prokit_request_fn *fn, void *arg)
{
    if (!self)
        return PROKIT_EINVAL;
    client_set_handler (self->client, fn, arg);
    return PROKIT_OK;
}

int
prokit_main_send (prokit_main_t *self, const char *window, prokit_payload_t **payload_p)
{
    if (!self || !window || !payload_p || !*payload_p ||
        !proto_window_name_valid (window, strlen (window))) {
        if (payload_p)
            prokit_payload_destroy (payload_p);
        return PROKIT_EINVAL;
    }
    if (!zhashx_lookup (self->windows, window)) {
        if (payload_p)
            prokit_payload_destroy (payload_p);
        return PROKIT_ENOTFOUND;
    }
    return client_send (self->client, window, payload_p);
}

int
prokit_main_broadcast (prokit_main_t *self, prokit_payload_t **payload_p)
{
    if (!self) {
        if (payload_p)
            prokit_payload_destroy (payload_p);
        return PROKIT_EINVAL;
    }
    return client_send (self->client, NULL, payload_p);
}

void
prokit_main_on_undelivered (prokit_main_t *self, prokit_undelivered_fn *fn, void *arg)
{
    if (!self)
        return;
    self->undelivered_fn = fn;
    self->undelivered_arg = arg;
}

void
prokit_main_on_presence (prokit_main_t *self, prokit_presence_fn *fn, void *arg)
{
    if (!self)
        return;
    self->presence_fn = fn;
    self->presence_arg = arg;
}

bool
prokit_main_has_window (const prokit_main_t *self, const char *name)
{
    return self && name && zhashx_lookup (self->windows, name) != NULL;
}

size_t
prokit_main_window_count (const prokit_main_t *self)
{
    return self ? zhashx_size (self->windows) : 0;
}

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
prokit_main_stats (prokit_main_t *self, prokit_stats_t *stats)
{
    if (!self || !stats)
        return PROKIT_EINVAL;
    router_stats_t raw;
    int rc = router_stats (self->router, &raw);
    if (rc != PROKIT_OK)
        return rc;
    stats->received = raw.received;
    stats->routed = raw.routed;
    stats->errors_sent = raw.errors_sent;
    stats->garbage = raw.garbage;
    stats->malformed = raw.malformed;
    stats->too_big = raw.too_big;
    stats->unroutable = raw.unroutable;
    stats->back_pressure = raw.back_pressure;
    stats->control_lost = raw.control_lost;
    stats->windows = raw.windows;
    return PROKIT_OK;
}
