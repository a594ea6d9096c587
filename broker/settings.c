/*  settings.c: prokit-broker's settings (see settings.h).

    Every source is reduced to a list of key/value pairs, applied lowest
    precedence first (config file, environment, command line) through the
    one function that validates a key, so a value means the same wherever
    it comes from, and a mistake names where it was made.
*/
#include "settings.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAIRS_MAX 64
#define LINE_MAX_LENGTH 4096

typedef struct {
    char *key;
    char *value;
    char *where; //  "path:line", the variable or the option, for errors
} pair_t;

//  One source of settings, such as "the config file".
typedef struct {
    const char *name;
    pair_t pairs[PAIRS_MAX];
    size_t count;
} layer_t;

static int
s_layer_add (layer_t *layer, const char *key, const char *value, const char *where, char *why,
             size_t why_size)
{
    if (layer->count == PAIRS_MAX) {
        snprintf (why, why_size, "%s: more than %d settings", layer->name, PAIRS_MAX);
        return -1;
    }
    pair_t *pair = &layer->pairs[layer->count];
    pair->key = strdup (key);
    pair->value = strdup (value);
    pair->where = strdup (where ? where : layer->name);
    if (!pair->key || !pair->value || !pair->where) {
        free (pair->key);
        free (pair->value);
        free (pair->where);
        snprintf (why, why_size, "out of memory");
        return -1;
    }
    layer->count++;
    return 0;
}

static void
s_layer_free (layer_t *layer)
{
    for (size_t i = 0; i < layer->count; i++) {
        free (layer->pairs[i].key);
        free (layer->pairs[i].value);
        free (layer->pairs[i].where);
    }
    layer->count = 0;
}

static bool
s_parse_int (const char *text, long long min, long long max, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long value = strtoll (text, &end, 10);
    if (errno != 0 || end == text || *end != 0 || value < min || value > max)
        return false;
    *out = value;
    return true;
}

