/*  curve.h: CURVE keys for clients and the broker (private).

    Certificates are CZMQ's zcert files: PATH holds the public key, and
    PATH_secret the secret one too (prokit_curve_keygen() writes both).
*/
#ifndef PROKIT_CURVE_H_INCLUDED
#define PROKIT_CURVE_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

#include "prokit/broker.h"

//  libzmq monitor events that mean a security handshake was refused (a
//  key not allowed, no CURVE, the wrong server key).
#define CURVE_HANDSHAKE_FAILURES                                                                   \
    (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |                       \
     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)

//  Length of a key in Z85 text.
#define CURVE_KEY_TEXT 40
_Static_assert(CURVE_KEY_TEXT == PROKIT_CURVE_KEY_LEN, "a Z85 key is the API's length");

//  Is TEXT a public key in Z85 (40 characters of the alphabet)?
bool curve_is_key_text (const char *text);

//  Load the certificate at PATH with its secret key (PATH_secret, or PATH
//  itself when it holds the secret). NULL with WHY filled when it cannot be
//  read or has no secret key.
zcert_t *curve_load_secret (const char *path, char *why, size_t why_size);

//  Resolve a server key given as the path of a certificate file or as Z85
//  text (tried in that order) into OUT (41 bytes). False with WHY filled
//  when neither works.
bool curve_server_key (const char *given, char *out, char *why, size_t why_size);

//  Make SOCKET a CURVE client with CERT's keys, trusting SERVER_KEY (Z85).
void curve_apply_client (void *socket, zcert_t *cert, const char *server_key);

#endif
