/*  acl.h: which names a client key may claim (private).

    The broker's access list maps a CURVE public key to the window names
    it may claim (fnmatch patterns) and to the main role. It is read from a
    text file, one rule per line:

        # a comment: a line whose first word starts with '#' (and is not a key)
        <key> <pattern> [<pattern> ...]

    <key> is a client's public key in Z85 (40 characters), or the word
    "local" for connections that carry no key (ipc, plaintext loopback).
    A pattern is an fnmatch(3) glob over window names ("work", "render-*",
    "*"); the token "@main" grants the main role, which no glob matches.
    Several lines for the same key add up.
*/
#ifndef PROKIT_ACL_H_INCLUDED
#define PROKIT_ACL_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

typedef struct acl acl_t;

//  The key rules for connections without a CURVE key use.
#define ACL_LOCAL "local"

//  Parse the access list in TEXT. Returns NULL on a syntax error, with a
//  message naming the line in ERROR (of ERROR_SIZE bytes).
acl_t *acl_parse (const char *text, char *error, size_t error_size);

//  Read and parse the file at PATH; as acl_parse(), and NULL with a message
//  when it cannot be read.
acl_t *acl_load (const char *path, char *error, size_t error_size);

void acl_destroy (acl_t **self_p);

//  May KEY (Z85, or NULL / "" for a connection without one) claim NAME (a
//  window name or "@main")?
bool acl_allows (const acl_t *self, const char *key, const char *name);

//  Number of keys the list names.
size_t acl_size (const acl_t *self);

#endif