static bool
s_parse_bool (const char *text, bool *out)
{
    static const char *const yes[] = { "1", "true", "yes", "on" };
    static const char *const no[] = { "0", "false", "no", "off" };
    for (size_t i = 0; i < 4; i++) {
        if (strcmp (text, yes[i]) == 0)
            return (*out = true);
        if (strcmp (text, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static int
s_replace (char **field, const char *value)
{
    char *copy = strdup (value);
    if (!copy)
        return -1;
    free (*field);
    *field = copy;
    return 0;
}

static void
s_clear_bind (settings_t *settings)
{
    for (size_t i = 0; i < settings->bind_count; i++)
        free (settings->bind[i]);
    settings->bind_count = 0;
}

//  Add the endpoints in VALUE (separated by spaces or commas).
static int
s_add_bind (settings_t *settings, const char *value, char *why, size_t why_size, const char *where)
{
    char *copy = strdup (value);
    if (!copy)
        return -1;
    char *save = NULL;
    int added = 0;
    for (char *endpoint = strtok_r (copy, " ,\t", &save); endpoint;
         endpoint = strtok_r (NULL, " ,\t", &save)) {
        if (settings->bind_count == PROKIT_BROKER_ENDPOINTS_MAX) {
            snprintf (why, why_size, "%s: more than %d endpoints", where,
                      PROKIT_BROKER_ENDPOINTS_MAX);
            free (copy);
            return -1;
        }
        if (!strstr (endpoint, "://")) {
            snprintf (why, why_size, "%s: '%s' is not an endpoint (tcp://host:port, ipc://path)",
                      where, endpoint);
            free (copy);
            return -1;
        }
        settings->bind[settings->bind_count++] = strdup (endpoint);
        added++;
    }
    free (copy);
    if (added == 0) {
        snprintf (why, why_size, "%s: bind names no endpoint", where);
        return -1;
    }
    return 0;
}

static bool
s_parse_level (const char *text, prokit_log_level_t *level)
{
    for (int candidate = PROKIT_LOG_ERROR; candidate <= PROKIT_LOG_DEBUG; candidate++)
        if (strcmp (text, prokit_log_level_name ((prokit_log_level_t) candidate)) == 0) {
            *level = (prokit_log_level_t) candidate;
            return true;
        }
    return false;
}

//  Apply one KEY = VALUE from WHERE. BIND_RESET says whether this source's
//  first bind replaces what lower sources gave.
static int
s_apply (settings_t *settings, const char *key, const char *value, const char *where,
         bool *bind_reset, char *why, size_t why_size)
{
    long long number;
    if (strcmp (key, "bind") == 0) {
        if (!*bind_reset) {
            s_clear_bind (settings);
            *bind_reset = true;
        }
        return s_add_bind (settings, value, why, why_size, where);
    }
    if (strcmp (key, "curve_cert") == 0)
        return s_replace (&settings->curve_cert, value);
    if (strcmp (key, "curve_allow") == 0)
        return s_replace (&settings->curve_allow, value);
    if (strcmp (key, "acl") == 0)
        return s_replace (&settings->acl, value);
    if (strcmp (key, "insecure") == 0) {
        if (s_parse_bool (value, &settings->insecure))
            return 0;
        snprintf (why, why_size, "%s: insecure must be true or false, not '%s'", where, value);
        return -1;
    }
    if (strcmp (key, "max_payload") == 0) {
        if (s_parse_int (value, 1, (long long) PROKIT_MAX_PAYLOAD_LIMIT, &number)) {
            settings->max_payload = (size_t) number;
            return 0;
        }
        snprintf (why, why_size, "%s: max_payload must be 1 .. 1073741824 bytes, not '%s'", where,
                  value);
        return -1;
    }
    if (strcmp (key, "heartbeat_ivl") == 0 || strcmp (key, "heartbeat_timeout") == 0) {
        if (!s_parse_int (value, 1, INT_MAX, &number)) {
            snprintf (why, why_size, "%s: %s must be a positive number of ms, not '%s'", where, key,
                      value);
            return -1;
        }
        if (key[10] == 'i')
            settings->heartbeat_ivl_ms = (int) number;
        else
            settings->heartbeat_timeout_ms = (int) number;
        return 0;
    }
    size_t *limit =
        strcmp (key, "max_windows") == 0               ? &settings->max_windows
        : strcmp (key, "max_requests_per_window") == 0 ? &settings->max_requests_per_window
        : strcmp (key, "max_messages_per_second") == 0 ? &settings->max_messages_per_second
        : strcmp (key, "max_pending_per_address") == 0 ? &settings->max_pending_per_address
        : strcmp (key, "max_windows_per_key") == 0     ? &settings->max_windows_per_key
                                                       : NULL;
    if (limit) {
        if (!s_parse_int (value, 0, INT_MAX, &number)) {
            snprintf (why, why_size, "%s: %s must be a number, 0 for the default, not '%s'", where,
                      key, value);
            return -1;
        }
        *limit = (size_t) number;
        return 0;
    }
    if (strcmp (key, "io_threads") == 0) {
        if (!s_parse_int (value, 0, 1024, &number)) {
            snprintf (why, why_size,
                      "%s: io_threads must be 0 .. 1024, 0 for the default, not '%s'", where,
                      value);
            return -1;
        }
        settings->io_threads = (int) number;
        return 0;
    }
    if (strcmp (key, "log_level") == 0) {
        if (s_parse_level (value, &settings->log_level))
            return 0;
        snprintf (why, why_size, "%s: log_level must be error, warn, info or debug, not '%s'",
                  where, value);
        return -1;
    }
    snprintf (why, why_size, "%s: unknown setting '%s'", where, key);
    return -1;
}

static int
s_apply_layer (settings_t *settings, const layer_t *layer, char *why, size_t why_size)
{
    bool bind_reset = false;
    for (size_t i = 0; i < layer->count; i++)
        if (s_apply (settings, layer->pairs[i].key, layer->pairs[i].value, layer->pairs[i].where,
                     &bind_reset, why, why_size) != 0) {
            if (!*why)
                snprintf (why, why_size, "out of memory");
            return -1;
        }
    return 0;
}

static char *
s_trim (char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    char *end = text + strlen (text);
    while (end > text && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
        *--end = 0;
    return text;
}

static int
s_read_file (layer_t *layer, const char *path, char *why, size_t why_size)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        snprintf (why, why_size, "cannot read config file %s: %s", path, strerror (errno));
        return -1;
    }
    char line[LINE_MAX_LENGTH];
    int line_no = 0;
    int rc = 0;
    char where[PATH_MAX + 32];
    while (rc == 0 && fgets (line, sizeof (line), file)) {
        line_no++;
        snprintf (where, sizeof (where), "%s:%d", path, line_no);
        char *text = s_trim (line);
        if (*text == 0 || *text == '#')
            continue;
        char *equals = strchr (text, '=');
        if (!equals) {
            snprintf (why, why_size, "%s: expected key = value", where);
            rc = -1;
            break;
        }
        *equals = 0;
        char *key = s_trim (text);
        char *value = s_trim (equals + 1);
        rc = s_layer_add (layer, key, value, where, why, why_size);
    }
    fclose (file);
    return rc;
}

static const struct {
    const char *variable;
    const char *key;
} s_environment[] = {
    { "PROKIT_BROKER_BIND", "bind" },
    { "PROKIT_BROKER_CURVE_CERT", "curve_cert" },
    { "PROKIT_BROKER_CURVE_ALLOW", "curve_allow" },
    { "PROKIT_BROKER_ACL", "acl" },
    { "PROKIT_BROKER_INSECURE", "insecure" },
    { "PROKIT_BROKER_MAX_PAYLOAD", "max_payload" },
    { "PROKIT_BROKER_HEARTBEAT_IVL", "heartbeat_ivl" },
    { "PROKIT_BROKER_HEARTBEAT_TIMEOUT", "heartbeat_timeout" },
    { "PROKIT_BROKER_MAX_WINDOWS", "max_windows" },
    { "PROKIT_BROKER_MAX_REQUESTS_PER_WINDOW", "max_requests_per_window" },
    { "PROKIT_BROKER_MAX_MESSAGES_PER_SECOND", "max_messages_per_second" },
    { "PROKIT_BROKER_MAX_PENDING_PER_ADDRESS", "max_pending_per_address" },
    { "PROKIT_BROKER_MAX_WINDOWS_PER_KEY", "max_windows_per_key" },
    { "PROKIT_BROKER_IO_THREADS", "io_threads" },
    { "PROKIT_LOG", "log_level" },
};

enum {
    OPT_CURVE_CERT = 256,
    OPT_CURVE_ALLOW,
    OPT_ACL,
    OPT_INSECURE,
    OPT_MAX_PAYLOAD,
    OPT_HEARTBEAT_IVL,
    OPT_HEARTBEAT_TIMEOUT,
    OPT_MAX_WINDOWS,
    OPT_MAX_REQUESTS,
    OPT_MAX_RATE,
    OPT_MAX_PENDING,
    OPT_MAX_PER_KEY,
    OPT_IO_THREADS,
    OPT_KEYGEN,
    OPT_PING,
    OPT_TIMEOUT,
    OPT_CLIENT_CERT,
    OPT_SERVER_KEY
};

settings_result_t
settings_load (settings_t *settings, int argc, char *argv[], char *why, size_t why_size)
{
    memset (settings, 0, sizeof (*settings));
    *why = 0;
    settings->log_level = PROKIT_LOG_INFO;
    static const struct option options[] = {
        { "bind", required_argument, NULL, 'b' },
        { "config", required_argument, NULL, 'c' },
        { "curve-cert", required_argument, NULL, OPT_CURVE_CERT },
        { "curve-allow", required_argument, NULL, OPT_CURVE_ALLOW },
        { "acl", required_argument, NULL, OPT_ACL },
        { "insecure", no_argument, NULL, OPT_INSECURE },
        { "max-payload", required_argument, NULL, OPT_MAX_PAYLOAD },
        { "heartbeat-ivl", required_argument, NULL, OPT_HEARTBEAT_IVL },
        { "heartbeat-timeout", required_argument, NULL, OPT_HEARTBEAT_TIMEOUT },
        { "max-windows", required_argument, NULL, OPT_MAX_WINDOWS },
        { "max-requests-per-window", required_argument, NULL, OPT_MAX_REQUESTS },
        { "max-messages-per-second", required_argument, NULL, OPT_MAX_RATE },
        { "max-pending-per-address", required_argument, NULL, OPT_MAX_PENDING },
        { "max-windows-per-key", required_argument, NULL, OPT_MAX_PER_KEY },
        { "io-threads", required_argument, NULL, OPT_IO_THREADS },
        { "log-level", required_argument, NULL, 'l' },
        { "keygen", required_argument, NULL, OPT_KEYGEN },
        { "ping", required_argument, NULL, OPT_PING },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "client-cert", required_argument, NULL, OPT_CLIENT_CERT },
        { "server-key", required_argument, NULL, OPT_SERVER_KEY },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    layer_t file = { .name = "config file" };
    layer_t environment = { .name = "environment" };
    layer_t command_line = { .name = "command line" };
    const char *config = NULL;
    const char *timeout = NULL;
    settings_result_t result = SETTINGS_ERROR;
    int rc = 0;
    opterr = 0;
    optind = 1;
    int option;
    while (rc == 0 && (option = getopt_long (argc, argv, "b:c:l:hV", options, NULL)) != -1) {
        switch (option) {
        case 'b': rc = s_layer_add (&command_line, "bind", optarg, "--bind", why, why_size); break;
        case 'c': config = optarg; break;
        case OPT_CURVE_CERT:
            rc = s_layer_add (&command_line, "curve_cert", optarg, "--curve-cert", why, why_size);
            break;
        case OPT_CURVE_ALLOW:
            rc = s_layer_add (&command_line, "curve_allow", optarg, "--curve-allow", why, why_size);
            break;
        case OPT_ACL:
            rc = s_layer_add (&command_line, "acl", optarg, "--acl", why, why_size);
            break;
        case OPT_INSECURE:
            rc = s_layer_add (&command_line, "insecure", "true", "--insecure", why, why_size);
            break;
        case OPT_MAX_PAYLOAD:
            rc = s_layer_add (&command_line, "max_payload", optarg, "--max-payload", why, why_size);
            break;
        case OPT_HEARTBEAT_IVL:
            rc = s_layer_add (&command_line, "heartbeat_ivl", optarg, "--heartbeat-ivl", why,
                              why_size);
            break;
        case OPT_HEARTBEAT_TIMEOUT:
            rc = s_layer_add (&command_line, "heartbeat_timeout", optarg, "--heartbeat-timeout",
                              why, why_size);
            break;
        case OPT_MAX_WINDOWS:
            rc = s_layer_add (&command_line, "max_windows", optarg, "--max-windows", why, why_size);
            break;
        case OPT_MAX_REQUESTS:
            rc = s_layer_add (&command_line, "max_requests_per_window", optarg,
                              "--max-requests-per-window", why, why_size);
            break;
        case OPT_MAX_RATE:
            rc = s_layer_add (&command_line, "max_messages_per_second", optarg,
                              "--max-messages-per-second", why, why_size);
            break;
        case OPT_MAX_PENDING:
            rc = s_layer_add (&command_line, "max_pending_per_address", optarg,
                              "--max-pending-per-address", why, why_size);
            break;
        case OPT_MAX_PER_KEY:
            rc = s_layer_add (&command_line, "max_windows_per_key", optarg, "--max-windows-per-key",
                              why, why_size);
            break;
        case OPT_IO_THREADS:
            rc = s_layer_add (&command_line, "io_threads", optarg, "--io-threads", why, why_size);
            break;
        case 'l':
            rc = s_layer_add (&command_line, "log_level", optarg, "--log-level", why, why_size);
            break;
        case OPT_KEYGEN: rc = s_replace (&settings->keygen, optarg); break;
        case OPT_PING: rc = s_replace (&settings->ping, optarg); break;
        case OPT_TIMEOUT: timeout = optarg; break;
        case OPT_CLIENT_CERT: rc = s_replace (&settings->client_cert, optarg); break;
        case OPT_SERVER_KEY: rc = s_replace (&settings->server_key, optarg); break;
        case 'h': result = SETTINGS_HELP; goto done;
        case 'V': result = SETTINGS_VERSION; goto done;
        default:
            if (optopt && optopt < 256 && strchr ("bcl", optopt))
                snprintf (why, why_size, "option -%c needs a value", optopt);
            else if (optind > 0 && optind <= argc)
                snprintf (why, why_size, "unknown option or missing value: '%s'", argv[optind - 1]);
            else
                snprintf (why, why_size, "bad option");
            goto done;
        }
    }
    if (rc != 0)
        goto done;
    if (optind < argc) {
        snprintf (why, why_size, "unexpected argument '%s'", argv[optind]);
        goto done;
    }
    if (settings->keygen && settings->ping) {
        snprintf (why, why_size, "--keygen and --ping are separate modes: give one");
        goto done;
    }
    long long number = 0;
    if (timeout && !s_parse_int (timeout, 1, INT_MAX, &number)) {
        snprintf (why, why_size, "--timeout must be a positive number of ms, not '%s'", timeout);
        goto done;
    }
    settings->timeout_ms = (int) number;
    if (settings->ping) {
        //  The probe is a client: it takes the client's variables.
        if (!settings->client_cert && getenv ("PROKIT_CURVE_CERT") &&
            s_replace (&settings->client_cert, getenv ("PROKIT_CURVE_CERT")) != 0)
            goto done;
        if (!settings->server_key && getenv ("PROKIT_CURVE_SERVER_KEY") &&
            s_replace (&settings->server_key, getenv ("PROKIT_CURVE_SERVER_KEY")) != 0)
            goto done;
        if (!settings->client_cert != !settings->server_key) {
            snprintf (why, why_size, "--ping over CURVE needs both --client-cert and --server-key");
            goto done;
        }
    }
    if (!config)
        config = getenv ("PROKIT_BROKER_CONFIG");
    if (config && *config && s_read_file (&file, config, why, why_size) != 0)
        goto done;
    for (size_t i = 0; i < sizeof (s_environment) / sizeof (s_environment[0]); i++) {
        const char *value = getenv (s_environment[i].variable);
        if (value && *value &&
            s_layer_add (&environment, s_environment[i].key, value, s_environment[i].variable, why,
                         why_size) != 0)
            goto done;
    }
    if (s_add_bind (settings, SETTINGS_DEFAULT_BIND, why, why_size, "default") != 0 ||
        s_apply_layer (settings, &file, why, why_size) != 0 ||
        s_apply_layer (settings, &environment, why, why_size) != 0 ||
        s_apply_layer (settings, &command_line, why, why_size) != 0)
        goto done;
    result = SETTINGS_OK;
done:
    s_layer_free (&file);
    s_layer_free (&environment);
    s_layer_free (&command_line);
    if (result == SETTINGS_ERROR && !*why)
        snprintf (why, why_size, "out of memory");
    if (result != SETTINGS_OK)
        settings_free (settings);
    return result;
}

void
settings_free (settings_t *settings)
{
    s_clear_bind (settings);
    free (settings->curve_cert);
    free (settings->curve_allow);
    free (settings->acl);
    free (settings->keygen);
    free (settings->ping);
    free (settings->client_cert);
    free (settings->server_key);
    memset (settings, 0, sizeof (*settings));
}
