/*  fuzz_acl.c: the broker's access-list parser (src/acl.c) on any text.

    The input, up to its first NUL (acl_load() refuses files with one), is
    parsed; a list that parses is asked about the keys it mentions and the
    names among its words that HELLO could claim (the only names the router
    asks about), and a few fixed ones, then freed. Checked: a refusal always
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

#define TOKENS_MAX 16

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
    //  The words of the text, as keys and as names to ask about.
    char *words = strdup (text);
    CHECK (words);
    const char *tokens[TOKENS_MAX];
    size_t count = 0;
    char *save = NULL;
    for (char *word = strtok_r (words, " \t\r\n", &save); word && count < TOKENS_MAX;
         word = strtok_r (NULL, " \t\r\n", &save))
        tokens[count++] = word;
    static const char *const names[] = { "work", "main", "render-1", "@main", "a", "" };
    static const char *const keys[] = { NULL, "", ACL_LOCAL };
    bool main_written = strstr (text, "@main") != NULL;
    for (size_t k = 0; k < count + 3; k++) {
        const char *key = k < 3 ? keys[k] : tokens[k - 3];
        for (size_t n = 0; n < count + 6; n++) {
            const char *name = n < 6 ? names[n] : tokens[n - 6];
            //  The router asks only about names HELLO may claim.
            if (n >= 6 && !proto_peer_name_valid (name, strlen (name)))
                continue;
            bool allowed = acl_allows (acl, key, name);
            if (strcmp (name, "@main") == 0)
                CHECK (!allowed || main_written);
        }
    }
    CHECK (count == TOKENS_MAX || acl_size (acl) <= count);
    CHECK (!acl_allows (NULL, "local", "work"));
    acl_destroy (&acl);
    CHECK (acl == NULL);
    free (words);
    free (text);
    return 0;
}
