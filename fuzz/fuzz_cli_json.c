/*  fuzz_cli_json.c: the command-line tool's JSON <-> MessagePack
    conversion (tools/cli_json.c).

    The first byte picks the direction:

        even  the rest, up to a NUL, is JSON as a user types it:
              cli_json_to_msgpack(); what it accepts must be one
              well-formed msgpack value that cli_msgpack_to_json() writes
              back and that converts again to the very same bytes
        odd   the rest is a payload as the tool receives it: taken only if
              pack_check() takes it (libprokit lets nothing else in), then
              written as JSON (cli_msgpack_to_json()), which need not read
              back (a str need not be UTF-8), but must not crash
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_json.h"
#include "pack.h"
#include "prokit/error.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf (stderr, "fuzz_cli_json: %s:%d: check failed: %s\n", __FILE__, __LINE__,       \
                     #cond);                                                                       \
            abort ();                                                                              \
        }                                                                                          \
    } while (0)

static void
s_from_json (const uint8_t *data, size_t size)
{
    char *text = (char *) malloc (size + 1);
    CHECK (text);
    memcpy (text, data, size);
    text[size] = 0;
    char error[256];
    size_t packed_size = 0;
    char *packed = cli_json_to_msgpack (text, &packed_size, error, sizeof (error));
    if (!packed) {
        CHECK (error[0]);
        free (text);
        return;
    }
    CHECK (pack_check (packed, packed_size) == PROKIT_OK);
    char *json = cli_msgpack_to_json (packed, packed_size, error, sizeof (error));
    if (!json) {
        fprintf (stderr, "fuzz_cli_json: accepted JSON not written back: %s\n", error);
        abort ();
    }
    size_t again_size = 0;
    char *again = cli_json_to_msgpack (json, &again_size, error, sizeof (error));
    if (!again || again_size != packed_size || memcmp (again, packed, packed_size) != 0) {
        fprintf (stderr,
                 "fuzz_cli_json: JSON -> msgpack -> JSON -> msgpack changed the value\n"
                 "  JSON written back: %s\n  %s\n",
                 json, again ? "(different bytes)" : error);
        abort ();
    }
    free (again);
    free (json);
    free (packed);
    free (text);
}

static void
s_to_json (const uint8_t *data, size_t size)
{
    if (pack_check (data, size) != PROKIT_OK)
        return;
    char error[256];
    char *json = cli_msgpack_to_json (data, size, error, sizeof (error));
    if (json) {
        size_t packed_size = 0;
        char *packed = cli_json_to_msgpack (json, &packed_size, error, sizeof (error));
        free (packed);
        char *quoted = cli_json_quote (json);
        CHECK (quoted);
        free (quoted);
    }
    else
        CHECK (error[0]);
    free (json);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    //  The rest as a block of its own: a read past it is a heap overflow.
    uint8_t *rest = (uint8_t *) malloc (size - 1 ? size - 1 : 1);
    CHECK (rest);
    memcpy (rest, data + 1, size - 1);
    if (data[0] % 2 == 0)
        s_from_json (rest, size - 1);
    else
        s_to_json (rest, size - 1);
    free (rest);
    return 0;
}
