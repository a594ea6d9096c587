/*  prokit/broker.h: the routing core on its own, and the tools around it.

    A main process normally embeds the router. For windows on other hosts,
    or a main that comes and goes, the same router runs alone as a broker
    (the prokit-broker daemon is a thin program around prokit_broker_new())
    and main attaches to it (prokit_main_opts_t.broker).

    On TCP the broker speaks CURVE (encryption, and authentication of
    client keys through ZAP with CZMQ's zauth) when given a certificate,
    and an access list says which key may claim which window names and the
    main role. docs/SECURITY.md describes what this protects.

    Thread-safety: a prokit_broker_t routes on a thread of its own; its
    functions may be called from any one thread at a time. Only one broker
    with CURVE may run per process (ZAP is process-wide in libzmq).
*/
#ifndef PROKIT_BROKER_H_INCLUDED
#define PROKIT_BROKER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "prokit/export.h"
#include "prokit/info.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct prokit_broker prokit_broker_t;

//  Most endpoints one broker binds.
#define PROKIT_BROKER_ENDPOINTS_MAX 16

//  Length of a CURVE key in Z85 text, without the terminating NUL.
#define PROKIT_CURVE_KEY_LEN 40

//  Options for prokit_broker_new(). Initialise with
//  prokit_broker_opts_init(), which records in SIZE the size your program
//  was compiled with; later versions add fields at the end only.
typedef struct prokit_broker_opts {
    size_t size; //  sizeof (prokit_broker_opts_t) as you compiled it: set by _init
    //  Endpoints to bind, in order, up to the first NULL; at least one.
    //  tcp://host:port (port * picks one), ipc://path.
    const char *endpoints[PROKIT_BROKER_ENDPOINTS_MAX];
    //  As in prokit_main_opts_t: largest payload (0: 16 MiB) and liveness.
    size_t max_payload;
    int heartbeat_ivl_ms;
    int heartbeat_timeout_ms;
    //  The broker's certificate file, with its secret key: every tcp://
    //  endpoint then requires CURVE. ipc:// endpoints stay plaintext (the
    //  file system's permissions guard them).
    const char *curve_cert;
    //  With curve_cert: the directory of client certificates allowed to
    //  connect (public halves suffice), or "*" to let any key connect
    //  (encryption without authentication). Required with curve_cert.
    const char *curve_allow;
    //  The access list file (format in docs/SECURITY.md): which client key
    //  may claim which window names, and the main role. NULL: any peer may
    //  claim any free name. Needs a curve_allow directory when CURVE is on.
    const char *acl;
    //  Allow plaintext TCP on addresses other than loopback. Without it,
    //  binding such an endpoint with no curve_cert is refused.
    bool insecure;
    //  Limits, as in prokit_main_opts_t (0: the default): windows joined at
    //  once (100000), requests one window has in flight (10000), SENDs and
    //  requests per second from one window (no limit).
    size_t max_windows;
    size_t max_requests_per_window;
    size_t max_messages_per_second;
    //  Connections from one address that have not joined, at once (1000):
    //  those past it are closed at once. Windows joined with one CURVE key
    //  at once (default: no limit): the next HELLO with it gets PROKIT_ELIMIT.
    size_t max_pending_per_address;
    size_t max_windows_per_key;
    //  libzmq I/O threads, as in prokit_main_opts_t (0: the process's
    //  ZeroMQ context's, 1 unless $ZSYS_IO_THREADS): about one per
    //  thousand windows. Effective when the broker is made before any
    //  other ZeroMQ socket of its process.
    int io_threads;
} prokit_broker_opts_t;

//  Fill OPTS with the defaults (all fields zero / NULL) and its size.
static inline void
prokit_broker_opts_init (prokit_broker_opts_t *opts)
{
    if (opts) {
        memset (opts, 0, sizeof (*opts));
        opts->size = sizeof (*opts);
    }
}

