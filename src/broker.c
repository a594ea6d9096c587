/*  broker.c: the router on its own (prokit_broker_t), the health probe and
    key generation. The routing is router.c's, exactly as main embeds it;
    this module adds what running it for other hosts needs: CURVE keys,
    the access list, and the refusal of plaintext TCP beyond loopback.
*/
#include "prokit/broker.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "acl.h"
#include "clock.h"
#include "curve.h"
#include "log.h"
#include "monitor.h"
#include "prokit/error.h"
#include "prokit/main.h"
#include "proto.h"
#include "router.h"
#include "serial.h"
#include "sized.h"
#include "sock.h"
#include "wire.h"

#define PING_DEFAULT_TIMEOUT_MS 2000

struct prokit_broker {
    router_t *router;
    char public_key[CURVE_KEY_TEXT + 1]; //  "" without CURVE
    char *acl_path;                      //  the access list file, NULL: none
};

//  Is ENDPOINT TCP on an address beyond this host? Loopback addresses,
//  "localhost" and the "lo" interface stay on it; everything else,
//  including * and 0.0.0.0, does not.
static bool
s_tcp_beyond_loopback (const char *endpoint)
{
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return false;
    const char *host = endpoint + 6;
    const char *colon = strrchr (host, ':');
    size_t length = colon ? (size_t) (colon - host) : strlen (host);
    char name[256];
    if (length >= sizeof (name))
        return true;
    memcpy (name, host, length);
    name[length] = 0;
    if (strncmp (name, "127.", 4) == 0)
        return false;
    return !(streq (name, "localhost") || streq (name, "[::1]") || streq (name, "lo"));
}

static bool
s_is_directory (const char *path)
{
    struct stat info;
    return stat (path, &info) == 0 && S_ISDIR (info.st_mode);
}

//  Check OPTS and fill CONFIG; the certificate and access list loaded here
//  are the caller's to free (the router takes the list).
static int
s_configure (const prokit_broker_opts_t *opts, router_config_t *config, zcert_t **cert, acl_t **acl)
{
    memset (config, 0, sizeof (*config));
    for (size_t i = 0; i < PROKIT_BROKER_ENDPOINTS_MAX && opts->endpoints[i]; i++)
        config->endpoints[config->endpoint_count++] = opts->endpoints[i];
    if (config->endpoint_count == 0) {
        log_error ("broker: no endpoint to bind");
        return PROKIT_EINVAL;
    }
    if (opts->max_payload > PROKIT_MAX_PAYLOAD_LIMIT || opts->heartbeat_ivl_ms < 0 ||
        opts->heartbeat_timeout_ms < 0 || opts->io_threads < 0) {
        log_error ("broker: max_payload, heartbeat or io_threads option out of range");
        return PROKIT_EINVAL;
    }
    config->max_payload = opts->max_payload;
    config->max_windows = opts->max_windows;
    config->max_requests_per_window = opts->max_requests_per_window;
    config->max_messages_per_second = opts->max_messages_per_second;
    config->max_pending_per_address = opts->max_pending_per_address;
    config->max_windows_per_key = opts->max_windows_per_key;
    config->io_threads = opts->io_threads;
    config->heartbeat_ivl_ms = opts->heartbeat_ivl_ms;
    config->heartbeat_timeout_ms = opts->heartbeat_timeout_ms;
    char why[512];
    if (opts->curve_cert) {
        if (!opts->curve_allow) {
            log_error ("broker: CURVE needs the directory of allowed client keys (or \"*\" for "
                       "any key)");
            return PROKIT_EINVAL;
        }
        if (!streq (opts->curve_allow, "*") && !s_is_directory (opts->curve_allow)) {
            log_error ("broker: allowed-keys directory %s not found", opts->curve_allow);
            return PROKIT_EINVAL;
        }
        if (opts->acl && streq (opts->curve_allow, "*")) {
            log_error ("broker: an access list needs known client keys: give a directory of "
                       "allowed keys, not \"*\"");
            return PROKIT_EINVAL;
        }
        if (!(*cert = curve_load_secret (opts->curve_cert, why, sizeof (why)))) {
            log_error ("broker: %s", why);
            return PROKIT_EINVAL;
        }
        config->curve_cert = *cert;
        config->curve_allow = opts->curve_allow;
    }
    else if (opts->curve_allow) {
        log_error ("broker: allowed keys given without the broker's own certificate");
        return PROKIT_EINVAL;
    }
    else if (!opts->insecure)
        for (size_t i = 0; i < config->endpoint_count; i++)
            if (s_tcp_beyond_loopback (config->endpoints[i])) {
                log_error ("broker: refusing plaintext TCP on %s, which other hosts can reach: "
                           "give a CURVE certificate, or the insecure option to accept the risk",
                           config->endpoints[i]);
                return PROKIT_EACCES;
            }
    if (opts->acl) {
        if (!(*acl = acl_load (opts->acl, why, sizeof (why)))) {
            log_error ("broker: access list %s", why);
            return PROKIT_EINVAL;
        }
        config->acl = *acl;
    }
    return PROKIT_OK;
}

