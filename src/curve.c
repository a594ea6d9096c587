/*  curve.c: CURVE keys for clients and the broker (see curve.h). */
#include "curve.h"

#include <string.h>
#include <sys/stat.h>

bool
curve_is_key_text (const char *text)
{
    static const char z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              ".-:+=^!/*?&<>()[]{}@%$#";
    if (!text || strlen (text) != CURVE_KEY_TEXT)
        return false;
    for (const char *c = text; *c; c++)
        if (!strchr (z85, *c))
            return false;
    return true;
}

static bool
s_is_file (const char *path)
{
    struct stat info;
    return stat (path, &info) == 0 && S_ISREG (info.st_mode);
}

zcert_t *
curve_load_secret (const char *path, char *why, size_t why_size)
{
    //  zcert_load() prefers PATH_secret and falls back to PATH; say which
    //  is missing rather than letting a public-only file pass.
    char secret_path[1024];
    snprintf (secret_path, sizeof (secret_path), "%s_secret", path);
    if (!s_is_file (path) && !s_is_file (secret_path)) {
        snprintf (why, why_size, "certificate %s not found", path);
        return NULL;
    }
    zcert_t *cert = zcert_load (path);
    if (!cert) {
        snprintf (why, why_size, "%s is not a readable CURVE certificate", path);
        return NULL;
    }
    static const uint8_t zero[32] = { 0 };
    if (memcmp (zcert_secret_key (cert), zero, sizeof (zero)) == 0) {
        snprintf (why, why_size, "%s holds no secret key (give the _secret file or its pair)",
                  path);
        zcert_destroy (&cert);
        return NULL;
    }
    return cert;
}

bool
curve_server_key (const char *given, char *out, char *why, size_t why_size)
{
    //  A file first: a path can be 40 characters of Z85 too
    //  ("/tmp/prokit-multihost-gNHcbe/keys/broker" is).
    if (given && !s_is_file (given) && curve_is_key_text (given)) {
        memcpy (out, given, CURVE_KEY_TEXT + 1);
        return true;
    }
    if (!given || !s_is_file (given)) {
        snprintf (why, why_size,
                  "server key '%.48s' is neither a 40-character Z85 key nor a certificate file",
                  given ? given : "");
        return false;
    }
    zcert_t *cert = zcert_load (given);
    if (!cert) {
        snprintf (why, why_size, "%s is not a readable CURVE certificate", given);
        return false;
    }
    memcpy (out, zcert_public_txt (cert), CURVE_KEY_TEXT + 1);
    zcert_destroy (&cert);
    return true;
}

void
curve_apply_client (void *socket, zcert_t *cert, const char *server_key)
{
    zcert_apply (cert, socket);
    zsock_set_curve_serverkey (socket, server_key);
}
