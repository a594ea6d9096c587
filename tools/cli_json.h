/*  cli_json.h: JSON <-> MessagePack for the prokit command-line tool.

    JSON maps onto msgpack value for value: null, true/false, integers
    (int64, or uint64 above INT64_MAX), doubles, strings, arrays, objects
    (maps with string keys). What JSON lacks is written as an object with
    one "$"-key: {"$bin": "<base64>"} for msgpack bin, and
    {"$ext": <type>, "data": "<base64>"} for ext (output only). A map key
    that is not a string is written as its JSON text.
*/
#ifndef PROKIT_CLI_JSON_H_INCLUDED
#define PROKIT_CLI_JSON_H_INCLUDED

#include <stddef.h>

//  Convert JSON TEXT into msgpack. Returns a malloc'ed buffer and its size
//  in *SIZE, or NULL with a message (naming the offset of a syntax error)
//  in ERROR.
char *cli_json_to_msgpack (const char *text, size_t *size, char *error, size_t error_size);

//  Convert one msgpack value (DATA, SIZE bytes) into compact JSON text
//  (malloc'ed). NULL with a message in ERROR if it is not valid msgpack.
char *cli_msgpack_to_json (const void *data, size_t size, char *error, size_t error_size);

//  TEXT as a JSON string literal, quotes and escapes included (malloc'ed).
char *cli_json_quote (const char *text);

#endif