//  Start a broker: load its keys and access list, bind every endpoint and
//  start routing. Returns NULL on failure with the reason in *error (if
//  ERROR is not NULL), and the details logged (see prokit/log.h):
//  PROKIT_EINVAL (no endpoint, an unreadable certificate, a missing allow
//  directory, an access list with a syntax error), PROKIT_EACCES
//  (plaintext TCP on a non-loopback address without insecure),
//  PROKIT_EEXIST (an ipc endpoint is in use), PROKIT_ETRANSPORT (an
//  endpoint cannot be bound), PROKIT_ENOMEM.
PROKIT_EXPORT prokit_broker_t *prokit_broker_new (const prokit_broker_opts_t *opts, int *error);

//  Tell every connected peer the broker is going away (they try to rejoin
//  until one is back), stop and free it; nulls *self_p. Returns within
//  about 200 ms. Safe on NULL.
PROKIT_EXPORT void prokit_broker_destroy (prokit_broker_t **self_p);

//  Key rotation: read the access list file (opts.acl) again, and look
//  again at every peer that has joined. The allowed-keys directory
//  (opts.curve_allow) is read as it changes, for new connections and here.
//  A peer whose key is no longer allowed (its certificate removed from the
//  directory, or its name no longer its key's in the access list) is told
//  (its connection-lost event carries PROKIT_EACCES) and dropped; its
//  connection's later HELLOs are refused with PROKIT_EACCES. The others
//  keep their sessions. *DROPPED (if not NULL) gets how many were dropped.
//  Returns PROKIT_OK, or PROKIT_EINVAL when the access list cannot be read
//  or has an error: the one in use stays, and nobody is dropped.
//  prokit-broker does this on SIGHUP. Thread-safe.
PROKIT_EXPORT int prokit_broker_reload (prokit_broker_t *self, size_t *dropped);

//  Endpoint INDEX as bound (a tcp port of * resolved), or NULL past the
//  last. Borrowed; valid until destroy.
PROKIT_EXPORT const char *prokit_broker_endpoint (const prokit_broker_t *self, size_t index);

//  The broker's public key in Z85 when it runs CURVE, else NULL. Borrowed.
PROKIT_EXPORT const char *prokit_broker_public_key (const prokit_broker_t *self);

//  Copy the router's counters into STATS, of STATS_SIZE bytes (sizeof
//  (*stats)). PROKIT_EINVAL on NULL arguments or a size of 0.
PROKIT_EXPORT int prokit_broker_stats (prokit_broker_t *self, prokit_stats_t *stats,
                                       size_t stats_size);

//  Health probe: does a router (a broker, or a main's embedded one) answer
//  at ENDPOINT within TIMEOUT_MS (0: 2000)? It is asked without joining,
//  so the probe claims no name. CURVE_CERT and CURVE_SERVER_KEY as in
//  prokit_window_opts_t, NULL for none (the environment is not read).
//  Returns PROKIT_OK and the round trip in *RTT_MS (if not NULL),
//  PROKIT_ETIMEDOUT, PROKIT_EACCES (the security handshake was refused),
//  PROKIT_EINVAL (bad endpoint or certificate), PROKIT_ETRANSPORT.
PROKIT_EXPORT int prokit_ping (const char *endpoint, const char *curve_cert,
                               const char *curve_server_key, int timeout_ms, double *rtt_ms);

//  Make a new CURVE key pair and save it as two certificate files: PATH
//  (the public key, to give to peers and allow-directories) and
//  PATH_secret (both keys, mode 0600, for the owner only). Writes the
//  public key in Z85 into PUBLIC_KEY (PROKIT_CURVE_KEY_LEN + 1 bytes) when
//  not NULL. Returns PROKIT_OK, PROKIT_EINVAL (NULL path), PROKIT_EEXIST
//  (either file exists: keys are never overwritten), PROKIT_ETRANSPORT
//  (CURVE not available in libzmq) or PROKIT_ENOMEM; file errors give
//  PROKIT_EACCES with the reason logged.
PROKIT_EXPORT int prokit_curve_keygen (const char *path, char *public_key);

#ifdef __cplusplus
}
#endif

#endif
