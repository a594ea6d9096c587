/*  make_corpus.c: write the fuzzers' seed corpus (fuzz/corpus/).

    prokit_make_corpus DIR writes DIR/<target>/<seed> for every target:

        doc-*   the byte examples of docs/PROTOCOL.md, section 13, as
                printed there (the router captured them)
        gen-*   traffic as the library writes it: headers, prefixes and
                control bodies from src/proto.c's encoders, payloads from
                the payload constructors and src/pack.c, and sessions for
                the router (join, ask, answer, presence, the channel,
                flow control, leaving), with some malformed messages
                among them

    Seeds are laid out as each target reads its input (fuzz_input.h, and
    the first byte of fuzz_proto.c, fuzz_cli_json.c and fuzz_settings.c).
    tools/fuzz.sh does not run this: the corpus is committed; run it again
    after a change to the wire (build-fuzz/fuzz/prokit_make_corpus fuzz/corpus).
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_input.h"
#include "pack.h"
#include "prokit/payload.h"
#include "proto.h"

static const char *s_root;

//  --- output -----------------------------------------------------------------

typedef struct {
    uint8_t data[16384];
    size_t size;
} buf_t;

static void
s_put (buf_t *b, const void *data, size_t size)
{
    if (b->size + size > sizeof (b->data)) {
        fprintf (stderr, "make_corpus: seed too large\n");
        exit (1);
    }
    if (size)
        memcpy (b->data + b->size, data, size);
    b->size += size;
}

static void
s_put_byte (buf_t *b, uint8_t byte)
{
    s_put (b, &byte, 1);
}

static void
s_put_record (buf_t *b, uint8_t flags, const void *data, size_t size)
{
    uint8_t head[3] = { flags, (uint8_t) (size >> 8), (uint8_t) size };
    s_put (b, head, 3);
    s_put (b, data, size);
}

static void
s_write (const char *target, const char *name, const void *data, size_t size)
{
    char path[512];
    snprintf (path, sizeof (path), "%s/%s", s_root, target);
    if (mkdir (path, 0755) != 0 && errno != EEXIST) {
        perror (path);
        exit (1);
    }
    snprintf (path, sizeof (path), "%s/%s/%s", s_root, target, name);
    FILE *file = fopen (path, "wb");
    if (!file || fwrite (data, 1, size, file) != size || fclose (file) != 0) {
        perror (path);
        exit (1);
    }
}

static void
s_write_buf (const char *target, const char *name, const buf_t *b)
{
    s_write (target, name, b->data, b->size);
}

//  DATA prefixed with the byte SELECTOR (fuzz_proto.c, fuzz_cli_json.c,
//  fuzz_settings.c pick with it).
static void
s_write_selected (const char *target, const char *name, uint8_t selector, const void *data,
                  size_t size)
{
    buf_t b = { .size = 0 };
    s_put_byte (&b, selector);
    s_put (&b, data, size);
    s_write_buf (target, name, &b);
}

//  --- messages ----------------------------------------------------------------

typedef struct {
    uint8_t first[PROTO_PREFIX_MAX + 8192];
    uint8_t peer[PROTO_NAME_MAX];
    proto_frame_t frames[3];
    size_t count;
} msg_t;

static void
s_msg_v1 (msg_t *m, proto_command_t command, uint64_t id, const char *peer, const void *body,
          size_t body_size)
{
    proto_header_encode (m->first, command, id);
    size_t peer_size = strlen (peer);
    memcpy (m->peer, peer, peer_size);
    m->frames[0] = (proto_frame_t){ m->first, PROTO_HEADER_SIZE };
    m->frames[1] = (proto_frame_t){ m->peer, peer_size };
    m->frames[2] = (proto_frame_t){ body, body_size };
    m->count = 3;
}

//  Version 2, the body inline unless ALONE (then a second frame).
static void
s_msg_v2 (msg_t *m, proto_command_t command, uint64_t id, const char *peer, const void *body,
          size_t body_size, bool alone)
{
    size_t n = proto_prefix_encode (m->first, command, id, peer);
    if (!alone) {
        if (body_size)
            memcpy (m->first + n, body, body_size);
        n += body_size;
    }
    m->frames[0] = (proto_frame_t){ m->first, n };
    m->frames[1] = (proto_frame_t){ body, body_size };
    m->count = alone ? 2 : 1;
}

//  The message as records (all but the last with FUZZ_MORE).
static void
s_put_msg (buf_t *b, bool second, const msg_t *m)
{
    for (size_t i = 0; i < m->count; i++)
        s_put_record (b,
                      (uint8_t) ((second ? FUZZ_SECOND : 0) | (i + 1 < m->count ? FUZZ_MORE : 0)),
                      m->frames[i].data, m->frames[i].size);
}

//  A proto seed: SELECTOR (0 to the router, 1 to a client, 2 on the
//  channel) and the message.
static void
s_proto_seed (const char *name, uint8_t selector, const msg_t *m)
{
    buf_t b = { .size = 0 };
    s_put_byte (&b, selector);
    s_put_msg (&b, false, m);
    s_write_buf ("proto", name, &b);
}

//  --- docs/PROTOCOL.md, section 13 ---------------------------------------------

static size_t
s_hex (const char *hex, uint8_t *out)
{
    size_t n = 0;
    for (const char *p = hex; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        unsigned byte;
        if (sscanf (p, "%2x", &byte) != 1) {
            fprintf (stderr, "make_corpus: bad hex at %s\n", p);
            exit (1);
        }
        out[n++] = (uint8_t) byte;
        p += 2;
    }
    return n;
}

typedef struct {
    const char *name;
    int direction; //  0 to the router, 1 to a client, 2 on the channel (topic included)
    const char *frames[3];
    size_t count;
} doc_example_t;

#define V1_HEADER(command, id) "50 4b 01 " command " 00 00 00 00 00 00 00 " id
#define TOPIC "f8 f0 f1 23 93 c5 8f 37 "

static const doc_example_t s_doc[] = {
    { "doc-hello",
      0,
      { V1_HEADER ("01", "00"), "77 6f 72 6b",
        "82 a3 70 69 64 cf 00 00 00 00 00 00 10 92 a5 73 68 6f 77 6e c3" },
      3 },
    { "doc-welcome",
      1,
      { V1_HEADER ("02", "00"), "77 6f 72 6b",
        "83 ab 6d 61 78 5f 70 61 79 6c 6f 61 64 cf 00 00 00 00 01 00 00 00"
        " ac 68 65 61 72 74 62 65 61 74 5f 6d 73 cf 00 00 00 00 00 00 03 e8"
        " a8 69 6e 73 74 61 6e 63 65"
        " b0 39 64 30 65 34 63 31 61 37 62 33 66 35 65 32 31" },
      3 },
    { "doc-joined",
      1,
      { V1_HEADER ("0b", "00"), "77 6f 72 6b",
        "84 a3 70 69 64 cf 00 00 00 00 00 00 10 92 a7 61 64 64 72 65 73 73"
        " b8 6c 6f 63 61 6c 68 6f 73 74 3a 31 30 30 30 3a 31 30 30 30 3a 34 32 34 32"
        " a5 73 68 6f 77 6e c3 a9 6a 6f 69 6e 65 64 5f 61 74 cf 00 00 01 a2 48 6a 90 af" },
      3 },
    { "doc-error-taken",
      1,
      { V1_HEADER ("08", "00"), "",
        "93 fc d9 23 77 69 6e 64 6f 77 20 6e 61 6d 65 20 27 77 6f 72"
        " 6b 27 20 69 73 20 61 6c 72 65 61 64 79 20 74 61 6b 65 6e 00" },
      3 },
    { "doc-request-to-main", 0, { V1_HEADER ("06", "01"), "40 6d 61 69 6e", "a2 68 69" }, 3 },
    { "doc-request-at-main", 1, { V1_HEADER ("06", "01"), "77 6f 72 6b", "a2 68 69" }, 3 },
    { "doc-reply-from-main", 0, { V1_HEADER ("07", "01"), "77 6f 72 6b", "a2 6f 6b" }, 3 },
    { "doc-reply-to-work", 1, { V1_HEADER ("07", "01"), "40 6d 61 69 6e", "a2 6f 6b" }, 3 },
    { "doc-request-to-ghost", 0, { V1_HEADER ("06", "02"), "67 68 6f 73 74", "a2 68 69" }, 3 },
    { "doc-error-not-found",
      1,
      { V1_HEADER ("08", "02"), "67 68 6f 73 74",
        "93 fd b7 6e 6f 20 77 69 6e 64 6f 77 20 6e 61"
        " 6d 65 64 20 27 67 68 6f 73 74 27 00" },
      3 },
    { "doc-error-one-way",
      1,
      { "50 4b 01 08 80 00 00 00 00 00 00 01", "67 68 6f 73 74",
        "93 fd b7 6e 6f 20 77 69 6e 64 6f 77 20 6e 61"
        " 6d 65 64 20 27 67 68 6f 73 74 27 00" },
      3 },
    { "doc-bye", 0, { V1_HEADER ("03", "00"), "", "" }, 3 },
    { "doc-bye-answer", 1, { V1_HEADER ("03", "00"), "", "" }, 3 },
    { "doc-left",
      1,
      { V1_HEADER ("0c", "00"), "77 6f 72 6b", "81 a6 72 65 61 73 6f 6e a6 63 6c 6f 73 65 64" },
      3 },
    { "doc-error-app-code",
      0,
      { V1_HEADER ("08", "01"), "40 6d 61 69 6e",
        "93 f9 b1 66 61 69 6c 65 64 20 6f 6e 20 70 75 72 70 6f 73 65 2a" },
      3 },
    { "doc-request-v2", 0, { "50 4b 02 06 01 01 05 40 6d 61 69 6e a2 68 69" }, 1 },
    { "doc-reply-v2", 1, { "50 4b 02 07 01 01 05 40 6d 61 69 6e a2 6f 6b" }, 1 },
    { "doc-hello-channel",
      0,
      { V1_HEADER ("01", "00"), "77 6f 72 6b",
        "82 a7 76 65 72 73 69 6f 6e 02 a7 63 68 61 6e 6e 65 6c c3" },
      3 },
    { "doc-welcome-channel",
      1,
      { "50 4b 02 02 00 04 77 6f 72 6b 86"
        " ab 6d 61 78 5f 70 61 79 6c 6f 61 64 cf 00 00 00 00 01 00 00 00"
        " ac 68 65 61 72 74 62 65 61 74 5f 6d 73 cf 00 00 00 00 00 00 03 e8"
        " a7 76 65 72 73 69 6f 6e 02"
        " a7 63 68 61 6e 6e 65 6c"
        " bf 69 70 63 3a 2f 2f 2f 74 6d 70 2f 70 72 6f 6b 69 74 2d 64 65 6d 6f 2e 73"
        " 6f 63 6b 2e 70 75 62"
        " a5 74 6f 70 69 63"
        " b0 66 38 66 30 66 31 32 33 39 33 63 35 38 66 33 37"
        " a8 69 6e 73 74 61 6e 63 65"
        " b0 39 64 30 65 34 63 31 61 37 62 33 66 35 65 32 31" },
      1 },
    { "doc-channel-welcome", 2, { TOPIC "50 4b 02 02 00 00 80" }, 1 },
    { "doc-channel-reply", 2, { TOPIC "50 4b 02 07 01 01 00 a2 68 69" }, 1 },
    { "doc-channel-broadcast",
      2,
      { TOPIC "50 4b 02 05 00 00 ae 68 65 6c 6c 6f 20 65 76 65 72 79 6f 6e 65" },
      1 },
    { "doc-bye-rejoin", 1, { "50 4b 02 03 00 00 81 a6 72 65 6a 6f 69 6e c3" }, 1 },
};

//  Which body decoder (fuzz_proto.c's selector) reads the body of a
//  message of COMMAND; 0 for none.
static uint8_t
s_body_selector (uint8_t command)
{
    switch (command) {
    case PROTO_HELLO: return 3;
    case PROTO_WELCOME: return 4;
    case PROTO_ERROR: return 5;
    case PROTO_RECEIPT: return 6;
    case PROTO_CREDIT: return 7;
    case PROTO_JOINED:
    case PROTO_LEFT: return 8;
    case PROTO_QUERY: return 9;
    case PROTO_BYE: return 13;
    case PROTO_ACCOUNT: return 16;
    default: return 0;
    }
}

static void
s_doc_seeds (void)
{
    for (size_t i = 0; i < sizeof (s_doc) / sizeof (s_doc[0]); i++) {
        const doc_example_t *example = &s_doc[i];
        static uint8_t bytes[3][512];
        msg_t m;
        m.count = example->count;
        for (size_t f = 0; f < example->count; f++) {
            size_t n = s_hex (example->frames[f], bytes[f]);
            m.frames[f] = (proto_frame_t){ bytes[f], n };
        }
        if (example->direction == 2) {
            //  On the channel the first frame starts with the topic, which
            //  the client takes off before decoding.
            m.frames[0].data = bytes[0] + PROTO_TOPIC_WIRE;
            m.frames[0].size -= PROTO_TOPIC_WIRE;
        }
        s_proto_seed (example->name, (uint8_t) example->direction, &m);
        //  The body alone, for its decoder.
        proto_msg_t msg;
        proto_direction_t direction = example->direction == 0   ? PROTO_TO_ROUTER
                                      : example->direction == 1 ? PROTO_TO_CLIENT
                                                                : PROTO_ON_CHANNEL;
        if (proto_decode (m.frames, m.count, direction, PROTO_DEFAULT_MAX_PAYLOAD, &msg) != 0) {
            fprintf (stderr, "make_corpus: %s does not decode\n", example->name);
            exit (1);
        }
        uint8_t selector = s_body_selector (msg.command);
        char name[128];
        if (selector && msg.body_size) {
            snprintf (name, sizeof (name), "%s-body", example->name);
            s_write_selected ("proto", name, selector, msg.body, msg.body_size);
        }
        snprintf (name, sizeof (name), "%s-header", example->name);
        if (msg.version == 1)
            s_write_selected ("proto", name, 12, m.frames[0].data, m.frames[0].size);
        //  What a window says, for the router too.
        if (example->direction == 0) {
            buf_t b = { .size = 0 };
            s_put_byte (&b, 1); //  the router without an embedded main
            s_put_msg (&b, false, &m);
            s_write_buf ("router", example->name, &b);
        }
    }
}

//  --- generated messages and bodies --------------------------------------------

static void
s_body_seeds (void)
{
    uint8_t out[PROTO_RECEIPT_BODY_MAX];
    size_t n;
    proto_hello_t hello = { .pid = 4242,
                            .presence = true,
                            .shown = true,
                            .version = 2,
                            .channel = true,
                            .credit = 100,
                            .last = { "f8f0f12393c58f37", 7, 3 },
                            .channels = true,
                            .service = "work",
                            .progress = true,
                            .cancel = true,
                            .deadlines = true };
    n = proto_hello_encode (out, &hello);
    s_write_selected ("proto", "gen-hello-full", 3, out, n);
    //  Back after a router went: what it took in from two senders.
    proto_from_t from[] = { { "sender", 427, 0x8000000000000001ULL }, { "other", 3, 0 } };
    hello.took = true;
    hello.from = from;
    hello.from_count = 2;
    n = proto_hello_encode (out, &hello);
    s_write_selected ("proto", "gen-hello-took", 3, out, n);
    hello.from = NULL;
    hello.from_count = 0;
    proto_welcome_t welcome = { .max_payload = PROTO_DEFAULT_MAX_PAYLOAD,
                                .heartbeat_ms = 1000,
                                .version = 2,
                                .channel = "inproc://router.pub",
                                .topic = "0123456789abcdef",
                                .instance = "9d0e4c1a7b3f5e21",
                                .channels = true,
                                .deadlines = true };
    n = proto_welcome_encode (out, &welcome);
    s_write_selected ("proto", "gen-welcome-channel", 4, out, n);
    n = proto_error_encode (out, -11, "'work' is not keeping up: its queue is full", 0);
    s_write_selected ("proto", "gen-error-eagain", 5, out, n);
    proto_receipt_entry_t entries[] = { { "work", 250, NULL, 0, 0 },
                                        { "render-1", 1, "0123456789abcdef", 7, 3 },
                                        { "a", 0xffffffffffull, NULL, 0, 0 } };
    n = proto_receipt_encode (out, entries, 3);
    s_write_selected ("proto", "gen-receipt", 6, out, n);
    proto_credit_t credit = { 1000, 200 };
    n = proto_credit_encode (out, &credit);
    s_write_selected ("proto", "gen-credit", 7, out, n);
    proto_presence_t presence = { .pid = 4242,
                                  .address = "127.0.0.1:40000",
                                  .reason = "connection lost",
                                  .shown = true,
                                  .joined_at = 1796511273135 };
    n = proto_presence_encode (out, &presence);
    s_write_selected ("proto", "gen-presence", 8, out, n);
    n = proto_query_encode (out, "windows");
    s_write_selected ("proto", "gen-query-windows", 9, out, n);
    n = proto_query_encode (out, "stats");
    s_write_selected ("proto", "gen-query-stats", 9, out, n);
    //  INFO "windows": an array32 head, then one map per window.
    proto_window_info_t info = { .name = "work",
                                 .pid = 4242,
                                 .address = "localhost:1000:1000:4242",
                                 .shown = true,
                                 .joined_at = 1796511273135,
                                 .last_seen = 1796511273999 };
    n = PACK_ARRAY32_HEAD;
    n += proto_window_info_encode (out + n, &info);
    strcpy (info.name, "render-1");
    info.shown = false;
    n += proto_window_info_encode (out + n, &info);
    pack_write_array32_head (out, 2);
    s_write_selected ("proto", "gen-info-windows", 10, out, n);
    uint64_t values[PROTO_COUNTERS] = { 1000, 990, 5, 1, 2, 1, 1, 0, 0, 2 };
    n = proto_counters_encode (out, proto_counter_names, values, PROTO_COUNTERS);
    s_write_selected ("proto", "gen-info-stats", 11, out, n);
    n = proto_prefix_encode (out, PROTO_SEND, PROTO_ID_ONE_WAY_BIT | 3, "work");
    s_write_selected ("proto", "gen-header-v2", 12, out, n);
    proto_bye_t bye = { .last = { "f8f0f12393c58f37", 10, 4 },
                        .counted = true,
                        .dealer_counted = true };
    n = proto_bye_encode (out, &bye);
    s_write_selected ("proto", "gen-bye-counts", 13, out, n);
    s_write_selected ("proto", "gen-name-window", 14, "render-1", 8);
    s_write_selected ("proto", "gen-name-main", 14, "@main", 5);
    s_write_selected ("proto", "gen-topic", 15, "f8f0f12393c58f37", 16);
    proto_account_window_t windows[] = { { "work", 10, 8, NULL, 0 },
                                         { "render-1", 3, 3, NULL, 0 } };
    uint8_t account[PROTO_ACCOUNT_BODY_MAX];
    n = proto_account_encode (account, 13, windows, 2);
    s_write_selected ("proto", "gen-account", 16, account, n);
    proto_took_t took = { "0123456789abcdef", 427, 0x8000000000000001ULL };
    n = proto_took_encode (out, &took);
    s_write_selected ("proto", "gen-took", 17, out, n);
    n = proto_flow_encode (out, true);
    s_write_selected ("proto", "gen-flow", 18, out, n);
    uint8_t batch[3 * PROTO_BATCH_ENTRY_MAX];
    n = proto_batch_entry_encode (batch, PROTO_SEND, 0, "", "\xa2hi", 3);
    n += proto_batch_entry_encode (batch + n, PROTO_BROADCAST, 0, "#news", "\xc0", 1);
    n += proto_batch_entry_encode (batch + n, PROTO_REPLY, 300, "", "\x2a", 1);
    s_write_selected ("proto", "gen-batch", 19, batch, n);
}

//  A payload's bytes (the payload is destroyed).
static size_t
s_payload_bytes (prokit_payload_t *payload, uint8_t *out)
{
    size_t n = prokit_payload_size (payload);
    memcpy (out, prokit_payload_data (payload), n);
    prokit_payload_destroy (&payload);
    return n;
}

static void
s_message_seeds (void)
{
    uint8_t body[8192];
    size_t body_size = s_payload_bytes (prokit_payload_new_string ("hi"), body);
    msg_t m;
    s_msg_v2 (&m, PROTO_SEND, PROTO_ID_ONE_WAY_BIT | 1, "work", body, body_size, false);
    s_proto_seed ("gen-send-v2", 0, &m);
    s_msg_v2 (&m, PROTO_SEND, 0, "@main", body, body_size, false);
    s_proto_seed ("gen-send-v2-to-client", 1, &m);
    s_msg_v2 (&m, PROTO_BROADCAST, 7, "", body, body_size, false);
    s_proto_seed ("gen-broadcast-v2", 0, &m);
    s_msg_v1 (&m, PROTO_PING, 9, "", "", 0);
    s_proto_seed ("gen-ping-v1", 0, &m);
    s_msg_v2 (&m, PROTO_PONG, 9, "", "", 0, false);
    s_proto_seed ("gen-pong-v2", 1, &m);
    s_msg_v2 (&m, PROTO_SHOW, 0, "work", "", 0, false);
    s_proto_seed ("gen-show-v2", 0, &m);
    //  Peer fields with a deadline and a named channel; progress, cancel.
    s_msg_v2 (&m, PROTO_REQUEST, 4, "work!1500#resize", body, body_size, false);
    s_proto_seed ("gen-request-deadline-channel", 0, &m);
    s_msg_v1 (&m, PROTO_REQUEST, 4, "ui!30000#file:open", body, body_size);
    s_proto_seed ("gen-request-deadline-channel-v1-to-client", 1, &m);
    s_msg_v2 (&m, PROTO_BROADCAST, 8, "#news", body, body_size, false);
    s_proto_seed ("gen-broadcast-channel", 0, &m);
    s_msg_v2 (&m, PROTO_SEND, 0, "#news", body, body_size, false);
    s_proto_seed ("gen-send-channel-on-pub", 2, &m);
    s_msg_v2 (&m, PROTO_PROGRESS, 4, "ui", body, body_size, false);
    s_proto_seed ("gen-progress", 0, &m);
    s_msg_v2 (&m, PROTO_CANCEL, 4, "work", "", 0, false);
    s_proto_seed ("gen-cancel", 0, &m);
    //  A body of 5000 bytes travels alone, and is over fuzz_proto.c's
    //  limit of 1024: ETOOBIG.
    memset (body, 'x', sizeof (body));
    prokit_payload_t *large = prokit_payload_new_bytes (body, 5000);
    body_size = s_payload_bytes (large, body);
    s_msg_v2 (&m, PROTO_REQUEST, 2, "@main", body, body_size, true);
    s_proto_seed ("gen-request-v2-alone-too-big", 0, &m);
    body_size = s_payload_bytes (prokit_payload_new_bytes ("abc", 3), body);
    s_msg_v2 (&m, PROTO_REQUEST, 2, "@main", body, body_size, true);
    s_proto_seed ("gen-request-v2-alone", 0, &m);
    uint8_t error[PROTO_ERROR_BODY_MAX];
    size_t error_size = proto_error_encode (error, -7, "handler failed", 42);
    s_msg_v2 (&m, PROTO_ERROR, 2, "@main", error, error_size, false);
    s_proto_seed ("gen-error-v2", 0, &m);
    uint8_t query[PROTO_QUERY_BODY_MAX];
    size_t query_size = proto_query_encode (query, "stats");
    s_msg_v1 (&m, PROTO_QUERY, 3, "", query, query_size);
    s_proto_seed ("gen-query-v1", 0, &m);
    uint8_t credit[PROTO_CREDIT_BODY_MAX];
    proto_credit_t counts = { 12, 3 };
    size_t credit_size = proto_credit_encode (credit, &counts);
    s_msg_v2 (&m, PROTO_CREDIT, 0, "", credit, credit_size, false);
    s_proto_seed ("gen-credit-v2", 0, &m);
    //  Malformed: too many frames, an unknown version, a bad id head.
    buf_t b = { .size = 0 };
    s_put_byte (&b, 0);
    s_msg_v1 (&m, PROTO_PING, 1, "", "", 0);
    m.frames[2] = (proto_frame_t){ "", 0 };
    for (size_t i = 0; i < 4; i++)
        s_put_record (&b, FUZZ_MORE, m.frames[i < 3 ? i : 2].data, m.frames[i < 3 ? i : 2].size);
    s_put_record (&b, 0, "", 0);
    s_write_buf ("proto", "gen-too-many-frames", &b);
    static const uint8_t v3[] = { 0x50, 0x4b, 0x03, 0x09, 0x00 };
    b.size = 0;
    s_put_byte (&b, 0);
    s_put_record (&b, 0, v3, sizeof (v3));
    s_write_buf ("proto", "gen-version-3", &b);
    static const uint8_t bad_head[] = { 0x50, 0x4b, 0x02, 0x04, 0x19, 0x00 };
    b.size = 0;
    s_put_byte (&b, 0);
    s_put_record (&b, 0, bad_head, sizeof (bad_head));
    s_write_buf ("proto", "gen-bad-id-head", &b);
}

//  --- router sessions -------------------------------------------------------------

//  A session under construction: the router (embedded main or not) and
//  its messages, each from DEALER 0 or 1.
typedef struct {
    buf_t b;
    uint64_t next_id[2];
} session_t;

static void
s_session_start (session_t *s, bool embedded)
{
    s->b.size = 0;
    s->next_id[0] = s->next_id[1] = 1;
    s_put_byte (&s->b, embedded ? 0 : 1);
}

static void
s_v1 (session_t *s, int dealer, proto_command_t command, const char *peer, const void *body,
      size_t body_size)
{
    msg_t m;
    uint64_t id = command == PROTO_HELLO || command == PROTO_BYE ? 0 : s->next_id[dealer]++;
    s_msg_v1 (&m, command, id, peer, body, body_size);
    s_put_msg (&s->b, dealer == 1, &m);
}

static void
s_v2 (session_t *s, int dealer, proto_command_t command, uint64_t id, const char *peer,
      const void *body, size_t body_size)
{
    msg_t m;
    s_msg_v2 (&m, command, id, peer, body, body_size, body_size > PROTO_INLINE_MAX);
    s_put_msg (&s->b, dealer == 1, &m);
}

static void
s_hello (session_t *s, int dealer, const char *name, const proto_hello_t *hello)
{
    uint8_t body[PROTO_HELLO_BODY_MAX];
    size_t size = proto_hello_encode (body, hello);
    s_v1 (s, dealer, PROTO_HELLO, name, body, size);
}

static void
s_router_seeds (void)
{
    session_t s;
    uint8_t hi[16], ok[16], query[PROTO_QUERY_BODY_MAX], body[PROTO_BYE_BODY_MAX];
    size_t hi_size = s_payload_bytes (prokit_payload_new_string ("hi"), hi);
    size_t ok_size = s_payload_bytes (prokit_payload_new_string ("ok"), ok);
    proto_hello_t v1 = { .pid = 4242, .shown = true };
    proto_hello_t v2 = { .pid = 4243, .presence = true, .version = 2 };
    proto_hello_t channel = {
        .pid = 4244, .presence = true, .shown = true, .version = 2, .channel = true, .credit = 100
    };
    proto_hello_t credit = { .pid = 4245, .version = 2, .credit = 2 };

    //  A window asks the embedded main, and the router, then leaves.
    s_session_start (&s, true);
    s_hello (&s, 0, "work", &v1);
    s_v1 (&s, 0, PROTO_REQUEST, "@main", hi, hi_size);
    size_t size = proto_query_encode (query, "windows");
    s_v1 (&s, 0, PROTO_QUERY, "", query, size);
    size = proto_query_encode (query, "stats");
    s_v1 (&s, 0, PROTO_QUERY, "", query, size);
    s_v1 (&s, 0, PROTO_PING, "", "", 0);
    s_v1 (&s, 0, PROTO_BYE, "", "", 0);
    s_write_buf ("router", "gen-window-asks-main", &s.b);

    //  Two windows, version 2, talk to each other.
    s_session_start (&s, true);
    s_hello (&s, 0, "work", &v2);
    s_hello (&s, 1, "render-1", &v2);
    s_v2 (&s, 0, PROTO_SEND, PROTO_ID_ONE_WAY_BIT | 1, "render-1", hi, hi_size);
    s_v2 (&s, 1, PROTO_REQUEST, 5, "work", hi, hi_size);
    s_v2 (&s, 0, PROTO_REPLY, 5, "render-1", ok, ok_size);
    s_v2 (&s, 1, PROTO_REQUEST, 6, "work", hi, hi_size);
    uint8_t error[PROTO_ERROR_BODY_MAX];
    size_t error_size = proto_error_encode (error, -7, "failed on purpose", 42);
    s_v2 (&s, 0, PROTO_ERROR, 6, "render-1", error, error_size);
    s_v2 (&s, 0, PROTO_SEND, PROTO_ID_ONE_WAY_BIT | 2, "ghost", hi, hi_size);
    s_v2 (&s, 1, PROTO_BYE, 0, "", "", 0);
    s_write_buf ("router", "gen-two-windows", &s.b);

    //  A window on the PUB channel, with flow control, asks main and
    //  confirms what it took in; its BYE says its counts.
    s_session_start (&s, true);
    s_hello (&s, 0, "work", &channel);
    s_v2 (&s, 0, PROTO_REQUEST, 1, "@main", hi, hi_size);
    proto_credit_t counts = { 1, 1 };
    size = proto_credit_encode (body, &counts);
    s_v2 (&s, 0, PROTO_CREDIT, 0, "", body, size);
    proto_bye_t bye = { .last = { "", 1, 1 }, .counted = true, .dealer_counted = true };
    size = proto_bye_encode (body, &bye);
    s_v2 (&s, 0, PROTO_BYE, 0, "", body, size);
    s_write_buf ("router", "gen-channel-window", &s.b);

    //  A main attached by DEALER commands a window that follows presence.
    s_session_start (&s, false);
    s_hello (&s, 0, "@main", &v2);
    s_hello (&s, 1, "work", &v2);
    s_v2 (&s, 0, PROTO_SEND, PROTO_ID_ONE_WAY_BIT | 1, "work", hi, hi_size);
    s_v2 (&s, 0, PROTO_HIDE, 2, "work", "", 0);
    s_v2 (&s, 0, PROTO_SHOW, 3, "work", "", 0);
    s_v2 (&s, 0, PROTO_BROADCAST, 4, "", hi, hi_size);
    s_v2 (&s, 1, PROTO_REQUEST, 1, "@main", hi, hi_size);
    s_v2 (&s, 0, PROTO_REPLY, 1, "work", ok, ok_size);
    s_v2 (&s, 0, PROTO_CLOSE, 5, "work", "\x80", 1);
    s_v2 (&s, 1, PROTO_SEND, PROTO_ID_ONE_WAY_BIT | 2, "@main", hi, hi_size);
    s_write_buf ("router", "gen-attached-main", &s.b);

    //  The same with the window on the channel: main's messages go there.
    s_session_start (&s, false);
    s_hello (&s, 0, "@main", &v2);
    s_hello (&s, 1, "work", &channel);
    s_v2 (&s, 0, PROTO_SEND, PROTO_ID_ONE_WAY_BIT | 1, "work", hi, hi_size);
    s_v2 (&s, 0, PROTO_BROADCAST, 2, "", hi, hi_size);
    s_v2 (&s, 1, PROTO_REQUEST, 1, "@main", hi, hi_size);
    s_v2 (&s, 0, PROTO_REPLY, 1, "work", ok, ok_size);
    counts = (proto_credit_t){ 1, 2 };
    size = proto_credit_encode (body, &counts);
    s_v2 (&s, 1, PROTO_CREDIT, 0, "", body, size);
    s_write_buf ("router", "gen-attached-main-channel", &s.b);

    //  A main that asks for ACCOUNTs of what became of its messages, and
    //  a window on the channel that confirms some of them.
    s_session_start (&s, false);
    proto_hello_t accounting = v2;
    accounting.account = true;
    s_hello (&s, 0, "@main", &accounting);
    s_hello (&s, 1, "work", &channel);
    for (int i = 0; i < 3; i++)
        s_v2 (&s, 0, PROTO_SEND, PROTO_ID_ONE_WAY_BIT | (uint64_t) (i + 1), "work", hi, hi_size);
    s_v2 (&s, 0, PROTO_BROADCAST, 4, "", hi, hi_size);
    counts = (proto_credit_t){ 0, 2 };
    size = proto_credit_encode (body, &counts);
    s_v2 (&s, 1, PROTO_CREDIT, 0, "", body, size);
    s_write_buf ("router", "gen-accounting-main", &s.b);

    //  BATCHes: a main attached by DEALER sends a window on the channel
    //  that reads them several SENDs, a broadcast and an answer in one.
    s_session_start (&s, false);
    proto_hello_t batching = channel;
    batching.batch = true;
    s_hello (&s, 0, "@main", &v2);
    s_hello (&s, 1, "work", &batching);
    s_v2 (&s, 1, PROTO_REQUEST, 1, "@main", hi, hi_size);
    uint8_t entries[4 * PROTO_BATCH_ENTRY_MAX];
    size = 0;
    for (int i = 0; i < 3; i++)
        size += proto_batch_entry_encode (entries + size, PROTO_SEND,
                                          PROTO_ID_ONE_WAY_BIT | (uint64_t) (i + 1), "work", hi,
                                          hi_size);
    size += proto_batch_entry_encode (entries + size, PROTO_REPLY, 1, "work", ok, ok_size);
    s_v2 (&s, 0, PROTO_BATCH, 0, "", entries, size);
    s_write_buf ("router", "gen-batches", &s.b);

    //  The router with an access list (fuzz_router.c, RIG_ACL): a main
    //  and a window it allows, a name it does not.
    s_session_start (&s, false);
    s.b.data[0] = 2;
    s_hello (&s, 0, "@main", &v2);
    s_hello (&s, 1, "stranger", &v2);
    s_hello (&s, 1, "render-7", &v2);
    s_v2 (&s, 0, PROTO_SEND, PROTO_ID_ONE_WAY_BIT | 1, "render-7", hi, hi_size);
    s_write_buf ("router", "gen-access-list", &s.b);

    //  Flow control: a window that holds 2 unconfirmed, sent 4.
    s_session_start (&s, false);
    s_hello (&s, 0, "@main", &v2);
    s_hello (&s, 1, "work", &credit);
    for (int i = 0; i < 4; i++)
        s_v2 (&s, 0, PROTO_SEND, PROTO_ID_ONE_WAY_BIT | (uint64_t) (i + 1), "work", hi, hi_size);
    counts = (proto_credit_t){ 2, 0 };
    size = proto_credit_encode (body, &counts);
    s_v2 (&s, 1, PROTO_CREDIT, 0, "", body, size);
    counts = (proto_credit_t){ 9, 0 }; //  more than it was sent: ignored
    size = proto_credit_encode (body, &counts);
    s_v2 (&s, 1, PROTO_CREDIT, 0, "", body, size);
    s_write_buf ("router", "gen-flow-control", &s.b);

    //  Refusals: a name taken, HELLO twice, messages before HELLO, a
    //  stranger's BYE with a lost session's counts, garbage.
    s_session_start (&s, true);
    s_v1 (&s, 0, PROTO_SEND, "work", hi, hi_size);
    s_v1 (&s, 0, PROTO_PING, "", "", 0);
    bye = (proto_bye_t){ .last = { "0123456789abcdef", 3, 2 },
                         .counted = true,
                         .dealer_counted = true };
    size = proto_bye_encode (body, &bye);
    s_v1 (&s, 0, PROTO_BYE, "", body, size);
    s_hello (&s, 0, "work", &v1);
    s_hello (&s, 1, "work", &v1);
    s_hello (&s, 0, "other", &v1);
    s_hello (&s, 1, "@main", &v1);
    s_put_record (&s.b, FUZZ_SECOND, "garbage", 7);
    static const uint8_t v3[] = { 0x50, 0x4b, 0x03, 0x06, 0x00 };
    s_put_record (&s.b, 0, v3, sizeof (v3));
    s_v1 (&s, 0, PROTO_SHOW, "work", "", 0); //  only main may
    s_v1 (&s, 0, PROTO_BROADCAST, "", hi, hi_size);
    s_write_buf ("router", "gen-refusals", &s.b);

    //  A window back after a lost session says what it took in.
    s_session_start (&s, true);
    proto_hello_t back = channel;
    back.last = (proto_taken_t){ "0123456789abcdef", 5, 2 };
    s_hello (&s, 0, "work", &back);
    s_write_buf ("router", "gen-hello-after-loss", &s.b);

    //  The same, from a window that reads TOOK and took SENDs from two
    //  senders (the router keeps a note for each, not joined yet), then one
    //  of them joins and hears it.
    s_session_start (&s, true);
    proto_from_t senders[] = { { "sender", 427, 0x8000000000000001ULL }, { "other", 3, 0 } };
    back.took = true;
    back.from = senders;
    back.from_count = 2;
    s_hello (&s, 0, "work", &back);
    proto_hello_t sender = channel;
    sender.took = true;
    s_hello (&s, 1, "sender", &sender);
    s_write_buf ("router", "gen-hello-took", &s.b);

    //  Too large for the fuzzed router (1024 bytes), and too many frames.
    s_session_start (&s, true);
    s_hello (&s, 0, "work", &v2);
    uint8_t big[2048];
    memset (big, 'y', sizeof (big));
    prokit_payload_t *payload = prokit_payload_new_bytes (big, 1500);
    size_t big_size = s_payload_bytes (payload, big);
    s_v2 (&s, 0, PROTO_REQUEST, 1, "@main", big, big_size);
    for (int i = 0; i < 5; i++)
        s_put_record (&s.b, FUZZ_MORE, "", 0);
    s_put_record (&s.b, 0, "", 0);
    s_write_buf ("router", "gen-limits", &s.b);
}

//  --- payloads and JSON -------------------------------------------------------------

static void
s_payload_seeds (void)
{
    uint8_t out[256];
    size_t n;
    struct {
        const char *name;
        prokit_payload_t *payload;
    } made[] = {
        { "gen-string", prokit_payload_new_string ("Main has received data: Hello") },
        { "gen-empty-string", prokit_payload_new_string ("") },
        { "gen-bytes", prokit_payload_new_bytes ("\x00\x01\x02\xff", 4) },
        { "gen-nil", prokit_payload_new_nil () },
    };
    for (size_t i = 0; i < sizeof (made) / sizeof (made[0]); i++) {
        n = s_payload_bytes (made[i].payload, out);
        s_write ("payload", made[i].name, out, n);
        s_write_selected ("cli_json", made[i].name, 1, out, n);
    }
    //  Each msgpack form, written with src/pack.c where it writes one.
    n = 0;
    n += pack_write_map_head (out + n, 3);
    n += pack_write_str (out + n, "int", 3);
    n += pack_write_array_head (out + n, 4);
    n += pack_write_int (out + n, -1);
    n += pack_write_int (out + n, 127);
    n += pack_write_int (out + n, -100000);
    n += pack_write_uint (out + n, 0xffffffffffffffffull);
    n += pack_write_str (out + n, "flags", 5);
    n += pack_write_array_head (out + n, 3);
    n += pack_write_bool (out + n, true);
    n += pack_write_bool (out + n, false);
    n += pack_write_nil (out + n);
    n += pack_write_raw_head (out + n, 2, false);
    memcpy (out + n, "\x01\x02", 2);
    n += 2;
    n += pack_write_array_head (out + n, 0);
    s_write ("payload", "gen-map", out, n);
    s_write_selected ("cli_json", "gen-map", 1, out, n);
    //  Floats, ext, the 16- and 32-bit heads, written by hand.
    static const uint8_t forms[] = {
        0x9a,                                                 //  array of 10
        0xca, 0x3f, 0x80, 0x00, 0x00,                         //  float32 1.0
        0xcb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18, //  float64 pi
        0xd4, 0x01, 0x02,                                     //  fixext1
        0xc7, 0x02, 0x05, 0xaa, 0xbb,                         //  ext8
        0xd9, 0x03, 'a',  'b',  'c',                          //  str8
        0xda, 0x00, 0x01, 'z',                                //  str16
        0xdc, 0x00, 0x01, 0xc0,                               //  array16 [nil]
        0xde, 0x00, 0x01, 0xa1, 'k',  0x01,                   //  map16 {k: 1}
        0xdd, 0x00, 0x00, 0x00, 0x01, 0x90,                   //  array32 [[]]
        0xcd, 0x01, 0x00,                                     //  uint16 256
    };
    s_write ("payload", "gen-forms", forms, sizeof (forms));
    s_write_selected ("cli_json", "gen-forms", 1, forms, sizeof (forms));
    //  Nested 40 deep: past msgpack-c's 32, within pack_check()'s 64.
    uint8_t deep[41];
    memset (deep, 0x91, 40);
    deep[40] = 0xc0;
    s_write ("payload", "gen-deep", deep, sizeof (deep));
    s_write_selected ("cli_json", "gen-deep", 1, deep, sizeof (deep));

    static const char *const json[] = {
        "\"Main has received data: Hello\"",
        "{\"name\": \"work\", \"pid\": 4242, \"shown\": true, \"ratio\": 0.1, \"tags\": [], "
        "\"nothing\": null}",
        "[1, -1, 9223372036854775807, 18446744073709551615, -9223372036854775808, 1e300, "
        "-0.0, 2.5e-3]",
        "{\"$bin\": \"AAEC/w==\"}",
        "{\"$ext\": 1, \"data\": \"qrs=\"}",
        "[\"\\u00e9\\n\\t\\\"\\\\\", \"\\ud83d\\ude00\"]",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
        "{\"a\": {\"b\": {\"c\": [true, false]}}, \"a\": 2}",
    };
    for (size_t i = 0; i < sizeof (json) / sizeof (json[0]); i++) {
        char name[32];
        snprintf (name, sizeof (name), "gen-json-%zu", i);
        s_write_selected ("cli_json", name, 0, json[i], strlen (json[i]));
    }
}

//  --- the broker's configuration ------------------------------------------------------

static void
s_config_seeds (void)
{
    static const char acl[] = "# the access list\n"
                              "\n"
                              "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7 @main   work\n"
                              "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID\trender-* main\n"
                              "#ne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID hashed\n"
                              "local  local-* extra-?\n";
    s_write ("acl", "gen-rules", acl, strlen (acl));
    static const char bad_acl[] = "local work\nnot-a-key work\n";
    s_write ("acl", "gen-bad-key", bad_acl, strlen (bad_acl));
    static const char config[] = "# prokit-broker\n"
                                 "bind = tcp://127.0.0.1:5570, ipc:///tmp/prokit-broker.sock\n"
                                 "bind = tcp://*:5580\n"
                                 "curve_cert = /etc/prokit/broker.cert\n"
                                 "curve_allow = /etc/prokit/clients\n"
                                 "acl = /etc/prokit/acl\n"
                                 "insecure = no\n"
                                 "max_payload = 1048576\n"
                                 "heartbeat_ivl = 500\n"
                                 "heartbeat_timeout = 2000\n"
                                 "log_level = debug\n";
    s_write_selected ("settings", "gen-config", 0, config, strlen (config));
    static const char bad_config[] = "bind tcp://x\nmax_payload = 0\n";
    s_write_selected ("settings", "gen-config-bad", 0, bad_config, strlen (bad_config));
    static const char argv[] = "--bind\0tcp://127.0.0.1:5570\0-bipc://@prokit\0--max-payload\0"
                               "4096\0--insecure\0-ldebug\0--heartbeat-ivl=500\0"
                               "--heartbeat-timeout\0002000";
    s_write_selected ("settings", "gen-argv", 1, argv, sizeof (argv) - 1);
    static const char ping[] = "--ping\0ipc://@prokit\0--timeout\000100\0--client-cert\0cert\0"
                               "--server-key\0key";
    s_write_selected ("settings", "gen-argv-ping", 1, ping, sizeof (ping) - 1);
    static const char keygen[] = "--keygen\0key\0--version";
    s_write_selected ("settings", "gen-argv-keygen", 1, keygen, sizeof (keygen) - 1);
}

int
main (int argc, char *argv[])
{
    if (argc != 2) {
        fprintf (stderr, "usage: %s DIR (fuzz/corpus)\n", argv[0]);
        return 2;
    }
    s_root = argv[1];
    if (mkdir (s_root, 0755) != 0 && errno != EEXIST) {
        perror (s_root);
        return 1;
    }
    s_doc_seeds ();
    s_body_seeds ();
    s_message_seeds ();
    s_router_seeds ();
    s_payload_seeds ();
    s_config_seeds ();
    return 0;
}
