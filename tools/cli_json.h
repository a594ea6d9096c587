/*  cli_json.h: JSON <-> MessagePack for the prokit command-line tool.

    JSON maps onto msgpack value for value: null, true/false, integers
    (int64, or uint64 above INT64_MAX), doubles, strings, arrays, objects
    (maps with string keys). What JSON lacks is written as an object with
    one "$"-key: {"$bin": "<base64>"} for msgpack bin (input and output),
    and {"$ext": <type>, "data": "<base64>"} for ext (output only). A map
    key that is not a string is written as its JSON text; NaN and the
    infinities, which JSON cannot write, as null.

    Input is strict JSON: json-c parses it, and what json-c would accept
    or change silently (single quotes, 1., 00, raw control characters in
    strings, integers beyond 64 bits, NaN, 1e999) is refused, with where.
    At most JSON_DEPTH_MAX levels of nesting: what msgpack-c can read back.
*/
#ifndef PROKIT_CLI_JSON_H_INCLUDED
#define PROKIT_CLI_JSON_H_INCLUDED

#include <stddef.h>

//  Arrays and objects nest at most this deep (json-c's tokener depth; the
//  msgpack-c unpacker reads no deeper than 32 containers).
#define CLI_JSON_DEPTH_MAX 32

//  Convert JSON TEXT into msgpack. Returns a malloc'ed buffer and its size
//  in *SIZE, or NULL with a message (saying where: line, column) in ERROR.
char *cli_json_to_msgpack (const char *text, size_t *size, char *error, size_t error_size);

//  Convert one msgpack value (DATA, SIZE bytes) into compact JSON text
//  (malloc'ed). NULL with a message in ERROR if it cannot: not one msgpack
//  value, or nested deeper than msgpack-c reads.
char *cli_msgpack_to_json (const void *data, size_t size, char *error, size_t error_size);

//  TEXT as a JSON string literal, quotes and escapes included (malloc'ed).
char *cli_json_quote (const char *text);

#endif
