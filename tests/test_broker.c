/*  test_broker.c: the router on its own (prokit_broker_t), main attached
    to it, CURVE keys and the access list, the health probe, key
    generation, and everyone rejoining a restarted broker. All on loopback
    in one process; tests/multihost.sh runs the same across hosts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "testutil.h"

//  --- keys on disk -------------------------------------------------------------

typedef struct keys {
    char dir[64];        //  a fresh temporary directory
    char allow[128];     //  dir/allow: public certificates the broker admits
    char acl[128];       //  dir/acl
    char broker[128];    //  dir/broker (+ _secret)
    char broker_key[41]; //  the broker's public key
    char main[128], work[128], render[128], stranger[128];
    char main_key[41], work_key[41], render_key[41], stranger_key[41];
} keys_t;

static void
s_copy (const char *from, const char *to)
{
    FILE *in = fopen (from, "r");
    FILE *out = fopen (to, "w");
    assert_non_null (in);
    assert_non_null (out);
    char buffer[4096];
    size_t n;
    while ((n = fread (buffer, 1, sizeof (buffer), in)) > 0)
        assert_int_equal (fwrite (buffer, 1, n, out), n);
    fclose (in);
    fclose (out);
}

static void
s_keygen (keys_t *keys, const char *name, char *path, char *key, bool allowed)
{
    snprintf (path, 128, "%s/%s", keys->dir, name);
    assert_int_equal (prokit_curve_keygen (path, key), PROKIT_OK);
    if (allowed) {
        char allowed_path[256];
        snprintf (allowed_path, sizeof (allowed_path), "%s/%s", keys->allow, name);
        s_copy (path, allowed_path);
    }
}

//  Keys for the broker, main, "work", "render-*" (all allowed) and a
//  stranger (not allowed), and an access list giving each its names.
static void
s_make_keys (keys_t *keys)
{
    memset (keys, 0, sizeof (*keys));
    strcpy (keys->dir, "/tmp/prokit-keys-XXXXXX");
    assert_non_null (mkdtemp (keys->dir));
    snprintf (keys->allow, sizeof (keys->allow), "%s/allow", keys->dir);
    assert_int_equal (mkdir (keys->allow, 0700), 0);
    s_keygen (keys, "broker", keys->broker, keys->broker_key, false);
    s_keygen (keys, "main", keys->main, keys->main_key, true);
    s_keygen (keys, "work", keys->work, keys->work_key, true);
    s_keygen (keys, "render", keys->render, keys->render_key, true);
    s_keygen (keys, "stranger", keys->stranger, keys->stranger_key, false);
    snprintf (keys->acl, sizeof (keys->acl), "%s/acl", keys->dir);
    FILE *acl = fopen (keys->acl, "w");
    assert_non_null (acl);
    fprintf (acl,
             "# who may claim what\n"
             "%s @main\n"
             "%s work\n"
             "%s render-* main\n",
             keys->main_key, keys->work_key, keys->render_key);
    fclose (acl);
}

static void
s_remove_keys (keys_t *keys)
{
    char command[256];
    snprintf (command, sizeof (command), "rm -rf '%s'", keys->dir);
    assert_int_equal (system (command), 0);
}

//  --- the parties ------------------------------------------------------------------

#define INBOX_MAX 16

typedef struct party {
    char inbox[INBOX_MAX][128]; //  "sender|text|b" for each message received
    int received;
    char reply[128]; //  the last reply's text or error
    int status;      //  the last reply's status
    bool replied;
    int lost, rejoined, refused;
    int lost_code; //  the last connection-lost event's
} party_t;

static void
s_on_message (const prokit_message_t *message, void *arg)
{
    party_t *party = (party_t *) arg;
    const char *text = prokit_payload_str (prokit_message_payload (message));
    if (party->received < INBOX_MAX)
        snprintf (party->inbox[party->received], 128, "%s|%s|%d", prokit_message_sender (message),
                  text ? text : "?", prokit_message_is_broadcast (message) ? 1 : 0);
    party->received++;
}

static void
s_on_reply (prokit_reply_t *reply, void *arg)
{
    party_t *party = (party_t *) arg;
    party->status = prokit_reply_status (reply);
    const char *text =
        party->status == PROKIT_OK ? prokit_reply_str (reply) : prokit_reply_error (reply);
    snprintf (party->reply, sizeof (party->reply), "%s", text ? text : "?");
    party->replied = true; //  REPLY is borrowed: the library frees it
}

static void
s_on_connection (prokit_connection_event_t event, int code, const char *text, void *arg)
{
    (void) text;
    party_t *party = (party_t *) arg;
    if (event == PROKIT_CONNECTION_LOST) {
        party->lost++;
        party->lost_code = code;
    }
    else if (event == PROKIT_CONNECTION_REJOINED)
        party->rejoined++;
    else
        party->refused++;
}

//  Answers "<who> got <text> from <sender>".
static prokit_payload_t *
s_answer (prokit_request_t *request, void *arg)
{
    const char *who = (const char *) arg;
    const char *text = prokit_payload_str (prokit_request_payload (request));
    return prokit_payload_new_printf ("%s got %s from %s", who, text ? text : "?",
                                      prokit_request_sender (request));
}

typedef struct {
    party_t *party;
    int received;
} wait_inbox_t;

static bool
s_inbox_reached (void *arg)
{
    wait_inbox_t *wait = (wait_inbox_t *) arg;
    return wait->party->received >= wait->received;
}

static bool
s_replied (void *arg)
{
    return ((party_t *) arg)->replied;
}

static prokit_window_t *
s_window (const char *name, const char *endpoint, const char *cert, const char *server_key,
          party_t *party, int *error)
{
    prokit_window_opts_t opts;
    prokit_window_opts_init (&opts);
    opts.endpoint = endpoint;
    opts.curve_cert = cert;
    opts.curve_server_key = server_key;
    opts.join_timeout_ms = 3000;
    prokit_window_t *window = prokit_window_new (name, &opts, error);
    if (window && party) {
        prokit_window_on_main_message (window, s_on_message, party);
        prokit_window_on_window_message (window, s_on_message, party);
        prokit_window_on_connection (window, s_on_connection, party);
        prokit_window_on_request (window, s_answer, (void *) prokit_window_name (window));
    }
    return window;
}

static prokit_main_t *
s_attach (const char *broker, const char *cert, const char *server_key, party_t *party, int *error)
{
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    opts.broker = broker;
    opts.curve_cert = cert;
    opts.curve_server_key = server_key;
    prokit_main_t *main = prokit_main_new (&opts, error);
    if (main && party) {
        prokit_main_on_request (main, s_answer, (void *) "main");
        prokit_main_on_connection (main, s_on_connection, party);
    }
    return main;
}

//  Every message kind between an attached main and two windows A and B:
//  request A -> main, send main -> A, broadcast main -> both, send A -> B,
//  request B -> A.
static void
s_exchange (prokit_main_t *main, prokit_window_t *a, party_t *pa, prokit_window_t *b, party_t *pb)
{
    tu_handle_t handles[] = { { main, NULL }, { NULL, a }, { NULL, b } };
    const char *a_name = prokit_window_name (a);
    const char *b_name = prokit_window_name (b);
    //  main learns of both windows from the broker's presence events
    int64_t deadline = tu_now_ms () + 5000;
    while (!(prokit_main_has_window (main, a_name) && prokit_main_has_window (main, b_name)) &&
           tu_now_ms () < deadline)
        prokit_main_run (main, 20);
    assert_true (prokit_main_has_window (main, a_name));

    prokit_payload_t *payload = prokit_payload_new_string ("ping");
    pa->replied = false;
    assert_int_equal (prokit_window_request (a, PROKIT_MAIN, &payload, 3000, s_on_reply, pa),
                      PROKIT_OK);
    assert_true (tu_pump (handles, 3, s_replied, pa, 5000));
    assert_int_equal (pa->status, PROKIT_OK);
    char expected[128];
    snprintf (expected, sizeof (expected), "main got ping from %s", a_name);
    assert_string_equal (pa->reply, expected);

    int a_before = pa->received, b_before = pb->received;
    payload = prokit_payload_new_string ("to-a");
    assert_int_equal (prokit_main_send (main, a_name, &payload), PROKIT_OK);
    wait_inbox_t wait_a = { pa, a_before + 1 };
    assert_true (tu_pump (handles, 3, s_inbox_reached, &wait_a, 5000));
    assert_string_equal (pa->inbox[a_before], "@main|to-a|0");

    payload = prokit_payload_new_string ("all");
    assert_int_equal (prokit_main_broadcast (main, &payload), PROKIT_OK);
    wait_a.received = a_before + 2;
    wait_inbox_t wait_b = { pb, b_before + 1 };
    assert_true (tu_pump (handles, 3, s_inbox_reached, &wait_a, 5000));
    assert_true (tu_pump (handles, 3, s_inbox_reached, &wait_b, 5000));
    assert_string_equal (pa->inbox[a_before + 1], "@main|all|1");
    assert_string_equal (pb->inbox[b_before], "@main|all|1");

    payload = prokit_payload_new_string ("hello-b");
    assert_int_equal (prokit_window_send (a, b_name, &payload), PROKIT_OK);
    wait_b.received = b_before + 2;
    assert_true (tu_pump (handles, 3, s_inbox_reached, &wait_b, 5000));
    snprintf (expected, sizeof (expected), "%s|hello-b|0", a_name);
    assert_string_equal (pb->inbox[b_before + 1], expected);

    payload = prokit_payload_new_string ("question");
    pb->replied = false;
    assert_int_equal (prokit_window_request (b, a_name, &payload, 3000, s_on_reply, pb), PROKIT_OK);
    assert_true (tu_pump (handles, 3, s_replied, pb, 5000));
    assert_int_equal (pb->status, PROKIT_OK);
    snprintf (expected, sizeof (expected), "%s got question from %s", a_name, b_name);
    assert_string_equal (pb->reply, expected);
}

static prokit_broker_t *
s_broker (const char *endpoint, const keys_t *keys, bool acl, int *error)
{
    prokit_broker_opts_t opts;
    prokit_broker_opts_init (&opts);
    opts.endpoints[0] = endpoint;
    opts.heartbeat_ivl_ms = 100;
    opts.heartbeat_timeout_ms = 1000;
    if (keys) {
        opts.curve_cert = keys->broker;
        opts.curve_allow = keys->allow;
        opts.acl = acl ? keys->acl : NULL;
    }
    return prokit_broker_new (&opts, error);
}

//  Fresh keys and a CURVE broker with the access list on a loopback port;
//  its endpoint in ENDPOINT (256 bytes).
static prokit_broker_t *
s_curve_broker (keys_t *keys, char *endpoint)
{
    s_make_keys (keys);
    int error = 0;
    prokit_broker_t *broker = s_broker ("tcp://127.0.0.1:*", keys, true, &error);
    assert_non_null (broker);
    snprintf (endpoint, 256, "%s", prokit_broker_endpoint (broker, 0));
    return broker;
}

//  --- tests ------------------------------------------------------------------------

static void
test_keygen (void **state)
{
    (void) state;
    keys_t keys;
    s_make_keys (&keys);
    struct stat info;
    char secret[160];
    snprintf (secret, sizeof (secret), "%s_secret", keys.work);
    assert_int_equal (stat (secret, &info), 0);
    assert_int_equal (info.st_mode & 0777, 0600);
    assert_int_equal (strlen (keys.work_key), PROKIT_CURVE_KEY_LEN);
    assert_string_not_equal (keys.work_key, keys.main_key);
    //  The public file carries the key printed.
    FILE *file = fopen (keys.work, "r");
    char text[1024] = "";
    assert_true (fread (text, 1, sizeof (text) - 1, file) > 0);
    fclose (file);
    assert_non_null (strstr (text, keys.work_key));
    assert_null (strstr (text, "secret-key"));
    //  Never overwrites; bad arguments.
    char key[41];
    assert_int_equal (prokit_curve_keygen (keys.work, key), PROKIT_EEXIST);
    assert_int_equal (prokit_curve_keygen (NULL, key), PROKIT_EINVAL);
    assert_int_equal (prokit_curve_keygen ("/nonexistent-dir/key", key), PROKIT_EACCES);
    s_remove_keys (&keys);
}

static void
test_broker_refuses_bad_options (void **state)
{
    (void) state;
    keys_t keys;
    s_make_keys (&keys);
    int error = 0;
    prokit_broker_opts_t opts;
    prokit_broker_opts_init (&opts);
    assert_null (prokit_broker_new (&opts, &error)); //  no endpoint
    assert_int_equal (error, PROKIT_EINVAL);
    assert_null (prokit_broker_new (NULL, &error));
    assert_int_equal (error, PROKIT_EINVAL);

    //  Plaintext TCP that other hosts could reach, unless insecure.
    opts.endpoints[0] = "tcp://0.0.0.0:*";
    assert_null (prokit_broker_new (&opts, &error));
    assert_int_equal (error, PROKIT_EACCES);
    opts.endpoints[0] = "tcp://*:*";
    assert_null (prokit_broker_new (&opts, &error));
    assert_int_equal (error, PROKIT_EACCES);
    opts.insecure = true;
    prokit_broker_t *broker = prokit_broker_new (&opts, &error);
    assert_non_null (broker);
    assert_null (prokit_broker_public_key (broker));
    prokit_broker_destroy (&broker);
    assert_null (broker);
    opts.insecure = false;

    //  CURVE needs the allowed keys; the directory must exist; the
    //  certificate must hold a secret key; an ACL needs known keys.
    opts.endpoints[0] = "tcp://127.0.0.1:*";
    opts.curve_cert = keys.broker;
    assert_null (prokit_broker_new (&opts, &error));
    assert_int_equal (error, PROKIT_EINVAL);
    opts.curve_allow = "/nonexistent-dir";
    assert_null (prokit_broker_new (&opts, &error));
    assert_int_equal (error, PROKIT_EINVAL);
    opts.curve_allow = "*";
    opts.acl = keys.acl;
    assert_null (prokit_broker_new (&opts, &error));
    assert_int_equal (error, PROKIT_EINVAL);
    opts.acl = NULL;
    char public_only[256];
    snprintf (public_only, sizeof (public_only), "%s/allow/main", keys.dir);
    opts.curve_cert = public_only;
    assert_null (prokit_broker_new (&opts, &error));
    assert_int_equal (error, PROKIT_EINVAL);
    opts.curve_cert = NULL;
    opts.curve_allow = keys.allow; //  allowed keys without a certificate
    assert_null (prokit_broker_new (&opts, &error));
    assert_int_equal (error, PROKIT_EINVAL);
    opts.curve_allow = NULL;

    //  An access list with a mistake is refused, not half-applied.
    char bad_acl[160];
    snprintf (bad_acl, sizeof (bad_acl), "%s/bad-acl", keys.dir);
    FILE *file = fopen (bad_acl, "w");
    fprintf (file, "%s work\nnot-a-key work\n", keys.work_key);
    fclose (file);
    opts.acl = bad_acl;
    assert_null (prokit_broker_new (&opts, &error));
    assert_int_equal (error, PROKIT_EINVAL);
    file = fopen (bad_acl, "w");
    fprintf (file, "%s\n", keys.work_key); //  a key with no names
    fclose (file);
    assert_null (prokit_broker_new (&opts, &error));
    assert_int_equal (error, PROKIT_EINVAL);
    file = fopen (bad_acl, "w");
    fprintf (file, "%s @other\n", keys.work_key); //  '@' names only the main role
    fclose (file);
    assert_null (prokit_broker_new (&opts, &error));
    assert_int_equal (error, PROKIT_EINVAL);
    opts.acl = "/nonexistent-acl";
    assert_null (prokit_broker_new (&opts, &error));
    assert_int_equal (error, PROKIT_EINVAL);

    //  A negative number of I/O threads.
    opts.acl = NULL;
    opts.endpoints[0] = "tcp://127.0.0.1:*";
    opts.io_threads = -1;
    assert_null (prokit_broker_new (&opts, &error));
    assert_int_equal (error, PROKIT_EINVAL);
    opts.io_threads = 0;

    //  Main takes an endpoint to bind or a broker, not both.
    prokit_main_opts_t main_opts;
    prokit_main_opts_init (&main_opts);
    main_opts.endpoint = "tcp://127.0.0.1:*";
    main_opts.io_threads = -1;
    assert_null (prokit_main_new (&main_opts, &error));
    assert_int_equal (error, PROKIT_EINVAL);
    main_opts.io_threads = 0;
    main_opts.endpoint = "tcp://127.0.0.1:*";
    main_opts.broker = "tcp://127.0.0.1:1";
    assert_null (prokit_main_new (&main_opts, &error));
    assert_int_equal (error, PROKIT_EINVAL);
    s_remove_keys (&keys);
}

//  A plaintext broker on loopback: main attaches, windows join, every
//  message kind flows; a second main is refused; counters count.
static void
test_attached_main_exchanges_every_kind (void **state)
{
    (void) state;
    int error = 0;
    prokit_broker_t *broker = s_broker ("tcp://127.0.0.1:*", NULL, false, &error);
    assert_non_null (broker);
    const char *endpoint = prokit_broker_endpoint (broker, 0);
    assert_non_null (endpoint);
    assert_null (prokit_broker_endpoint (broker, 1));
    assert_null (strstr (endpoint, "*"));

    party_t pm = { 0 }, pa = { 0 }, pb = { 0 };
    prokit_main_t *main = s_attach (endpoint, NULL, NULL, &pm, &error);
    assert_non_null (main);
    assert_true (prokit_main_is_attached (main));
    assert_true (prokit_main_is_connected (main));
    assert_string_equal (prokit_main_endpoint (main), endpoint);

    //  Only one main at a time.
    assert_null (s_attach (endpoint, NULL, NULL, NULL, &error));
    assert_int_equal (error, PROKIT_EEXIST);

    //  The seed's window called "main" is a window, not main.
    prokit_window_t *a = s_window ("main", endpoint, NULL, NULL, &pa, &error);
    assert_non_null (a);
    prokit_window_t *b = s_window ("work", endpoint, NULL, NULL, &pb, &error);
    assert_non_null (b);
    s_exchange (main, a, &pa, b, &pb);

    prokit_stats_t stats;
    assert_int_equal (prokit_broker_stats (broker, &stats, sizeof (stats)), PROKIT_OK);
    assert_int_equal (stats.windows, 2);
    assert_true (stats.routed >= 6);
    prokit_stats_t via_main;
    assert_int_equal (prokit_main_stats (main, &via_main, sizeof (via_main)), PROKIT_OK);
    assert_int_equal (via_main.windows, 2);
    assert_true (via_main.received >= stats.received);
    assert_int_equal (prokit_broker_stats (NULL, &stats, sizeof (stats)), PROKIT_EINVAL);

    //  Main leaving does not take the windows with it: they stay joined
    //  to the broker, and a new main sees them.
    prokit_main_destroy (&main);
    main = s_attach (endpoint, NULL, NULL, &pm, &error);
    assert_non_null (main);
    s_exchange (main, b, &pb, a, &pa);

    prokit_window_destroy (&a);
    prokit_window_destroy (&b);
    prokit_main_destroy (&main);
    prokit_broker_destroy (&broker);
    prokit_broker_destroy (&broker); //  NULL-safe
}

//  An attached main floods a window that reads nothing: the broker refuses
//  what is past the window's credit, reports it, and tells main to hold
//  back (FLOW); main's sends to it then fail at once with PROKIT_EAGAIN,
//  nothing sent, until it reads again. Counted: accepted = received +
//  reported.
typedef struct held_count {
    party_t *party;
    tu_undelivered_t *held;
    long accepted;
} held_count_t;

static bool
s_held_counted (void *arg)
{
    held_count_t *count = (held_count_t *) arg;
    return count->party->received + count->held->undelivered >= count->accepted;
}

static bool
s_main_sees_slow (void *arg)
{
    return prokit_main_has_window ((prokit_main_t *) arg, "slow");
}

static bool
s_never_done (void *arg)
{
    (void) arg;
    return false;
}

static void
test_attached_main_is_held_back_by_a_window_that_reads_nothing (void **state)
{
    (void) state;
    int error = 0;
    prokit_broker_t *broker = s_broker ("tcp://127.0.0.1:*", NULL, false, &error);
    assert_non_null (broker);
    const char *endpoint = prokit_broker_endpoint (broker, 0);
    party_t pm = { 0 }, ps = { 0 };
    prokit_main_t *main = s_attach (endpoint, NULL, NULL, &pm, &error);
    assert_non_null (main);
    tu_undelivered_t held = { 0, 0, 0 };
    prokit_main_on_undelivered (main, tu_log_undelivered, &held);
    prokit_window_t *slow = s_window ("slow", endpoint, NULL, NULL, &ps, &error);
    assert_non_null (slow);
    tu_handle_t main_only[] = { { main, NULL } };
    assert_true (tu_pump (main_only, 1, s_main_sees_slow, main, 5000));
    long accepted = 0, refused = 0;
    //  Far from filling main's own queue to the broker (10000): an
    //  EAGAIN here is the hold.
    for (long i = 0; i < 6000; i++) {
        prokit_payload_t *payload = prokit_payload_new_printf ("%ld", i);
        int rc = prokit_main_send (main, "slow", &payload);
        if (rc == PROKIT_OK)
            accepted++;
        else {
            assert_int_equal (rc, PROKIT_EAGAIN); //  held
            assert_non_null (payload);
            prokit_payload_destroy (&payload);
            refused++;
        }
        if (i % 500 == 499)
            tu_pump (main_only, 1, s_never_done, NULL, 0);
    }
    //  Every refusal in (all but the window's credit of 4000 it holds),
    //  and the hold with the first of them: held, refused at the send,
    //  nothing sent. (Without the hold, the send is accepted.)
    held_count_t count = { &ps, &held, accepted - 4000 };
    assert_true (tu_pump (main_only, 1, s_held_counted, &count, 10000));
    print_message ("attached main -> a window reading nothing: %ld accepted, %ld reported, %ld "
                   "refused at the send\n",
                   accepted, held.undelivered, refused);
    prokit_payload_t *payload = prokit_payload_new_string ("held");
    assert_int_equal (prokit_main_send (main, "slow", &payload), PROKIT_EAGAIN);
    assert_non_null (payload);
    prokit_payload_destroy (&payload);

    //  It reads: the hold is lifted, main's next message arrives, and
    //  every one accepted was received or reported.
    tu_handle_t both[] = { { main, NULL }, { NULL, slow } };
    count.accepted = accepted;
    assert_true (tu_pump (both, 2, s_held_counted, &count, 10000));
    payload = prokit_payload_new_string ("after");
    int64_t deadline = tu_now_ms () + 10000;
    int rc;
    while ((rc = prokit_main_send (main, "slow", &payload)) == PROKIT_EAGAIN &&
           tu_now_ms () < deadline)
        tu_pump (both, 2, s_never_done, NULL, 10);
    assert_int_equal (rc, PROKIT_OK);
    count.accepted = ++accepted;
    assert_true (tu_pump (both, 2, s_held_counted, &count, 10000));
    assert_int_equal (ps.received + held.undelivered, accepted);
    assert_int_equal (held.undelivered, held.eagain);
    assert_int_equal (ps.lost, 0);
    prokit_window_destroy (&slow);
    prokit_main_destroy (&main);
    prokit_broker_destroy (&broker);
}

//  CURVE with an access list: the allowed keys get their names and
//  exchange every kind; each attack is refused with PROKIT_EACCES.
static void
test_curve_and_access_list (void **state)
{
    (void) state;
    keys_t keys;
    int error = 0;
    char endpoint[256];
    prokit_broker_t *broker = s_curve_broker (&keys, endpoint);
    assert_string_equal (prokit_broker_public_key (broker), keys.broker_key);

    party_t pm = { 0 }, pa = { 0 }, pb = { 0 };
    //  The server key may be given as Z85 or as the broker's certificate.
    prokit_main_t *main = s_attach (endpoint, keys.main, keys.broker_key, &pm, &error);
    assert_non_null (main);
    prokit_window_t *work = s_window ("work", endpoint, keys.work, keys.broker, &pa, &error);
    assert_non_null (work);
    prokit_window_t *render =
        s_window ("render-1", endpoint, keys.render, keys.broker_key, &pb, &error);
    assert_non_null (render);
    s_exchange (main, work, &pa, render, &pb);

    //  A name the key is not allowed: refused, whatever the name's state.
    assert_null (s_window ("work2", endpoint, keys.work, keys.broker_key, NULL, &error));
    assert_int_equal (error, PROKIT_EACCES);
    assert_null (s_window ("render-1", endpoint, keys.work, keys.broker_key, NULL, &error));
    assert_int_equal (error, PROKIT_EACCES);
    //  A window key claiming the main role; a "*"-like glob never grants it.
    prokit_main_destroy (&main);
    assert_null (s_attach (endpoint, keys.render, keys.broker_key, NULL, &error));
    assert_int_equal (error, PROKIT_EACCES);
    //  The seed's window "main" is a window name, which render may claim.
    prokit_window_t *named_main =
        s_window ("main", endpoint, keys.render, keys.broker_key, NULL, &error);
    assert_non_null (named_main);
    prokit_window_destroy (&named_main);
    //  A key the broker does not know, and no key at all.
    assert_null (s_window ("work3", endpoint, keys.stranger, keys.broker_key, NULL, &error));
    assert_int_equal (error, PROKIT_EACCES);
    assert_null (s_window ("work", endpoint, NULL, NULL, NULL, &error));
    assert_int_equal (error, PROKIT_EACCES);
    //  A client that trusts the wrong broker key never gets in.
    assert_null (s_window ("work", endpoint, keys.work, keys.stranger_key, NULL, &error));
    assert_true (error == PROKIT_EACCES || error == PROKIT_ETIMEDOUT);
    //  A certificate path that is also 40 characters of Z85 is a path.
    char tricky[64];
    snprintf (tricky, sizeof (tricky), "/tmp/prokit-%d-", (int) getpid ());
    while (strlen (tricky) < PROKIT_CURVE_KEY_LEN)
        strcat (tricky, "x");
    s_copy (keys.broker, tricky);
    prokit_window_t *tricked = s_window ("render-9", endpoint, keys.render, tricky, NULL, &error);
    assert_non_null (tricked);
    prokit_window_destroy (&tricked);
    unlink (tricky);
    //  Half a CURVE setup, or a certificate without its secret key.
    assert_null (s_window ("work", endpoint, keys.work, NULL, NULL, &error));
    assert_int_equal (error, PROKIT_EINVAL);
    char public_only[256];
    snprintf (public_only, sizeof (public_only), "%s/work", keys.allow);
    assert_null (s_window ("work", endpoint, public_only, keys.broker_key, NULL, &error));
    assert_int_equal (error, PROKIT_EINVAL);
    assert_null (s_window ("work", endpoint, keys.work, "not-a-key", NULL, &error));
    assert_int_equal (error, PROKIT_EINVAL);

    //  The right main comes back and still sees both windows.
    main = s_attach (endpoint, keys.main, keys.broker_key, &pm, &error);
    assert_non_null (main);
    s_exchange (main, render, &pb, work, &pa);

    //  The health probe: plaintext is refused, a key gets an answer.
    double rtt = -1;
    assert_int_equal (prokit_ping (endpoint, NULL, NULL, 2000, &rtt), PROKIT_EACCES);
    assert_int_equal (prokit_ping (endpoint, keys.work, keys.broker_key, 2000, &rtt), PROKIT_OK);
    assert_true (rtt >= 0);
    assert_int_equal (prokit_ping (endpoint, keys.stranger, keys.broker_key, 2000, NULL),
                      PROKIT_EACCES);
    assert_int_equal (prokit_ping (endpoint, keys.work, NULL, 2000, NULL), PROKIT_EINVAL);

    prokit_window_destroy (&work);
    prokit_window_destroy (&render);
    prokit_main_destroy (&main);
    prokit_broker_destroy (&broker);
    s_remove_keys (&keys);
}

//  Signals that land on the broker's threads (an application's handler
//  without SA_RESTART, the test's own thread blocking them so that they
//  must go elsewhere) never stop CURVE authentication: a key the broker
//  does not know is still refused after a storm of them, a known one still
//  admitted. (libzmq lets any key in when no ZAP handler answers.)
static void
s_on_alarm (int signal)
{
    (void) signal;
}

static void
test_signals_never_open_the_broker (void **state)
{
    (void) state;
    keys_t keys;
    int error = 0;
    char endpoint[256];
    prokit_broker_t *broker = s_curve_broker (&keys, endpoint);

    struct sigaction action = { 0 }, before;
    action.sa_handler = s_on_alarm; //  no SA_RESTART
    sigemptyset (&action.sa_mask);
    sigaction (SIGALRM, &action, &before);
    sigset_t alarm, mask;
    sigemptyset (&alarm);
    sigaddset (&alarm, SIGALRM);
    pthread_sigmask (SIG_BLOCK, &alarm, &mask);
    struct itimerval every = { { 0, 200 }, { 0, 200 } }, off = { { 0, 0 }, { 0, 0 } };
    setitimer (ITIMER_REAL, &every, NULL);
    //  Each join is a CURVE handshake that asks ZAP.
    for (int i = 0; i < 10; i++) {
        prokit_window_t *work =
            s_window ("work", endpoint, keys.work, keys.broker_key, NULL, &error);
        assert_non_null (work);
        prokit_window_destroy (&work);
    }
    assert_null (s_window ("work3", endpoint, keys.stranger, keys.broker_key, NULL, &error));
    assert_int_equal (error, PROKIT_EACCES);
    prokit_window_t *work = s_window ("work", endpoint, keys.work, keys.broker_key, NULL, &error);
    assert_non_null (work);
    prokit_window_destroy (&work);
    setitimer (ITIMER_REAL, &off, NULL);
    pthread_sigmask (SIG_SETMASK, &mask, NULL);
    sigaction (SIGALRM, &before, NULL);

    prokit_broker_destroy (&broker);
    s_remove_keys (&keys);
}

static bool
s_lost (void *arg)
{
    return ((party_t *) arg)->lost > 0;
}

static bool
s_window_gone (void *arg)
{
    void **pair = (void **) arg;
    return !prokit_main_has_window ((prokit_main_t *) pair[0], (const char *) pair[1]);
}

static bool
s_window_there (void *arg)
{
    return !s_window_gone (arg);
}

//  Key rotation: after prokit_broker_reload(), a window whose certificate
//  left the allowed-keys directory, then one whose name the access list no
//  longer gives its key, are dropped with PROKIT_EACCES and cannot come
//  back; everyone else keeps their session. A broken access list changes
//  nothing.
static void
test_key_rotation (void **state)
{
    (void) state;
    keys_t keys;
    int error = 0;
    //  The same port after the restart: one no other test can be given.
    char endpoint[256];
    assert_true (tu_endpoint_rebindable (endpoint, sizeof (endpoint)));
    s_make_keys (&keys);
    prokit_broker_t *broker = s_broker (endpoint, &keys, true, &error);
    assert_non_null (broker);
    party_t pm = { 0 }, pa = { 0 }, pb = { 0 };
    prokit_main_t *main = s_attach (endpoint, keys.main, keys.broker_key, &pm, &error);
    prokit_window_t *work = s_window ("work", endpoint, keys.work, keys.broker_key, &pa, &error);
    prokit_window_t *render =
        s_window ("render-1", endpoint, keys.render, keys.broker_key, &pb, &error);
    assert_non_null (main);
    assert_non_null (work);
    assert_non_null (render);
    s_exchange (main, work, &pa, render, &pb);
    tu_handle_t handles[] = { { main, NULL }, { NULL, work }, { NULL, render } };

    //  Nothing changed: nobody is dropped.
    size_t dropped = 99;
    assert_int_equal (prokit_broker_reload (broker, &dropped), PROKIT_OK);
    assert_int_equal (dropped, 0);

    //  render's certificate leaves the directory.
    char path[256];
    snprintf (path, sizeof (path), "%s/render", keys.allow);
    assert_int_equal (unlink (path), 0);
    assert_int_equal (prokit_broker_reload (broker, &dropped), PROKIT_OK);
    assert_int_equal (dropped, 1);
    assert_true (tu_pump (handles, 3, s_lost, &pb, 5000));
    assert_int_equal (pb.lost_code, PROKIT_EACCES);
    assert_false (prokit_window_is_connected (render));
    void *gone[] = { main, (void *) "render-1" };
    assert_true (tu_pump (handles, 3, s_window_gone, gone, 5000));
    assert_null (s_window ("render-2", endpoint, keys.render, keys.broker_key, NULL, &error));
    assert_int_equal (error, PROKIT_EACCES);
    prokit_window_destroy (&render);

    //  The access list no longer gives "work" to work's key (it gets
    //  "work-2" instead).
    FILE *acl = fopen (keys.acl, "w");
    assert_non_null (acl);
    fprintf (acl, "%s @main\n%s work-2\n", keys.main_key, keys.work_key);
    fclose (acl);
    assert_int_equal (prokit_broker_reload (broker, &dropped), PROKIT_OK);
    assert_int_equal (dropped, 1);
    tu_handle_t two[] = { { main, NULL }, { NULL, work } };
    assert_true (tu_pump (two, 2, s_lost, &pa, 5000));
    assert_int_equal (pa.lost_code, PROKIT_EACCES);
    assert_null (s_window ("work", endpoint, keys.work, keys.broker_key, NULL, &error));
    assert_int_equal (error, PROKIT_EACCES);
    prokit_window_t *work2 = s_window ("work-2", endpoint, keys.work, keys.broker_key, &pb, &error);
    assert_non_null (work2);

    //  A broken access list is not taken: nobody is dropped.
    acl = fopen (keys.acl, "w");
    assert_non_null (acl);
    fprintf (acl, "this is not a key\n");
    fclose (acl);
    assert_int_equal (prokit_broker_reload (broker, &dropped), PROKIT_EINVAL);
    assert_int_equal (dropped, 0);
    assert_int_equal (prokit_broker_reload (NULL, NULL), PROKIT_EINVAL);

    //  Main kept its session all along, and still reaches work-2.
    assert_int_equal (pm.lost, 0);
    assert_true (prokit_main_is_connected (main));
    tu_handle_t last[] = { { main, NULL }, { NULL, work2 } };
    void *there[] = { main, (void *) "work-2" };
    assert_true (tu_pump (last, 2, s_window_there, there, 5000));
    prokit_payload_t *hello = prokit_payload_new_string ("still here");
    assert_int_equal (prokit_main_send (main, "work-2", &hello), PROKIT_OK);
    wait_inbox_t got = { &pb, pb.received + 1 };
    assert_true (tu_pump (last, 2, s_inbox_reached, &got, 5000));

    prokit_window_destroy (&work);
    prokit_window_destroy (&work2);
    prokit_main_destroy (&main);
    prokit_broker_destroy (&broker);
    s_remove_keys (&keys);
}

//  max_windows_per_key 1: render's key holds one window at a time; the
//  next claim with it gets PROKIT_ELIMIT, other keys are not affected,
//  and the place frees when that window leaves.
static void
test_windows_per_key_are_limited (void **state)
{
    (void) state;
    keys_t keys;
    s_make_keys (&keys);
    prokit_broker_opts_t opts;
    prokit_broker_opts_init (&opts);
    opts.endpoints[0] = "tcp://127.0.0.1:*";
    opts.curve_cert = keys.broker;
    opts.curve_allow = keys.allow;
    opts.acl = keys.acl;
    opts.max_windows_per_key = 1;
    int error = 0;
    prokit_broker_t *broker = prokit_broker_new (&opts, &error);
    assert_non_null (broker);
    char endpoint[256];
    snprintf (endpoint, sizeof (endpoint), "%s", prokit_broker_endpoint (broker, 0));
    prokit_window_t *one =
        s_window ("render-1", endpoint, keys.render, keys.broker_key, NULL, &error);
    assert_non_null (one);
    assert_null (s_window ("render-2", endpoint, keys.render, keys.broker_key, NULL, &error));
    assert_int_equal (error, PROKIT_ELIMIT);
    prokit_window_t *work = s_window ("work", endpoint, keys.work, keys.broker_key, NULL, &error);
    assert_non_null (work);
    prokit_stats_t stats;
    assert_int_equal (prokit_broker_stats (broker, &stats, sizeof (stats)), PROKIT_OK);
    assert_int_equal (stats.limited, 1);
    prokit_window_destroy (&one);
    prokit_window_t *two =
        s_window ("render-2", endpoint, keys.render, keys.broker_key, NULL, &error);
    assert_non_null (two);
    prokit_window_destroy (&two);
    prokit_window_destroy (&work);
    prokit_broker_destroy (&broker);
    s_remove_keys (&keys);
}

//  Without CURVE the access list governs keyless peers through "local".
static void
test_access_list_for_local_peers (void **state)
{
    (void) state;
    char path[] = "/tmp/prokit-acl-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    const char *rules = "local @main work\n";
    assert_int_equal (write (fd, rules, strlen (rules)), (ssize_t) strlen (rules));
    close (fd);
    char endpoint[256];
    tu_endpoint ("ipc", endpoint, sizeof (endpoint));
    prokit_broker_opts_t opts;
    prokit_broker_opts_init (&opts);
    opts.endpoints[0] = endpoint;
    opts.acl = path;
    int error = 0;
    prokit_broker_t *broker = prokit_broker_new (&opts, &error);
    assert_non_null (broker);
    prokit_main_t *main = s_attach (endpoint, NULL, NULL, NULL, &error);
    assert_non_null (main);
    prokit_window_t *work = s_window ("work", endpoint, NULL, NULL, NULL, &error);
    assert_non_null (work);
    assert_null (s_window ("other", endpoint, NULL, NULL, NULL, &error));
    assert_int_equal (error, PROKIT_EACCES);
    prokit_window_destroy (&work);
    prokit_main_destroy (&main);
    prokit_broker_destroy (&broker);
    unlink (path);
}

static void
test_ping (void **state)
{
    (void) state;
    int error = 0;
    char endpoint[256];
    tu_endpoint ("ipc", endpoint, sizeof (endpoint));
    prokit_broker_t *broker = s_broker (endpoint, NULL, false, &error);
    assert_non_null (broker);
    double rtt = -1;
    assert_int_equal (prokit_ping (endpoint, NULL, NULL, 2000, &rtt), PROKIT_OK);
    assert_true (rtt >= 0);
    //  A probe claims no name: nothing joined.
    prokit_stats_t stats;
    assert_int_equal (prokit_broker_stats (broker, &stats, sizeof (stats)), PROKIT_OK);
    assert_int_equal (stats.windows, 0);
    prokit_broker_destroy (&broker);
    //  Nobody there.
    assert_int_equal (prokit_ping (endpoint, NULL, NULL, 300, NULL), PROKIT_ETIMEDOUT);
    assert_int_equal (prokit_ping (NULL, NULL, NULL, 300, NULL), PROKIT_EINVAL);
    assert_int_equal (prokit_ping ("nonsense", NULL, NULL, 300, NULL), PROKIT_EINVAL);
    //  The endpoint a window would use, for probes that do not join.
    char resolved[256];
    assert_int_equal (prokit_endpoint_resolve (endpoint, NULL, resolved, sizeof (resolved)),
                      PROKIT_OK);
    assert_string_equal (resolved, endpoint);
    unsetenv ("PROKIT_ENDPOINT");
    assert_int_equal (prokit_endpoint_resolve (NULL, "probe-app", resolved, sizeof (resolved)),
                      PROKIT_OK);
    assert_non_null (strstr (resolved, "prokit-probe-app"));
    assert_int_equal (prokit_endpoint_resolve (NULL, "bad/app", resolved, sizeof (resolved)),
                      PROKIT_EINVAL);
    assert_int_equal (prokit_endpoint_resolve (endpoint, NULL, resolved, 4), PROKIT_EINVAL);
    assert_int_equal (prokit_endpoint_resolve (endpoint, NULL, NULL, 0), PROKIT_EINVAL);
    //  An embedded main's router answers too.
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    opts.endpoint = endpoint;
    prokit_main_t *main = prokit_main_new (&opts, &error);
    assert_non_null (main);
    assert_false (prokit_main_is_attached (main));
    assert_true (prokit_main_is_connected (main));
    assert_int_equal (prokit_ping (endpoint, NULL, NULL, 2000, NULL), PROKIT_OK);
    prokit_main_destroy (&main);
}

typedef struct {
    party_t *parties[3];
    int lost, rejoined;
} restart_wait_t;

static bool
s_all_rejoined (void *arg)
{
    restart_wait_t *wait = (restart_wait_t *) arg;
    for (int i = 0; i < 3; i++)
        if (wait->parties[i]->rejoined < wait->rejoined || wait->parties[i]->lost < wait->lost)
            return false;
    return true;
}

//  A broker or an embedded main made first in its process runs the libzmq
//  I/O threads it was asked for, and windows join it; one made after
//  prokit opened sockets in the process keeps the threads there are.
static void
test_io_threads (void **state)
{
    (void) state;
    char endpoint[256], line[512];
    tu_endpoint ("ipc", endpoint, sizeof (endpoint));
    char *broker_argv[] = { (char *) PROKIT_TEST_PEER, (char *) "broker", endpoint, (char *) "3",
                            NULL };
    char *main_argv[] = { (char *) PROKIT_TEST_PEER,
                          (char *) "main",
                          endpoint,
                          (char *) "0",
                          (char *) "0",
                          (char *) "0",
                          (char *) "4",
                          NULL };
    char *const *argvs[] = { broker_argv, main_argv };
    const char *expected[] = { "IO_THREADS 3", "IO_THREADS 4" };
    for (int i = 0; i < 2; i++) {
        tu_child_t child;
        assert_true (tu_spawn (&child, argvs[i]));
        assert_true (tu_read_line (&child, line, sizeof (line), 10000));
        assert_string_equal (line, expected[i]);
        assert_true (tu_read_line (&child, line, sizeof (line), 10000));
        assert_int_equal (strncmp (line, "READY ", 6), 0);
        prokit_window_t *windows[8];
        for (int w = 0; w < 8; w++) {
            char name[16];
            snprintf (name, sizeof (name), "w%d", w);
            windows[w] = tu_window_new (endpoint, name);
            assert_non_null (windows[w]);
        }
        for (int w = 0; w < 8; w++)
            prokit_window_destroy (&windows[w]);
        kill (child.pid, SIGTERM);
        assert_int_equal (tu_reap (&child, 10000), 0);
        tu_endpoint_remove (endpoint);
    }
    //  Here prokit has opened sockets already: the option is ignored (and
    //  logged), the main works with the threads the process has.
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    opts.endpoint = endpoint;
    opts.io_threads = 5;
    int error = 0;
    prokit_main_t *main = prokit_main_new (&opts, &error);
    assert_non_null (main);
    prokit_window_t *window = tu_window_new (endpoint, "late");
    assert_non_null (window);
    prokit_window_destroy (&window);
    prokit_main_destroy (&main);
    assert_int_equal (tu_io_threads (), 1);
}

//  The broker restarts on the same endpoint: main and the windows notice,
//  rejoin by themselves, and every kind flows again (over CURVE).
static void
test_broker_restart (void **state)
{
    (void) state;
    keys_t keys;
    int error = 0;
    char endpoint[256];
    prokit_broker_t *broker = s_curve_broker (&keys, endpoint);
    party_t pm = { 0 }, pa = { 0 }, pb = { 0 };
    prokit_main_t *main = s_attach (endpoint, keys.main, keys.broker_key, &pm, &error);
    prokit_window_t *work = s_window ("work", endpoint, keys.work, keys.broker_key, &pa, &error);
    prokit_window_t *render =
        s_window ("render-2", endpoint, keys.render, keys.broker_key, &pb, &error);
    assert_non_null (main);
    assert_non_null (work);
    assert_non_null (render);
    s_exchange (main, work, &pa, render, &pb);

    prokit_broker_destroy (&broker);
    broker = s_broker (endpoint, &keys, true, &error);
    assert_non_null (broker);
    tu_handle_t handles[] = { { main, NULL }, { NULL, work }, { NULL, render } };
    restart_wait_t wait = { { &pm, &pa, &pb }, 1, 1 };
    assert_true (tu_pump (handles, 3, s_all_rejoined, &wait, 15000));
    assert_false (prokit_main_has_window (main, "nobody"));
    s_exchange (main, work, &pa, render, &pb);

    prokit_window_destroy (&work);
    prokit_window_destroy (&render);
    prokit_main_destroy (&main);
    prokit_broker_destroy (&broker);
    s_remove_keys (&keys);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_keygen),
        cmocka_unit_test (test_broker_refuses_bad_options),
        cmocka_unit_test (test_attached_main_exchanges_every_kind),
        cmocka_unit_test (test_attached_main_is_held_back_by_a_window_that_reads_nothing),
        cmocka_unit_test (test_curve_and_access_list),
        cmocka_unit_test (test_signals_never_open_the_broker),
        cmocka_unit_test (test_access_list_for_local_peers),
        cmocka_unit_test (test_key_rotation),
        cmocka_unit_test (test_windows_per_key_are_limited),
        cmocka_unit_test (test_ping),
        cmocka_unit_test (test_io_threads),
        cmocka_unit_test (test_broker_restart),
    };
    return tu_run_tests (tests);
}
