/*  prokit/error.h: error codes and their text.

    Every prokit call that can fail returns an int: PROKIT_OK (0) or one of
    the negative PROKIT_E* codes below. The same numbers travel on the wire
    (docs/PROTOCOL.md), so an error raised in another process arrives as the
    same code, plus the text the other side gave. The values are part of the
    ABI and the protocol: they never change.

    Thread-safety: every function here is thread-safe.
*/
#ifndef PROKIT_ERROR_H_INCLUDED
#define PROKIT_ERROR_H_INCLUDED

#include "prokit/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum prokit_error {
    PROKIT_OK = 0,
    PROKIT_EINVAL = -1,      //  an argument is invalid (NULL, bad name, ...)
    PROKIT_ENOMEM = -2,      //  out of memory
    PROKIT_ENOTFOUND = -3,   //  no window (or main) of that name has joined
    PROKIT_EEXIST = -4,      //  the window name (or the main role) is taken
    PROKIT_ETIMEDOUT = -5,   //  no answer within the deadline
    PROKIT_ENOHANDLER = -6,  //  the receiver has no request handler
    PROKIT_EHANDLER = -7,    //  the receiver's handler reported a failure
    PROKIT_ECLOSED = -8,     //  the connection or the handle was closed
    PROKIT_ETOOBIG = -9,     //  the payload is larger than the limit
    PROKIT_EPROTO = -10,     //  a malformed message (frames, header, msgpack)
    PROKIT_EVERSION = -11,   //  the peer speaks another protocol version
    PROKIT_EAGAIN = -12,     //  a queue is full: nothing was sent, try again
    PROKIT_EACCES = -13,     //  the peer is not allowed to do that
    PROKIT_ETRANSPORT = -14, //  binding or connecting the endpoint failed
    PROKIT_ESPAWN = -15,     //  a window process could not be started
    PROKIT_EEXITED = -16,    //  a window process exited before it joined
    PROKIT_ENOFILE = -17,    //  out of file descriptors or sockets (ulimit -n)
    PROKIT_ELIMIT = -18,     //  a configured limit was reached (windows, requests, rate)
    PROKIT_ECANCELED = -19,  //  the request was cancelled by its requester
    //  Undelivered, as far as anyone can tell: the receiver (or the router)
    //  was lost before confirming the message, and may have taken it in
    PROKIT_EUNCONFIRMED = -20
} prokit_error_t;

//  Return a static, human-readable text for an error code (never NULL;
//  unknown codes give "unknown error").
PROKIT_EXPORT const char *prokit_strerror (int code);

//  Return the symbolic name of an error code, such as "PROKIT_ENOTFOUND"
//  (never NULL; unknown codes give "PROKIT_E?").
PROKIT_EXPORT const char *prokit_error_name (int code);

#ifdef __cplusplus
}
#endif

#endif
