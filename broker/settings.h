/*  settings.h: prokit-broker's settings, from the command line, the
    environment and a config file, in that order of precedence.

    The config file has one "key = value" per line; blank lines and lines
    starting with '#' are ignored. Keys: bind (may repeat), curve_cert,
    curve_allow, acl, insecure, max_payload, heartbeat_ivl,
    heartbeat_timeout, max_windows, max_requests_per_window,
    max_messages_per_second, max_pending_per_address, max_windows_per_key,
    io_threads, log_level. A source that names endpoints replaces
    the endpoints of the sources below it rather than adding to them.
*/
#ifndef PROKIT_BROKER_SETTINGS_H_INCLUDED
#define PROKIT_BROKER_SETTINGS_H_INCLUDED

#include <prokit.h>
#include <stdbool.h>
#include <stddef.h>

#define SETTINGS_DEFAULT_BIND "tcp://127.0.0.1:5570"

typedef enum {
    SETTINGS_OK,
    SETTINGS_HELP,    //  --help was given
    SETTINGS_VERSION, //  --version was given
    SETTINGS_ERROR    //  a bad option, variable or config line: see WHY
} settings_result_t;

typedef struct settings {
    char *bind[PROKIT_BROKER_ENDPOINTS_MAX];
    size_t bind_count;
    char *curve_cert;
    char *curve_allow;
    char *acl;
    bool insecure;
    size_t max_payload;
    int heartbeat_ivl_ms;
    int heartbeat_timeout_ms;
    size_t max_windows; //  limits, 0: the library's default
    size_t max_requests_per_window;
    size_t max_messages_per_second;
    size_t max_pending_per_address;
    size_t max_windows_per_key;
    int io_threads; //  libzmq I/O threads, 0: the library's default
    prokit_log_level_t log_level;
    //  The one-shot modes and their options.
    char *keygen;
    char *ping;
    char *client_cert;
    char *server_key;
    int timeout_ms;
} settings_t;

//  Fill SETTINGS from ARGV, the environment and the config file. On
//  SETTINGS_ERROR, WHY says what is wrong, naming the source.
settings_result_t settings_load (settings_t *settings, int argc, char *argv[], char *why,
                                 size_t why_size);

//  Free what settings_load() allocated.
void settings_free (settings_t *settings);

#endif
