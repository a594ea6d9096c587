/*  acl.c: the broker's access list (see acl.h). */
#include "acl.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curve.h"
#include "proto.h"

#define ACL_KEY_SIZE CURVE_KEY_TEXT
#define ACL_LINE_MAX 4096 //  longest line accepted
#define ACL_FILE_MAX (1 << 20)

typedef struct rule {
    char key[ACL_KEY_SIZE + 1];
    char *pattern; //  a window-name glob, or "@main"
    struct rule *next;
} rule_t;

struct acl {
    rule_t *rules;
    size_t keys;
};

static bool
s_key_valid (const char *key)
{
    return strcmp (key, ACL_LOCAL) == 0 || curve_is_key_text (key);
}

static bool
s_has_key (const acl_t *self, const char *key)
{
    for (const rule_t *rule = self->rules; rule; rule = rule->next)
        if (strcmp (rule->key, key) == 0)
            return true;
    return false;
}

static int
s_add (acl_t *self, const char *key, const char *pattern)
{
    rule_t *rule = (rule_t *) calloc (1, sizeof (*rule));
    if (!rule || !(rule->pattern = strdup (pattern))) {
        free (rule);
        return -1;
    }
    if (!s_has_key (self, key))
        self->keys++;
    strcpy (rule->key, key);
    rule->next = self->rules;
    self->rules = rule;
    return 0;
}

acl_t *
acl_parse (const char *text, char *error, size_t error_size)
{
    acl_t *self = (acl_t *) calloc (1, sizeof (*self));
    if (!self) {
        snprintf (error, error_size, "out of memory");
        return NULL;
    }
    int line_no = 0;
    const char *line = text;
    while (line && *line) {
        line_no++;
        const char *end = strchr (line, '\n');
        size_t length = end ? (size_t) (end - line) : strlen (line);
        if (length >= ACL_LINE_MAX) {
            snprintf (error, error_size, "line %d: longer than %d characters", line_no,
                      ACL_LINE_MAX - 1);
            acl_destroy (&self);
            return NULL;
        }
        char buffer[ACL_LINE_MAX];
        memcpy (buffer, line, length);
        buffer[length] = 0;
        char *save = NULL;
        char *key = strtok_r (buffer, " \t\r", &save);
        //  A comment starts with '#', which Z85 also uses: a first word that
        //  is a well-formed key is a key.
        bool comment = key && key[0] == '#' && !curve_is_key_text (key);
        if (key && !comment) {
            if (!s_key_valid (key)) {
                snprintf (error, error_size,
                          "line %d: '%.48s' is neither a 40-character Z85 public key nor "
                          "\"local\"",
                          line_no, key);
                acl_destroy (&self);
                return NULL;
            }
            int patterns = 0;
            for (char *pattern = strtok_r (NULL, " \t\r", &save); pattern;
                 pattern = strtok_r (NULL, " \t\r", &save)) {
                bool is_main = strcmp (pattern, PROTO_MAIN_NAME) == 0;
                if (!is_main && (pattern[0] == '@' || strlen (pattern) > PROTO_NAME_MAX)) {
                    snprintf (error, error_size,
                              "line %d: '%.48s' is not a window-name pattern (the main role is "
                              "written @main)",
                              line_no, pattern);
                    acl_destroy (&self);
                    return NULL;
                }
                if (s_add (self, key, pattern) != 0) {
                    snprintf (error, error_size, "out of memory");
                    acl_destroy (&self);
                    return NULL;
                }
                patterns++;
            }
            if (patterns == 0) {
                snprintf (error, error_size, "line %d: key without any name pattern", line_no);
                acl_destroy (&self);
                return NULL;
            }
        }
        line = end ? end + 1 : NULL;
    }
    return self;
}

acl_t *
acl_load (const char *path, char *error, size_t error_size)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        snprintf (error, error_size, "cannot open %s: %s", path, strerror (errno));
        return NULL;
    }
    char *text = (char *) malloc (ACL_FILE_MAX + 1);
    size_t size = text ? fread (text, 1, ACL_FILE_MAX + 1, file) : 0;
    bool failed = ferror (file) != 0;
    fclose (file);
    if (!text || failed || size > ACL_FILE_MAX) {
        snprintf (error, error_size, "%s: %s", path,
                  !text    ? "out of memory"
                  : failed ? "read error"
                           : "larger than 1 MiB");
        free (text);
        return NULL;
    }
    text[size] = 0;
    if (strlen (text) != size) {
        snprintf (error, error_size, "%s: contains a NUL byte", path);
        free (text);
        return NULL;
    }
    char detail[256];
    acl_t *self = acl_parse (text, detail, sizeof (detail));
    free (text);
    if (!self)
        snprintf (error, error_size, "%s: %s", path, detail);
    return self;
}

void
acl_destroy (acl_t **self_p)
{
    if (self_p && *self_p) {
        acl_t *self = *self_p;
        rule_t *rule = self->rules;
        while (rule) {
            rule_t *next = rule->next;
            free (rule->pattern);
            free (rule);
            rule = next;
        }
        free (self);
        *self_p = NULL;
    }
}

bool
acl_allows (const acl_t *self, const char *key, const char *name)
{
    if (!self || !name)
        return false;
    if (!key || !*key)
        key = ACL_LOCAL;
    bool is_main = strcmp (name, PROTO_MAIN_NAME) == 0;
    for (const rule_t *rule = self->rules; rule; rule = rule->next) {
        if (strcmp (rule->key, key) != 0)
            continue;
        bool rule_is_main = strcmp (rule->pattern, PROTO_MAIN_NAME) == 0;
        //  The main role is granted only by name: "*" matches every window
        //  and never main.
        if (is_main ? rule_is_main : (!rule_is_main && fnmatch (rule->pattern, name, 0) == 0))
            return true;
    }
    return false;
}

size_t
acl_size (const acl_t *self)
{
    return self ? self->keys : 0;
}