prokit_broker_t *
prokit_broker_new (const prokit_broker_opts_t *opts, int *error)
{
    error = error ? error : &(int){ 0 }; //  the caller may not want the code
    //  The application's options, as far as its header had them.
    prokit_broker_opts_t own;
    if (!opts) {
        *error = PROKIT_EINVAL;
        return NULL;
    }
    if ((*error = sized_take (&own, sizeof (own), opts, "prokit_broker_opts_t")) != PROKIT_OK)
        return NULL;
    opts = &own;
    //  The application owns its signals; CZMQ must not install handlers.
    zsys_handler_set (NULL);
    router_config_t config;
    zcert_t *cert = NULL;
    acl_t *acl = NULL;
    *error = s_configure (opts, &config, &cert, &acl);
    prokit_broker_t *self = NULL;
    if (*error == PROKIT_OK) {
        self = (prokit_broker_t *) calloc (1, sizeof (*self));
        if (!self)
            *error = PROKIT_ENOMEM;
    }
    if (*error != PROKIT_OK) {
        acl_destroy (&acl);
        zcert_destroy (&cert);
        free (self);
        return NULL;
    }
    if (cert)
        snprintf (self->public_key, sizeof (self->public_key), "%s", zcert_public_txt (cert));
    self->router = router_new (&config, error); //  takes the access list
    zcert_destroy (&cert);
    if (!self->router) {
        free (self);
        return NULL;
    }
    if (acl)
        log_info ("broker: access list %s: %zu key(s)", opts->acl, acl_size (acl));
    if (opts->acl && !(self->acl_path = strdup (opts->acl))) {
        prokit_broker_destroy (&self);
        *error = PROKIT_ENOMEM;
    }
    return self;
}

int
prokit_broker_reload (prokit_broker_t *self, size_t *dropped)
{
    if (dropped)
        *dropped = 0;
    if (!self)
        return PROKIT_EINVAL;
    acl_t *acl = NULL;
    if (self->acl_path) {
        char why[256];
        if (!(acl = acl_load (self->acl_path, why, sizeof (why)))) {
            log_error ("broker: access list not reloaded, the one in use stays: %s", why);
            return PROKIT_EINVAL;
        }
        log_info ("broker: access list %s reloaded: %zu key(s)", self->acl_path, acl_size (acl));
    }
    size_t count = router_reload (self->router, acl); //  takes the access list
    log_info ("broker: keys reloaded: %zu peer(s) dropped", count);
    if (dropped)
        *dropped = count;
    return PROKIT_OK;
}

void
prokit_broker_destroy (prokit_broker_t **self_p)
{
    if (self_p && *self_p) {
        router_destroy (&(*self_p)->router);
        free ((*self_p)->acl_path);
        free (*self_p);
        *self_p = NULL;
    }
}

