/*  fuzz_proto.c: the wire codec (src/proto.c) on bytes from anywhere.

    The first byte picks what the rest is fed to:

        0, 1, 2   proto_decode() in each direction (to the router, to a
                  client, on the PUB channel), the rest cut into frames
                  as fuzz_input.h says (the frames of its first message)
        3 .. 13   one control-body decoder: HELLO, WELCOME, ERROR, RECEIPT,
                  CREDIT, JOINED/LEFT, QUERY, INFO "windows", INFO "stats",
                  the header, BYE
        14, 15    the name and topic checks
        16        the ACCOUNT decoder
        17        the TOOK decoder
        18        the FLOW decoder
        19        a BATCH's body: its entries, each decoded as a channel
                  message (the byte is taken modulo 20)

    Every frame is copied into a buffer of its own exact size, so that a
    read past a frame's end is a read past a heap block. Besides not
    crashing, whatever decodes must encode back to the same thing: a
    message, re-encoded in its version, decodes to the same command, id,
    peer and body; a control body, re-encoded, decodes to the same fields.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "prokit/error.h"
#include "proto.h"

#define MAX_PAYLOAD 1024 //  small, so that ETOOBIG is within reach
#define FRAMES_MAX 6     //  more than any message has

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf (stderr, "fuzz_proto: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);  \
            abort ();                                                                              \
        }                                                                                          \
    } while (0)

//  A heap copy of SIZE bytes at DATA, of exactly that size (1 byte for 0,
//  so that malloc never returns NULL for nothing).
static uint8_t *
s_copy (const void *data, size_t size)
{
    uint8_t *copy = (uint8_t *) malloc (size ? size : 1);
    CHECK (copy);
    if (size)
        memcpy (copy, data, size);
    return copy;
}

//  --- whole messages ----------------------------------------------------------

//  Encode MSG again in its own version and layout, decode that, and
//  compare.
static void
s_message_round_trip (const proto_msg_t *msg, proto_direction_t direction)
{
    proto_frame_t frames[3];
    size_t count;
    uint8_t header[PROTO_HEADER_SIZE];
    uint8_t *first = NULL;
    if (msg->version == PROTO_VERSION_1) {
        proto_header_encode (header, (proto_command_t) msg->command, msg->id);
        frames[0] = (proto_frame_t){ header, sizeof (header) };
        frames[1] = (proto_frame_t){ msg->peer, strlen (msg->peer) };
        frames[2] = (proto_frame_t){ msg->body, msg->body_size };
        count = 3;
    }
    else {
        first = (uint8_t *) malloc (PROTO_PREFIX_MAX + (msg->body_inline ? msg->body_size : 0));
        CHECK (first);
        size_t n = proto_prefix_encode (first, (proto_command_t) msg->command, msg->id, msg->peer);
        CHECK (n <= PROTO_PREFIX_MAX);
        if (msg->body_inline && msg->body_size)
            memcpy (first + n, msg->body, msg->body_size);
        frames[0] = (proto_frame_t){ first, n + (msg->body_inline ? msg->body_size : 0) };
        frames[1] = (proto_frame_t){ msg->body, msg->body_size };
        count = msg->body_inline ? 1 : 2;
    }
    proto_msg_t again;
    CHECK (proto_decode (frames, count, direction, MAX_PAYLOAD, &again) == PROKIT_OK);
    CHECK (again.version == msg->version);
    CHECK (again.command == msg->command);
    CHECK (again.id == msg->id);
    CHECK (strcmp (again.peer, msg->peer) == 0);
    CHECK (again.body_size == msg->body_size);
    CHECK (again.body_inline == msg->body_inline);
    CHECK (msg->body_size == 0 || memcmp (again.body, msg->body, msg->body_size) == 0);
    free (first);
}

static void
s_decode_message (const uint8_t *data, size_t size, proto_direction_t direction)
{
    proto_frame_t frames[FRAMES_MAX];
    uint8_t *copies[FRAMES_MAX];
    size_t count = 0;
    fuzz_reader_t reader = { data, data + size };
    fuzz_record_t record;
    while (count < FRAMES_MAX && fuzz_next (&reader, &record)) {
        copies[count] = s_copy (record.data, record.size);
        frames[count] = (proto_frame_t){ copies[count], record.size };
        count++;
        if (!(record.flags & FUZZ_MORE))
            break;
    }
    proto_msg_t msg;
    int rc = proto_decode (frames, count, direction, MAX_PAYLOAD, &msg);
    CHECK (rc == PROKIT_OK || rc == PROKIT_EPROTO || rc == PROKIT_EVERSION || rc == PROKIT_ETOOBIG);
    (void) proto_foreign (frames, count);
    (void) proto_command_name (msg.command);
    if (rc == PROKIT_OK) {
        //  What the router and the clients then rely on.
        CHECK (msg.version == PROTO_VERSION_1 || msg.version == PROTO_VERSION_2);
        CHECK (msg.command >= PROTO_HELLO && msg.command <= PROTO_COMMAND_LAST);
        CHECK (strlen (msg.peer) <= PROTO_NAME_MAX);
        CHECK (msg.peer[0] == 0 || proto_peer_name_valid (msg.peer, strlen (msg.peer)));
        CHECK (msg.body_frame < count);
        const uint8_t *frame = (const uint8_t *) frames[msg.body_frame].data;
        CHECK (
            msg.body_size == 0 ||
            (msg.body >= frame && msg.body + msg.body_size <= frame + frames[msg.body_frame].size));
        s_message_round_trip (&msg, direction);
    }
    for (size_t i = 0; i < count; i++)
        free (copies[i]);
}

//  --- control bodies ------------------------------------------------------------

//  A HELLO's "last_from", kept for a round trip (the first PROTO_FROM_MAX).
typedef struct {
    char names[PROTO_FROM_MAX][PROTO_NAME_MAX + 1];
    proto_from_t from[PROTO_FROM_MAX];
    size_t count;
    bool plain; //  no name cut short by a NUL
} froms_t;

static void
s_from (const char *name, uint64_t count, uint64_t first, void *arg)
{
    froms_t *froms = (froms_t *) arg;
    size_t len = strlen (name);
    CHECK (len <= PROTO_NAME_MAX);
    froms->plain = froms->plain && len > 0;
    if (froms->count < PROTO_FROM_MAX) {
        memcpy (froms->names[froms->count], name, len + 1);
        froms->from[froms->count] = (proto_from_t){ froms->names[froms->count], count, first };
        froms->count++;
    }
}

static void
s_hello (const uint8_t *body, size_t size)
{
    proto_hello_t hello, again;
    memset (&hello, 0, sizeof (hello));
    if (proto_hello_decode (body, size, &hello) != PROKIT_OK)
        return;
    //  Its senders: read as the router does, said again, read the same.
    froms_t *froms = (froms_t *) calloc (2, sizeof (froms_t));
    CHECK (froms);
    froms[0].plain = true;
    if (proto_hello_from_decode (body, size, s_from, &froms[0]) == PROKIT_OK && froms[0].plain) {
        hello.from = froms[0].from;
        hello.from_count = froms[0].count;
    }
    CHECK (hello.version >= 1);
    CHECK (strlen (hello.last.topic) <= PROTO_TOPIC_SIZE);
    uint8_t *out = (uint8_t *) malloc (PROTO_HELLO_BODY_MAX);
    CHECK (out);
    size_t n = proto_hello_encode (out, &hello);
    CHECK (n <= PROTO_HELLO_BODY_MAX);
    memset (&again, 0, sizeof (again));
    CHECK (proto_hello_decode (out, n, &again) == PROKIT_OK);
    CHECK (again.pid == hello.pid && again.presence == hello.presence &&
           again.shown == hello.shown && again.version == hello.version &&
           again.channel == hello.channel && again.credit == hello.credit &&
           strcmp (again.last.topic, hello.last.topic) == 0 &&
           again.last.count == hello.last.count && again.last.dealer == hello.last.dealer &&
           again.account == hello.account && again.took == hello.took);
    froms[1].plain = true;
    CHECK (proto_hello_from_decode (out, n, s_from, &froms[1]) == PROKIT_OK);
    CHECK (froms[1].count == hello.from_count);
    for (size_t i = 0; i < hello.from_count; i++)
        CHECK (strcmp (froms[1].names[i], froms[0].names[i]) == 0 &&
               froms[1].from[i].count == froms[0].from[i].count &&
               froms[1].from[i].first == froms[0].from[i].first);
    free (froms);
    free (out);
}

static void
s_welcome (const uint8_t *body, size_t size)
{
    proto_welcome_t welcome, again;
    memset (&welcome, 0, sizeof (welcome));
    if (proto_welcome_decode (body, size, &welcome) != PROKIT_OK)
        return;
    CHECK (welcome.version >= 1);
    CHECK (strlen (welcome.channel) < PROTO_CHANNEL_MAX);
    CHECK (welcome.topic[0] == 0 || strlen (welcome.topic) == PROTO_TOPIC_SIZE);
    CHECK (strlen (welcome.instance) <= PROTO_TOPIC_SIZE);
    uint8_t *out = (uint8_t *) malloc (PROTO_WELCOME_BODY_MAX);
    CHECK (out);
    size_t n = proto_welcome_encode (out, &welcome);
    CHECK (n <= PROTO_WELCOME_BODY_MAX);
    memset (&again, 0, sizeof (again));
    CHECK (proto_welcome_decode (out, n, &again) == PROKIT_OK);
    //  The channel and topic travel only together, and only both non-empty.
    bool channel = welcome.channel[0] && welcome.topic[0];
    CHECK (again.max_payload == welcome.max_payload && again.heartbeat_ms == welcome.heartbeat_ms &&
           again.version == welcome.version && strcmp (again.instance, welcome.instance) == 0 &&
           strcmp (again.channel, channel ? welcome.channel : "") == 0 &&
           strcmp (again.topic, channel ? welcome.topic : "") == 0 &&
           again.account == welcome.account);
    free (out);
}

static void
s_error (const uint8_t *body, size_t size)
{
    proto_error_t error, again;
    if (proto_error_decode (body, size, &error) != PROKIT_OK)
        return;
    CHECK (error.code < 0);
    CHECK (strlen (error.text) <= PROTO_ERROR_TEXT_MAX);
    uint8_t *out = (uint8_t *) malloc (PROTO_ERROR_BODY_MAX);
    CHECK (out);
    size_t n = proto_error_encode (out, error.code, error.text, error.app_code);
    CHECK (n <= PROTO_ERROR_BODY_MAX);
    CHECK (proto_error_decode (out, n, &again) == PROKIT_OK);
    CHECK (again.code == error.code && again.app_code == error.app_code &&
           strcmp (again.text, error.text) == 0);
    free (out);
}

typedef struct {
    proto_receipt_entry_t entries[PROTO_RECEIPT_PAIRS];
    char storage[PROTO_RECEIPT_PAIRS][PROTO_NAME_MAX + 1];
    char tokens[PROTO_RECEIPT_PAIRS][PROTO_TOPIC_SIZE + 1];
    size_t count;
    size_t calls;
} receipts_t;

static void
s_receipt_pair (const char *name, uint64_t count, void *arg)
{
    receipts_t *receipts = (receipts_t *) arg;
    size_t len = strlen (name); //  0 for a key that starts with a NUL
    CHECK (len <= PROTO_NAME_MAX);
    receipts->calls++;
    if (receipts->count < PROTO_RECEIPT_PAIRS) {
        memcpy (receipts->storage[receipts->count], name, len + 1);
        receipts->entries[receipts->count] =
            (proto_receipt_entry_t){ receipts->storage[receipts->count], count, NULL, 0, 0 };
        receipts->count++;
    }
}

//  The session named with the entry just read (same name, called after it).
static void
s_receipt_session (const char *name, uint64_t queued, const char *token, uint64_t session_queued,
                   void *arg)
{
    receipts_t *receipts = (receipts_t *) arg;
    CHECK (strlen (token) == PROTO_TOPIC_SIZE);
    if (receipts->count == 0 || receipts->count > PROTO_RECEIPT_PAIRS)
        return;
    proto_receipt_entry_t *entry = &receipts->entries[receipts->count - 1];
    CHECK (strcmp (entry->name, name) == 0 && entry->count <= queued);
    memcpy (receipts->tokens[receipts->count - 1], token, PROTO_TOPIC_SIZE + 1);
    entry->token = receipts->tokens[receipts->count - 1];
    entry->queued = queued;
    entry->session_queued = session_queued;
}

static void
s_receipt (const uint8_t *body, size_t size)
{
    receipts_t *first = (receipts_t *) calloc (1, sizeof (receipts_t));
    receipts_t *again = (receipts_t *) calloc (1, sizeof (receipts_t));
    CHECK (first && again);
    if (proto_receipt_decode (body, size, s_receipt_pair, s_receipt_session, first) == PROKIT_OK) {
        //  Names with a NUL inside are cut there by the callback's C
        //  string: the round trip holds for those without.
        bool plain = true;
        for (size_t i = 0; i < first->count; i++)
            plain = plain && first->storage[i][0];
        if (!plain) {
            free (first);
            free (again);
            return;
        }
        uint8_t *out = (uint8_t *) malloc (PROTO_RECEIPT_BODY_MAX);
        CHECK (out);
        size_t n = proto_receipt_encode (out, first->entries, first->count);
        CHECK (n <= PROTO_RECEIPT_BODY_MAX);
        CHECK (proto_receipt_decode (out, n, s_receipt_pair, s_receipt_session, again) ==
               PROKIT_OK);
        CHECK (again->count == first->count);
        for (size_t i = 0; i < first->count; i++) {
            const proto_receipt_entry_t *a = &again->entries[i], *f = &first->entries[i];
            CHECK (strcmp (again->storage[i], first->storage[i]) == 0 && a->count == f->count &&
                   !a->token == !f->token &&
                   (!f->token || (strcmp (a->token, f->token) == 0 && a->queued == f->queued &&
                                  a->session_queued == f->session_queued)));
        }
        free (out);
    }
    free (first);
    free (again);
}

typedef struct {
    char storage[PROTO_ACCOUNT_WINDOWS][PROTO_NAME_MAX + 1];
    char tokens[PROTO_ACCOUNT_WINDOWS][PROTO_TOPIC_SIZE + 1];
    proto_account_window_t windows[PROTO_ACCOUNT_WINDOWS];
    size_t count;
    bool plain; //  no name cut short by a NUL
} accounts_t;

static void
s_account_window (const char *name, uint64_t published, uint64_t settled, void *arg)
{
    accounts_t *accounts = (accounts_t *) arg;
    size_t len = strlen (name);
    CHECK (len <= PROTO_NAME_MAX);
    accounts->plain = accounts->plain && len > 0;
    if (accounts->count < PROTO_ACCOUNT_WINDOWS) {
        memcpy (accounts->storage[accounts->count], name, len + 1);
        accounts->windows[accounts->count] =
            (proto_account_window_t){ accounts->storage[accounts->count], published, settled, NULL,
                                      0 };
        accounts->count++;
    }
}

//  A window's session: given to the first window of that name listed.
static void
s_account_session (const char *name, const char *token, uint64_t published, void *arg)
{
    accounts_t *accounts = (accounts_t *) arg;
    CHECK (strlen (token) == PROTO_TOPIC_SIZE);
    for (size_t i = 0; i < accounts->count; i++)
        if (strcmp (accounts->storage[i], name) == 0) {
            memcpy (accounts->tokens[i], token, PROTO_TOPIC_SIZE + 1);
            accounts->windows[i].token = accounts->tokens[i];
            accounts->windows[i].session_published = published;
            return;
        }
}

static void
s_account (const uint8_t *body, size_t size)
{
    accounts_t *first = (accounts_t *) calloc (1, sizeof (accounts_t));
    accounts_t *again = (accounts_t *) calloc (1, sizeof (accounts_t));
    CHECK (first && again);
    first->plain = again->plain = true;
    uint64_t handled = 0, handled_again = 0;
    if (proto_account_decode (body, size, &handled, s_account_window, s_account_session, first) ==
            PROKIT_OK &&
        first->plain) {
        uint8_t *out = (uint8_t *) malloc (PROTO_ACCOUNT_BODY_MAX);
        CHECK (out);
        size_t n = proto_account_encode (out, handled, first->windows, first->count);
        CHECK (n <= PROTO_ACCOUNT_BODY_MAX);
        CHECK (proto_account_decode (out, n, &handled_again, s_account_window, s_account_session,
                                     again) == PROKIT_OK);
        CHECK (handled_again == handled && again->count == first->count);
        for (size_t i = 0; i < first->count; i++)
            CHECK (strcmp (again->storage[i], first->storage[i]) == 0 &&
                   again->windows[i].published == first->windows[i].published &&
                   again->windows[i].settled == first->windows[i].settled &&
                   !again->windows[i].token == !first->windows[i].token &&
                   (!first->windows[i].token ||
                    (strcmp (again->tokens[i], first->tokens[i]) == 0 &&
                     again->windows[i].session_published == first->windows[i].session_published)));
        free (out);
    }
    free (first);
    free (again);
}

static void
s_credit (const uint8_t *body, size_t size)
{
    proto_credit_t credit, again;
    if (proto_credit_decode (body, size, &credit) != PROKIT_OK)
        return;
    uint8_t *out = (uint8_t *) malloc (PROTO_CREDIT_BODY_MAX);
    CHECK (out);
    size_t n = proto_credit_encode (out, &credit);
    CHECK (n <= PROTO_CREDIT_BODY_MAX);
    CHECK (proto_credit_decode (out, n, &again) == PROKIT_OK);
    CHECK (again.consumed == credit.consumed && again.channel == credit.channel);
    free (out);
}

static void
s_presence (const uint8_t *body, size_t size)
{
    proto_presence_t presence, again;
    memset (&presence, 0, sizeof (presence));
    if (proto_presence_decode (body, size, &presence) != PROKIT_OK)
        return;
    CHECK (strlen (presence.address) < sizeof (presence.address));
    CHECK (strlen (presence.reason) < sizeof (presence.reason));
    uint8_t *out = (uint8_t *) malloc (PROTO_PRESENCE_BODY_MAX);
    CHECK (out);
    size_t n = proto_presence_encode (out, &presence);
    CHECK (n <= PROTO_PRESENCE_BODY_MAX);
    memset (&again, 0, sizeof (again));
    CHECK (proto_presence_decode (out, n, &again) == PROKIT_OK);
    CHECK (again.pid == presence.pid && strcmp (again.address, presence.address) == 0 &&
           strcmp (again.reason, presence.reason) == 0 && again.shown == presence.shown &&
           again.joined_at == presence.joined_at &&
           strcmp (again.last_token, presence.last_token) == 0 &&
           again.last_count == presence.last_count);
    free (out);
}

static void
s_query (const uint8_t *body, size_t size)
{
    char what[PROTO_QUERY_WHAT_MAX], again[PROTO_QUERY_WHAT_MAX];
    if (proto_query_decode (body, size, what) != PROKIT_OK)
        return;
    CHECK (strlen (what) < PROTO_QUERY_WHAT_MAX);
    uint8_t *out = (uint8_t *) malloc (PROTO_QUERY_BODY_MAX);
    CHECK (out);
    size_t n = proto_query_encode (out, what);
    CHECK (n <= PROTO_QUERY_BODY_MAX);
    CHECK (proto_query_decode (out, n, again) == PROKIT_OK);
    CHECK (strcmp (again, what) == 0);
    free (out);
}

#define INFOS_CAPACITY 4

static void
s_window_infos (const uint8_t *body, size_t size)
{
    proto_window_info_t infos[INFOS_CAPACITY];
    size_t count = 0;
    if (proto_window_infos_decode (body, size, infos, INFOS_CAPACITY, &count) != PROKIT_OK)
        return;
    size_t kept = count < INFOS_CAPACITY ? count : INFOS_CAPACITY;
    //  The kept entries, encoded as the router writes INFO, decode the same.
    uint8_t *out = (uint8_t *) malloc (5 + INFOS_CAPACITY * PROTO_WINDOW_INFO_MAX);
    CHECK (out);
    size_t n = 0;
    out[n++] = (uint8_t) (0x90 | kept);
    for (size_t i = 0; i < kept; i++) {
        CHECK (strlen (infos[i].name) <= PROTO_NAME_MAX);
        CHECK (strlen (infos[i].address) < sizeof (infos[i].address));
        size_t one = proto_window_info_encode (out + n, &infos[i]);
        CHECK (one <= PROTO_WINDOW_INFO_MAX);
        n += one;
    }
    proto_window_info_t again[INFOS_CAPACITY];
    size_t again_count = 0;
    CHECK (proto_window_infos_decode (out, n, again, INFOS_CAPACITY, &again_count) == PROKIT_OK);
    CHECK (again_count == kept);
    for (size_t i = 0; i < kept; i++)
        CHECK (strcmp (again[i].name, infos[i].name) == 0 && again[i].pid == infos[i].pid &&
               strcmp (again[i].address, infos[i].address) == 0 &&
               again[i].shown == infos[i].shown && again[i].joined_at == infos[i].joined_at &&
               again[i].last_seen == infos[i].last_seen);
    free (out);
}

static void
s_counters (const uint8_t *body, size_t size)
{
    uint64_t values[PROTO_COUNTERS], again[PROTO_COUNTERS];
    if (proto_counters_decode (body, size, proto_counter_names, values, PROTO_COUNTERS) !=
        PROKIT_OK)
        return;
    uint8_t *out = (uint8_t *) malloc (PROTO_COUNTERS_MAX);
    CHECK (out);
    size_t n = proto_counters_encode (out, proto_counter_names, values, PROTO_COUNTERS);
    CHECK (n <= PROTO_COUNTERS_MAX);
    CHECK (proto_counters_decode (out, n, proto_counter_names, again, PROTO_COUNTERS) == PROKIT_OK);
    CHECK (memcmp (values, again, sizeof (values)) == 0);
    free (out);
}

static void
s_header (const uint8_t *data, size_t size)
{
    uint8_t command;
    uint64_t id;
    int rc = proto_header_decode (data, size, &command, &id);
    CHECK (rc == PROKIT_OK || rc == PROKIT_EPROTO || rc == PROKIT_EVERSION);
    if (rc != PROKIT_OK)
        return;
    CHECK (command >= PROTO_HELLO && command <= PROTO_COMMAND_LAST);
    CHECK (data[2] == PROTO_VERSION_1 || data[2] == PROTO_VERSION_2);
    if (data[2] == PROTO_VERSION_1) {
        uint8_t out[PROTO_HEADER_SIZE];
        proto_header_encode (out, (proto_command_t) command, id);
        CHECK (memcmp (out, data, PROTO_HEADER_SIZE) == 0);
    }
}

static void
s_bye (const uint8_t *body, size_t size)
{
    proto_bye_t bye, again;
    if (proto_bye_decode (body, size, &bye) != PROKIT_OK)
        return;
    CHECK (strlen (bye.last.topic) <= PROTO_TOPIC_SIZE);
    uint8_t *out = (uint8_t *) malloc (PROTO_BYE_BODY_MAX);
    CHECK (out);
    size_t n = proto_bye_encode (out, &bye);
    CHECK (n <= PROTO_BYE_BODY_MAX);
    CHECK (proto_bye_decode (out, n, &again) == PROKIT_OK);
    CHECK (strcmp (again.last.topic, bye.last.topic) == 0 && again.counted == bye.counted &&
           again.dealer_counted == bye.dealer_counted && again.rejoin == bye.rejoin &&
           (!bye.counted || again.last.count == bye.last.count) &&
           (!bye.dealer_counted || again.last.dealer == bye.last.dealer));
    free (out);
}

static void
s_took (const uint8_t *body, size_t size)
{
    proto_took_t took, again;
    if (proto_took_decode (body, size, &took) != PROKIT_OK)
        return;
    CHECK (strlen (took.token) <= PROTO_TOPIC_SIZE);
    uint8_t *out = (uint8_t *) malloc (PROTO_TOOK_BODY_MAX);
    CHECK (out);
    size_t n = proto_took_encode (out, &took);
    CHECK (n <= PROTO_TOOK_BODY_MAX);
    CHECK (proto_took_decode (out, n, &again) == PROKIT_OK);
    CHECK (strcmp (again.token, took.token) == 0 && again.count == took.count &&
           again.first == took.first);
    free (out);
}

static void
s_flow (const uint8_t *body, size_t size)
{
    bool hold, again;
    if (proto_flow_decode (body, size, &hold) != PROKIT_OK)
        return;
    uint8_t out[PROTO_FLOW_BODY_MAX];
    size_t n = proto_flow_encode (out, hold);
    CHECK (n <= PROTO_FLOW_BODY_MAX);
    CHECK (proto_flow_decode (out, n, &again) == PROKIT_OK && again == hold);
}

//  A BATCH's body: every entry proto_batch_next() gives lies within it,
//  after the last, and one that decodes encodes back to the same thing.
static void
s_batch (const uint8_t *body, size_t size)
{
    size_t offset = 0;
    proto_frame_t entry;
    int rc;
    while ((rc = proto_batch_next (body, size, &offset, &entry)) == 1) {
        const uint8_t *data = (const uint8_t *) entry.data;
        CHECK (entry.size > 0 && data >= body && data + entry.size == body + offset);
        CHECK (offset <= size);
        //  Each entry in a block of its own exact size.
        uint8_t *copy = s_copy (entry.data, entry.size);
        proto_frame_t alone = { copy, entry.size };
        proto_msg_t msg, again;
        if (proto_decode (&alone, 1, PROTO_ON_CHANNEL, SIZE_MAX, &msg) == PROKIT_OK) {
            CHECK (msg.command != PROTO_BATCH && msg.peer[0] == 0);
            char peer[PROTO_ADDRESS_MAX + 1] = "";
            if (msg.channel_name[0])
                proto_address (peer, "", msg.channel_name);
            uint8_t *out = (uint8_t *) malloc (PROTO_BATCH_HEAD + PROTO_PREFIX_MAX + msg.body_size);
            CHECK (out);
            size_t n = proto_batch_entry_encode (out, (proto_command_t) msg.command, msg.id, peer,
                                                 msg.body, msg.body_size);
            size_t at = 0;
            proto_frame_t back;
            CHECK (proto_batch_next (out, n, &at, &back) == 1 && at == n);
            CHECK (proto_decode (&back, 1, PROTO_ON_CHANNEL, SIZE_MAX, &again) == PROKIT_OK);
            CHECK (again.command == msg.command && again.id == msg.id &&
                   strcmp (again.channel_name, msg.channel_name) == 0 &&
                   again.body_size == msg.body_size &&
                   (msg.body_size == 0 || memcmp (again.body, msg.body, msg.body_size) == 0));
            free (out);
        }
        free (copy);
    }
    CHECK (rc == 0 || rc == PROKIT_EPROTO);
    CHECK (rc != 0 || offset == size);
}

static void
s_names (const uint8_t *data, size_t size)
{
    const char *name = (const char *) data;
    bool window = proto_window_name_valid (name, size);
    bool peer = proto_peer_name_valid (name, size);
    CHECK (!window || peer);
    CHECK (!window || (size >= 1 && size <= PROTO_NAME_MAX));
}

static void
s_topic (const uint8_t *data, size_t size)
{
    char *text = (char *) malloc (size + 1);
    CHECK (text);
    memcpy (text, data, size);
    text[size] = 0;
    uint8_t wire[PROTO_TOPIC_WIRE];
    if (proto_topic_to_wire (text, wire)) {
        char again[PROTO_TOPIC_SIZE + 1];
        proto_topic_to_text (wire, again);
        CHECK (strcmp (again, text) == 0);
    }
    free (text);
    (void) proto_version_common (size);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t which = data[0] % 20;
    //  The rest as a block of its own, for the body decoders.
    uint8_t *rest = s_copy (data + 1, size - 1);
    size_t rest_size = size - 1;
    switch (which) {
    case 0: s_decode_message (rest, rest_size, PROTO_TO_ROUTER); break;
    case 1: s_decode_message (rest, rest_size, PROTO_TO_CLIENT); break;
    case 2: s_decode_message (rest, rest_size, PROTO_ON_CHANNEL); break;
    case 3: s_hello (rest, rest_size); break;
    case 4: s_welcome (rest, rest_size); break;
    case 5: s_error (rest, rest_size); break;
    case 6: s_receipt (rest, rest_size); break;
    case 7: s_credit (rest, rest_size); break;
    case 8: s_presence (rest, rest_size); break;
    case 9: s_query (rest, rest_size); break;
    case 10: s_window_infos (rest, rest_size); break;
    case 11: s_counters (rest, rest_size); break;
    case 12: s_header (rest, rest_size); break;
    case 13: s_bye (rest, rest_size); break;
    case 14: s_names (rest, rest_size); break;
    case 15: s_topic (rest, rest_size); break;
    case 16: s_account (rest, rest_size); break;
    case 17: s_took (rest, rest_size); break;
    case 18: s_flow (rest, rest_size); break;
    default: s_batch (rest, rest_size); break;
    }
    free (rest);
    return 0;
}
