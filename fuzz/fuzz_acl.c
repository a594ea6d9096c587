/*  fuzz_acl.c: the broker's access-list parser (src/acl.c) on any text.

    The input, up to its first NUL (acl_load() refuses files with one), is
    parsed; a list that parses is asked about the keys of its first lines
    and the first of its words that HELLO could claim (the only names the
    router asks about), and a few fixed ones, then freed. Checked: a refusal always
    says which line, and the main role is granted only by an "@main" the
    text contains (no glob reaches it).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "proto.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf (stderr, "fuzz_acl: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);    \
            abort ();                                                                              \
        }                                                                                          \
    } while (0)

#define QUERIES_MAX 8

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *text = (char *) malloc (size + 1);
    CHECK (text);
    memcpy (text, data, size);
    text[size] = 0;
    char error[256];
    error[0] = 0;
    acl_t *acl = acl_parse (text, error, sizeof (error));
    if (!acl) {
        CHECK (strncmp (error, "line ", 5) == 0 || strcmp (error, "out of memory") == 0);
        free (text);
        return 0;
    }
    //  The keys to ask about: the first word of each of the first lines;
    //  the names: the first words that HELLO could claim (the only names
    //  the router asks about). Bounded, so that a long list costs no more
    //  than a short one.
    char *words = strdup (text);
    CHECK (words);
    const char *keys[QUERIES_MAX + 3] = { NULL, "", ACL_LOCAL };
    const char *names[QUERIES_MAX + 6] = { "work", "main", "render-1", "@main", "a", "" };
    size_t key_count = 3, name_count = 6, words_seen = 0;
    char *line_save = NULL;
    for (char *line = strtok_r (words, "\n", &line_save); line && words_seen < 4 * QUERIES_MAX;
         line = strtok_r (NULL, "\n", &line_save)) {
        char *save = NULL;
        bool first = true;
        for (char *word = strtok_r (line, " \t\r", &save); word && words_seen++ < 4 * QUERIES_MAX;
             word = strtok_r (NULL, " \t\r", &save), first = false) {
            if (first && key_count < QUERIES_MAX + 3)
                keys[key_count++] = word;
            else if (!first && name_count < QUERIES_MAX + 6 &&
                     proto_peer_name_valid (word, strlen (word)))
                names[name_count++] = word;
        }
    }
    bool main_written = strstr (text, "@main") != NULL;
    for (size_t k = 0; k < key_count; k++)
        for (size_t n = 0; n < name_count; n++)
            if (acl_allows (acl, keys[k], names[n]) && strcmp (names[n], "@main") == 0)
                CHECK (main_written);
    CHECK (!acl_allows (NULL, "local", "work"));
    acl_destroy (&acl);
    CHECK (acl == NULL);
    free (words);
    free (text);
    return 0;
}