const char *
prokit_broker_endpoint (const prokit_broker_t *self, size_t index)
{
    return self ? router_endpoint_at (self->router, index) : NULL;
}

const char *
prokit_broker_public_key (const prokit_broker_t *self)
{
    return self && self->public_key[0] ? self->public_key : NULL;
}

int
prokit_broker_stats (prokit_broker_t *self, prokit_stats_t *stats, size_t stats_size)
{
    if (!self || !stats || stats_size == 0)
        return PROKIT_EINVAL;
    prokit_stats_t own;
    int rc = router_public_stats (self->router, &own);
    if (rc == PROKIT_OK)
        sized_give (stats, stats_size, &own, sizeof (own));
    return rc;
}

//  --- the health probe --------------------------------------------------------

//  Read the probe's monitor: PROKIT_EACCES once a handshake was refused.
static int
s_probe_refused (zsock_t *monitor)
{
    int rc = PROKIT_OK;
    monitor_event_t got;
    while (monitor_next (monitor, &got))
        if (got.event & CURVE_HANDSHAKE_FAILURES)
            rc = PROKIT_EACCES;
    return rc;
}

static int
s_probe (zsock_t *dealer, zsock_t *monitor, int timeout_ms, double *rtt_ms)
{
    uint64_t id = (uint64_t) getpid () << 16 | 1;
    double start = (double) clock_mono_ns () / 1e6;
    //  The PING goes when the DEALER takes it, never blocking: a handshake
    //  refused (no CURVE, a key not allowed) ends the connection for good,
    //  and a DEALER without one would wait for ever.
    bool sent = false;
    zmq_pollitem_t items[] = { { zsock_resolve (dealer), 0, ZMQ_POLLIN, 0 },
                               { zsock_resolve (monitor), 0, ZMQ_POLLIN, 0 } };
    while (true) {
        double left = start + timeout_ms - (double) clock_mono_ns () / 1e6;
        if (left <= 0)
            return PROKIT_ETIMEDOUT;
        if (!sent) {
            zmq_msg_t body;
            zmq_msg_init (&body);
            int rc = wire_send (zsock_resolve (dealer), PROTO_VERSION_1, NULL, 0, PROTO_PING, id,
                                "", &body);
            if (rc != 0 && rc != EAGAIN)
                return PROKIT_ETRANSPORT;
            sent = rc == 0;
        }
        items[0].events = sent ? ZMQ_POLLIN : ZMQ_POLLOUT;
        if (zmq_poll (items, 2, (long) left + 1) < 0 && errno != EINTR)
            return PROKIT_ETRANSPORT;
        if (s_probe_refused (monitor) != PROKIT_OK)
            return PROKIT_EACCES;
        while (sent && (wire_events (zsock_resolve (dealer)) & ZMQ_POLLIN)) {
            zmsg_t *answer = zmsg_recv (dealer);
            zframe_t *first = answer ? zmsg_first (answer) : NULL;
            uint8_t command = 0;
            uint64_t answer_id = 0;
            bool pong = first &&
                        proto_header_decode (zframe_data (first), zframe_size (first), &command,
                                             &answer_id) == PROKIT_OK &&
                        answer_id == id && (command == PROTO_PONG || command == PROTO_ERROR);
            zmsg_destroy (&answer);
            //  An ERROR is an answer too: an older router that wants HELLO
            //  first is still alive.
            if (pong) {
                if (rtt_ms)
                    *rtt_ms = (double) clock_mono_ns () / 1e6 - start;
                return PROKIT_OK;
            }
        }
    }
}

int
prokit_ping (const char *endpoint, const char *curve_cert, const char *server_key, int timeout_ms,
             double *rtt_ms)
{
    if (!endpoint || timeout_ms < 0 || (!curve_cert != !server_key))
        return PROKIT_EINVAL;
    zsys_handler_set (NULL);
    zsock_t *dealer = sock_zsock_new (ZMQ_DEALER);
    zsock_t *monitor = dealer ? sock_zsock_new (ZMQ_PAIR) : NULL;
    if (!dealer || !monitor) {
        int rc = sock_error (PROKIT_ENOMEM);
        zsock_destroy (&dealer);
        zsock_destroy (&monitor);
        return rc;
    }
    zsock_set_linger (dealer, 0);
    int rc = PROKIT_OK;
    if (curve_cert) {
        char why[512];
        char key[CURVE_KEY_TEXT + 1];
        zcert_t *cert = curve_load_secret (curve_cert, why, sizeof (why));
        if (!cert || !curve_server_key (server_key, key, why, sizeof (why))) {
            log_error ("ping: %s", why);
            rc = PROKIT_EINVAL;
        }
        else
            curve_apply_client (dealer, cert, key);
        zcert_destroy (&cert);
    }
    char monitor_endpoint[64];
    snprintf (monitor_endpoint, sizeof (monitor_endpoint), "inproc://prokit-ping-%llu",
              (unsigned long long) serial_next ());
    if (rc == PROKIT_OK && (zmq_socket_monitor (zsock_resolve (dealer), monitor_endpoint,
                                                CURVE_HANDSHAKE_FAILURES) != 0 ||
                            zsock_connect (monitor, "%s", monitor_endpoint) != 0))
        rc = PROKIT_ETRANSPORT;
    if (rc == PROKIT_OK && zsock_connect (dealer, "%s", endpoint) != 0) {
        log_error ("ping: cannot connect to %s: %s", endpoint, zmq_strerror (zmq_errno ()));
        rc = PROKIT_EINVAL;
    }
    if (rc == PROKIT_OK)
        rc = s_probe (dealer, monitor, timeout_ms > 0 ? timeout_ms : PING_DEFAULT_TIMEOUT_MS,
                      rtt_ms);
    zmq_socket_monitor (zsock_resolve (dealer), NULL, 0);
    zsock_destroy (&monitor);
    zsock_destroy (&dealer);
    return rc;
}

//  --- keys ---------------------------------------------------------------------

int
prokit_curve_keygen (const char *path, char *public_key)
{
    if (!path || !*path)
        return PROKIT_EINVAL;
    if (!zmq_has ("curve"))
        return PROKIT_ETRANSPORT;
    char secret_path[1024];
    if ((size_t) snprintf (secret_path, sizeof (secret_path), "%s_secret", path) >=
        sizeof (secret_path))
        return PROKIT_EINVAL;
    //  Create both files exclusively first: never overwrite a key, and the
    //  secret one is private from its first byte.
    int secret_fd = open (secret_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (secret_fd < 0) {
        if (errno == EEXIST)
            return PROKIT_EEXIST;
        log_error ("keygen: cannot create %s: %s", secret_path, strerror (errno));
        return PROKIT_EACCES;
    }
    close (secret_fd);
    int public_fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (public_fd < 0) {
        int err = errno;
        unlink (secret_path);
        if (err == EEXIST)
            return PROKIT_EEXIST;
        log_error ("keygen: cannot create %s: %s", path, strerror (err));
        return PROKIT_EACCES;
    }
    close (public_fd);
    zcert_t *cert = zcert_new ();
    if (!cert) {
        unlink (secret_path);
        unlink (path);
        return PROKIT_ENOMEM;
    }
    if (zcert_save (cert, path) != 0) {
        log_error ("keygen: cannot write %s: %s", path, strerror (errno));
        zcert_destroy (&cert);
        unlink (secret_path);
        unlink (path);
        return PROKIT_EACCES;
    }
    if (public_key)
        memcpy (public_key, zcert_public_txt (cert), CURVE_KEY_TEXT + 1);
    zcert_destroy (&cert);
    return PROKIT_OK;
}
