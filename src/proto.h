/*  proto.h: the prokit wire codec (private).

    Encodes and validates every prokit message: header (signature,
    version, command, correlation id), peer name and msgpack body, in
    either wire version (1: three frames; 2: one frame, or two when the
    body travels alone). Pure functions over byte buffers: no sockets, no
    allocation. docs/PROTOCOL.md is the normative description; keep the two
    in step.
*/
#ifndef PROKIT_PROTO_H_INCLUDED
#define PROKIT_PROTO_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prokit/message.h"

#define PROTO_SIGNATURE_0 0x50 //  'P'
#define PROTO_SIGNATURE_1 0x4B //  'K'
//  Version 1: three frames (a 12-byte header, peer, body). Version 2: one
//  frame (a header of 5 to 13 bytes, peer length, peer, body), or that
//  frame without the body and the body as a second frame. A peer that
//  reads version 2 reads both.
#define PROTO_VERSION_1 1
#define PROTO_VERSION_2 2
#define PROTO_VERSION_MAX PROTO_VERSION_2

//  The newest wire version read both here and by a peer that says (in
//  HELLO or WELCOME) it reads up to VERSION; 1 for a peer that says nothing.
int proto_version_common (uint64_t version);
#define PROTO_HEADER_SIZE 12 //  version 1
//  Version 2: signature, version, command, id head (flag and byte count),
//  then the id's significant bytes, at most 8.
#define PROTO_V2_HEADER_MIN 5
#define PROTO_V2_HEADER_MAX (PROTO_V2_HEADER_MIN + 8)
#define PROTO_FRAMES_MAX 3 //  the most frames a message of any version has
#define PROTO_NAME_MAX 64
_Static_assert(PROTO_NAME_MAX == PROKIT_NAME_MAX, "the wire's name limit is the API's");
#define PROTO_ERROR_TEXT_MAX 1024
#define PROTO_DEFAULT_MAX_PAYLOAD (16u * 1024 * 1024)
#define PROTO_MAIN_NAME "@main"
//  Ids of one-way messages (SEND, BROADCAST, ...) carry bit 63, so that an
//  ERROR about one is told apart from an ERROR about a request
//  (docs/PROTOCOL.md, "Correlation ids").
#define PROTO_ID_ONE_WAY_BIT ((uint64_t) 1 << 63)

//  Named channels (docs/PROTOCOL.md, "Channels"): a SEND, BROADCAST or
//  REQUEST may name one in its peer field, after the name and a '#':
//  "work-1#resize", or "#resize" where the name is empty (a BROADCAST to
//  the router, anything on the PUB channel). A channel name is 1 to
//  PROTO_CHANNEL_NAME_MAX bytes of printable ASCII (0x21 to 0x7e) other
//  than '#'. No channel: the default one. Only towards a peer that said
//  "channels" in its HELLO (or the router, in its WELCOME).
#define PROTO_CHANNEL_NAME_MAX 64
_Static_assert(PROTO_CHANNEL_NAME_MAX == PROKIT_CHANNEL_MAX,
               "the wire's channel limit is the API's");
#define PROTO_CHANNEL_MARK '#'
//  Deadlines (docs/PROTOCOL.md, "Deadlines"): a REQUEST may say its
//  deadline, between the name and any channel, "!" and 1 to 20 digits:
//  towards the router, the time left in ms ("!1500"); from the router, the
//  deadline on the router's clock (its WELCOME's "clock" says that clock),
//  so that the time a request then waits anywhere counts. Only towards a
//  peer that said "deadlines".
#define PROTO_DEADLINE_MARK '!'
#define PROTO_DEADLINE_DIGITS 20
#define PROTO_DEADLINE_MAX ((uint64_t) INT64_MAX)
//  A peer field: a name, then a deadline and a channel if it says them.
#define PROTO_ADDRESS_MAX (PROTO_NAME_MAX + 2 + PROTO_DEADLINE_DIGITS + PROTO_CHANNEL_NAME_MAX)

//  Version 2: the header, one byte of peer length and the peer.
#define PROTO_PREFIX_MAX (PROTO_V2_HEADER_MAX + 1 + PROTO_ADDRESS_MAX)
//  Version 2 senders put bodies up to this size in the first frame (one
//  small copy costs less than a frame); larger ones travel alone, uncopied.
#define PROTO_INLINE_MAX 4096

typedef enum proto_command {
    PROTO_HELLO = 1,
    PROTO_WELCOME = 2,
    PROTO_BYE = 3,
    PROTO_SEND = 4,
    PROTO_BROADCAST = 5,
    PROTO_REQUEST = 6,
    PROTO_REPLY = 7,
    PROTO_ERROR = 8,
    PROTO_PING = 9,
    PROTO_PONG = 10,
    PROTO_JOINED = 11,
    PROTO_LEFT = 12,
    PROTO_CLOSE = 13,
    PROTO_SHOW = 14,
    PROTO_HIDE = 15,
    PROTO_QUERY = 16,
    PROTO_INFO = 17,
    PROTO_CREDIT = 18,
    PROTO_RECEIPT = 19,
    PROTO_ACCOUNT = 20,
    PROTO_PROGRESS = 21,
    PROTO_CANCEL = 22,
    PROTO_TOOK = 23,
    PROTO_FLOW = 24,
    PROTO_BATCH = 25,
    PROTO_COMMAND_LAST = PROTO_BATCH
} proto_command_t;

//  Which side sent a message: the codec checks the peer frame differently.
typedef enum proto_direction {
    PROTO_TO_ROUTER, //  client (main or window) -> router
    PROTO_TO_CLIENT, //  router -> client
    //  router -> client on the PUB channel: as PROTO_TO_CLIENT, but the
    //  peer is always empty (everything there is from main)
    PROTO_ON_CHANNEL
} proto_direction_t;

typedef struct proto_frame {
    const void *data;
    size_t size;
} proto_frame_t;

//  A decoded message. PEER (the name) and CHANNEL_NAME ("" for the default
//  channel) are copied from the peer field and NUL-terminated; BODY points into
//  the caller's frame number BODY_FRAME and is valid as long as that frame
//  is. The body fills that frame unless BODY_INLINE (version 2, after the
//  peer).
typedef struct proto_msg {
    uint8_t version;
    uint8_t command;
    uint64_t id;
    char peer[PROTO_NAME_MAX + 1];
    char channel_name[PROTO_CHANNEL_NAME_MAX + 1];
    //  A REQUEST's deadline, 0: none. To the router: the time left, ms;
    //  from it: the deadline on the router's clock, ms.
    uint64_t deadline_ms;
    const uint8_t *body;
    size_t body_size;
    size_t body_frame;
    bool body_inline;
} proto_msg_t;

//  A decoded ERROR body.
typedef struct proto_error {
    int code;
    int app_code;
    char text[PROTO_ERROR_TEXT_MAX + 1];
} proto_error_t;

//  Write a version 1 header (the whole first frame) into OUT.
void proto_header_encode (uint8_t out[PROTO_HEADER_SIZE], proto_command_t command, uint64_t id);

//  Write the start of a version 2 first frame into OUT: header (the id in
//  as few bytes as it needs), peer length and PEER (a name or an address,
//  at most PROTO_ADDRESS_MAX bytes). Returns the bytes written; the inline body, if any, follows.
//  Small messages stay within the 33 bytes libzmq keeps without allocating.
size_t proto_prefix_encode (uint8_t out[PROTO_PREFIX_MAX], proto_command_t command, uint64_t id,
                            const char *peer);

//  Check the header at the start of a first frame of SIZE bytes. Returns 0
//  and fills *command and *id, PROKIT_EPROTO for anything that is not a
//  prokit header (or a frame too short for its version), PROKIT_EVERSION for
//  a prokit header of a version this code does not read.
int proto_header_decode (const void *data, size_t size, uint8_t *command, uint64_t *id);

//  Is a message of COUNT FRAMES not prokit at all (no signature)? Such a
//  message gets no answer: its sender could not read one.
bool proto_foreign (const proto_frame_t *frames, size_t count);

//  Decode and validate a whole message of COUNT frames travelling in
//  DIRECTION, with bodies up to MAX_PAYLOAD bytes, in either version. Fills
//  *msg completely and returns 0, or returns PROKIT_EPROTO, PROKIT_EVERSION
//  or PROKIT_ETOOBIG and leaves *msg with at least command and id (0 when
//  the header was bad), version for PROKIT_EVERSION, and body_size for
//  PROKIT_ETOOBIG.
int proto_decode (const proto_frame_t *frames, size_t count, proto_direction_t direction,
                  size_t max_payload, proto_msg_t *msg);

//  Return true if NAME (LEN bytes) is a valid window name.
bool proto_window_name_valid (const char *name, size_t len);

//  Return true if NAME is a window name or PROTO_MAIN_NAME.
bool proto_peer_name_valid (const char *name, size_t len);

//  Return true if NAME (LEN bytes) is a valid channel name.
bool proto_channel_name_valid (const char *name, size_t len);

//  A peer field in its parts: what the embedded main and its router hand
//  each other in memory, where nothing is written out or parsed back.
//  proto_address_deadline() writes it for the wire.
typedef struct proto_peer {
    const char *name;     //  "" for none; cut to PROTO_NAME_MAX bytes
    uint64_t deadline_ms; //  a REQUEST's, 0: none (its meaning: see proto_msg_t)
    const char *channel;  //  NULL or "": the default channel; cut to PROTO_CHANNEL_NAME_MAX
} proto_peer_t;

//  Copy PEER's name and channel into NAME and CHANNEL, NUL-terminated and
//  cut to their limits (CHANNEL "" for the default one).
void proto_peer_copy (const proto_peer_t *peer, char name[PROTO_NAME_MAX + 1],
                      char channel[PROTO_CHANNEL_NAME_MAX + 1]);

//  Write the peer field for NAME and CHANNEL (NULL or "": the default
//  channel, then NAME alone) into OUT, NUL-terminated. Returns its length.
size_t proto_address (char out[PROTO_ADDRESS_MAX + 1], const char *name, const char *channel);

//  The same with a REQUEST's deadline, DEADLINE_MS (0: none; its meaning
//  depends on the direction, see proto_msg_t).
size_t proto_address_deadline (char out[PROTO_ADDRESS_MAX + 1], const char *name,
                               uint64_t deadline_ms, const char *channel);

//  Encode an ERROR body [code, text, app_code] into OUT (capacity
//  PROTO_ERROR_BODY_MAX). Text is cut to PROTO_ERROR_TEXT_MAX bytes.
//  Returns the number of bytes written.
#define PROTO_ERROR_BODY_MAX (PROTO_ERROR_TEXT_MAX + 32)
size_t proto_error_encode (uint8_t *out, int code, const char *text, int app_code);

//  Decode an ERROR body. Returns 0 or PROKIT_EPROTO.
int proto_error_decode (const void *data, size_t size, proto_error_t *error);

//  The PUB channel (docs/PROTOCOL.md, section 12): a topic is this many
//  hex digits, a per-session secret; every topic has this length, so
//  libzmq's prefix match is an exact match.
#define PROTO_TOPIC_SIZE 16
//  On the wire a topic is the 8 bytes its hex digits stand for, so that a
//  small message on the channel stays within the 33 bytes libzmq keeps
//  without allocating.
#define PROTO_TOPIC_WIRE 8

//  The 8 bytes of TEXT, PROTO_TOPIC_SIZE hex digits; false if it is not.
bool proto_topic_to_wire (const char *text, uint8_t wire[PROTO_TOPIC_WIRE]);
//  The hex digits of WIRE, NUL-terminated.
void proto_topic_to_text (const uint8_t wire[PROTO_TOPIC_WIRE], char text[PROTO_TOPIC_SIZE + 1]);
#define PROTO_CHANNEL_MAX 256 //  a channel endpoint, with its NUL

//  Settings the router announces in WELCOME.
typedef struct proto_welcome {
    uint64_t max_payload;
    uint64_t heartbeat_ms;
    uint64_t version; //  the wire version it sends in, and the client may: 1 if not said
    //  The PUB channel, when the HELLO asked for it: the endpoint to
    //  connect a SUB to, and the secret topic to subscribe to (everything
    //  main sends the window comes under it, broadcasts too). Empty: none.
    char channel[PROTO_CHANNEL_MAX];
    char topic[PROTO_TOPIC_SIZE + 1];
    //  The router's own id, new each time one starts (16 hex digits): a
    //  client that joins again learns whether the router it lost is the
    //  one it finds. Empty when not said.
    char instance[PROTO_TOPIC_SIZE + 1];
    //  Main's HELLO asked for ACCOUNTs, and this router sends them.
    bool account;
    //  The router routes named channels (the client may name them).
    bool channels;
    //  The router reads and passes on deadlines (the client may say them).
    bool deadlines;
    //  The router's clock (ms, monotonic) as it wrote this WELCOME: what
    //  the deadlines it sends are on. 0: not said.
    uint64_t clock_ms;
    //  The HELLO's "default_deadline", which the router applies: a REQUEST
    //  from the client that says no deadline has this time left (ms). 0:
    //  not said (every deadline must be said).
    uint64_t default_deadline;
    //  The router reads BATCH from the client.
    bool batch;
} proto_welcome_t;

#define PROTO_WELCOME_BODY_MAX (64 + PROTO_CHANNEL_MAX + 2 * PROTO_TOPIC_SIZE + 128)
size_t proto_welcome_encode (uint8_t *out, const proto_welcome_t *welcome);

//  Decode a WELCOME body; unknown keys are skipped, missing keys keep the
//  values already in *welcome. Returns 0 or PROKIT_EPROTO.
int proto_welcome_decode (const void *data, size_t size, proto_welcome_t *welcome);

//  What a client took in during one channel session: the session's secret
//  topic, the SENDs and broadcasts it took in from the channel (COUNT),
//  and the messages from its DEALER (DEALER). Said in HELLO and BYE, so
//  that main learns exactly what a window missed.
typedef struct proto_taken {
    char topic[PROTO_TOPIC_SIZE + 1];
    uint64_t count;
    uint64_t dealer;
} proto_taken_t;

//  How many SENDs a window took in from one sender (HELLO "last_from"),
//  and the id of the first of them (0: not said).
typedef struct proto_from {
    const char *name;
    uint64_t count;
    uint64_t first;
} proto_from_t;
#define PROTO_FROM_MAX 32

//  What a client says about itself in HELLO.
typedef struct proto_hello {
    uint64_t pid;     //  its process id, 0 if not said
    bool presence;    //  it wants JOINED/LEFT about the other windows
    bool shown;       //  it starts visible
    uint64_t version; //  the highest wire version it reads, 1 if not said
    bool channel;     //  it takes main's messages on the PUB channel
    uint64_t credit;  //  flow control: messages it holds unconfirmed, 0: none
    //  Its previous session, when it ended without the router hearing the
    //  last of it (an empty topic: none).
    proto_taken_t last;
    bool account;  //  main: it wants ACCOUNTs of what became of its messages
    bool channels; //  it reads named channels in peer fields
    //  A window that serves a pool: the service's name (a window name), ""
    //  for none.
    char service[PROTO_NAME_MAX + 1];
    bool progress;  //  it reads PROGRESS (answers before the reply)
    bool cancel;    //  it reads CANCEL (a request it handles was cancelled)
    bool deadlines; //  it reads a REQUEST's deadline in its peer field
    bool took;      //  it reads TOOK, and RECEIPTs that name windows' sessions
    bool flow;      //  it reads FLOW (hold its messages to a window, or not)
    bool batch;     //  it reads BATCH on the channel
    //  With LAST: the SENDs its lost session took in from each sender
    //  (FROM_COUNT of them, at most PROTO_FROM_MAX). Encoded only: a decode
    //  leaves them empty (proto_hello_from_decode() reads them).
    const proto_from_t *from;
    size_t from_count;
    //  The time left (ms) of its REQUESTs that say no deadline, once the
    //  WELCOME says the router applies it; 0: none (docs/PROTOCOL.md,
    //  "Deadlines").
    uint64_t default_deadline;
} proto_hello_t;

#define PROTO_HELLO_BODY_MAX                                                                       \
    (318 + 10 + PROTO_NAME_MAX + 12 + PROTO_FROM_MAX * (2 + PROTO_NAME_MAX + 1 + 2 * 9))
size_t proto_hello_encode (uint8_t *out, const proto_hello_t *hello);
int proto_hello_decode (const void *data, size_t size, proto_hello_t *hello);
//  A HELLO's "last_from": FN called for each sender, with what the lost
//  session took in from it (COUNT, the first's id FIRST: 0 when not
//  said). Returns 0 (also when there is none) or PROKIT_EPROTO.
typedef void (proto_from_fn) (const char *name, uint64_t count, uint64_t first, void *arg);
int proto_hello_from_decode (const void *data, size_t size, proto_from_fn *fn, void *arg);

//  TOOK, router -> a client whose HELLO said "took": window PEER's session
//  on a router that went (by its TOKEN) took in COUNT of this client's
//  SENDs, the first of them FIRST (its id; 0: not said).
typedef struct proto_took {
    char token[PROTO_TOPIC_SIZE + 1];
    uint64_t count;
    uint64_t first;
} proto_took_t;
#define PROTO_TOOK_BODY_MAX (48 + PROTO_TOPIC_SIZE)
size_t proto_took_encode (uint8_t *out, const proto_took_t *took);
int proto_took_decode (const void *data, size_t size, proto_took_t *took);

//  FLOW, router -> a client whose HELLO said "flow", about window PEER:
//  HOLD true when the router refused a message of the client's to it for
//  its used-up credit (the client's sends to it fail with PROKIT_EAGAIN
//  from then on), false when it has room again or has gone.
#define PROTO_FLOW_BODY_MAX 8
size_t proto_flow_encode (uint8_t *out, bool hold);
int proto_flow_decode (const void *data, size_t size, bool *hold);

//  BATCH: several messages in one. Router -> a window whose HELLO said
//  "batch", on the PUB channel only; client -> a router whose WELCOME
//  said "batch" (SEND, REQUEST, REPLY, ERROR, PROGRESS, CANCEL only:
//  proto_batch_allows()). Its body is a run of entries, each a 2-byte
//  big-endian length and that many bytes: one message as it would travel
//  alone (on the channel without its topic), a version 2 first frame with
//  its body inline. An entry is never itself a BATCH. Senders keep a
//  BATCH's body within PROTO_BATCH_MAX and batch only bodies up to
//  PROTO_BATCH_BODY_MAX.
#define PROTO_BATCH_HEAD 2
#define PROTO_BATCH_MAX 8192
#define PROTO_BATCH_BODY_MAX 512
#define PROTO_BATCH_ENTRY_MAX (PROTO_BATCH_HEAD + PROTO_PREFIX_MAX + PROTO_BATCH_BODY_MAX)
//  Write one entry at OUT (room for PROTO_BATCH_ENTRY_MAX): COMMAND, ID,
//  peer field PEER and the BODY_SIZE bytes at BODY (at most
//  PROTO_BATCH_BODY_MAX). Returns its size, head included.
size_t proto_batch_entry_encode (uint8_t *out, proto_command_t command, uint64_t id,
                                 const char *peer, const void *body, size_t body_size);
//  The entry of a BATCH's BODY (SIZE bytes) at *OFFSET, as a frame to
//  decode (PROTO_ON_CHANNEL), and *OFFSET moved past it. Returns 1, 0 at
//  the end of the body, PROKIT_EPROTO when what is left is not an entry.
int proto_batch_next (const void *body, size_t size, size_t *offset, proto_frame_t *entry);
//  May COMMAND travel in a client's BATCH to the router?
static inline bool
proto_batch_allows (int command)
{
    return command == PROTO_SEND || command == PROTO_REQUEST || command == PROTO_REPLY ||
           command == PROTO_ERROR || command == PROTO_PROGRESS || command == PROTO_CANCEL;
}

//  BYE from a client: what it took in during the session it ends, or, on
//  a connection that has not joined, an earlier session (its topic then
//  set). Empty when it has none.
typedef struct proto_bye {
    proto_taken_t last;
    bool counted;        //  LAST.count is said
    bool dealer_counted; //  LAST.dealer is said
    //  From the router: this connection is fine, only the session ended
    //  (its channel connection did): join again at once.
    bool rejoin;
} proto_bye_t;

#define PROTO_BYE_BODY_MAX 96
size_t proto_bye_encode (uint8_t *out, const proto_bye_t *bye);
int proto_bye_decode (const void *data, size_t size, proto_bye_t *bye);

//  RECEIPT, router -> client: of the SENDs this client sent each window
//  since its HELLO, how many that window has taken in (COUNT, cumulative),
//  as a map of window name -> count. To a client whose HELLO said "took",
//  a window on the channel has [count, queued, token, session_queued]
//  instead: of those SENDs, how many the router QUEUED to it, and its
//  session's TOKEN (not its topic: see router.c's s_session_token()) and
//  how many SENDs from this client's name (this
//  session's or an earlier one's) that session was queued
//  (SESSION_QUEUED), counted at the same moment. ENCODE writes COUNT
//  entries into OUT (capacity PROTO_RECEIPT_BODY_MAX; at most
//  PROTO_RECEIPT_PAIRS).
#define PROTO_RECEIPT_PAIRS 32
#define PROTO_RECEIPT_BODY_MAX                                                                     \
    (5 + PROTO_RECEIPT_PAIRS * (2 + PROTO_NAME_MAX + 1 + 3 * 9 + 1 + PROTO_TOPIC_SIZE))
typedef struct proto_receipt_entry {
    const char *name;
    uint64_t count;
    const char *token; //  the session's; NULL: a plain count
    uint64_t queued;
    uint64_t session_queued;
} proto_receipt_entry_t;
size_t proto_receipt_encode (uint8_t *out, const proto_receipt_entry_t *entries, size_t count);
//  Decode a RECEIPT body, calling FN for each entry, and SESSION_FN after
//  it for one that names a session. Returns 0 or PROKIT_EPROTO (then the
//  callbacks may have been called for the entries before).
typedef void (proto_receipt_fn) (const char *name, uint64_t count, void *arg);
typedef void (proto_receipt_session_fn) (const char *name, uint64_t queued, const char *token,
                                         uint64_t session_queued, void *arg);
int proto_receipt_decode (const void *data, size_t size, proto_receipt_fn *fn,
                          proto_receipt_session_fn *session_fn, void *arg);

//  ACCOUNT, router -> a main that asked for it in HELLO: of main's SENDs
//  and BROADCASTs since its HELLO, how many the router has HANDLED (each
//  published, or refused with an ERROR), and for each window, how many of
//  them the router PUBLISHED to it and how many of those are SETTLED (taken
//  in by the window, or reported to main as not), all cumulative; and for
//  a window on the channel, its session's TOKEN and how many that session
//  has been published (SESSION_PUBLISHED) as of the same moment. ENCODE
//  writes COUNT windows (at most PROTO_ACCOUNT_WINDOWS) into OUT (capacity
//  PROTO_ACCOUNT_BODY_MAX, within a map body's limit).
#define PROTO_ACCOUNT_WINDOWS 20
#define PROTO_ACCOUNT_BODY_MAX                                                                     \
    (48 + PROTO_ACCOUNT_WINDOWS * (2 * (2 + PROTO_NAME_MAX + 1) + 3 * 9 + 1 + PROTO_TOPIC_SIZE))
typedef struct proto_account_window {
    const char *name;
    uint64_t published;
    uint64_t settled;
    const char *token; //  its session's; NULL: not on the channel now
    uint64_t session_published;
} proto_account_window_t;
size_t proto_account_encode (uint8_t *out, uint64_t handled, const proto_account_window_t *windows,
                             size_t count);
//  Decode an ACCOUNT body: *HANDLED, FN called for each window, then
//  SESSION_FN for each window's session. Returns 0 or PROKIT_EPROTO (then
//  the callbacks may have been called for what came before).
typedef void (proto_account_fn) (const char *name, uint64_t published, uint64_t settled, void *arg);
typedef void (proto_account_session_fn) (const char *name, const char *token, uint64_t published,
                                         void *arg);
int proto_account_decode (const void *data, size_t size, uint64_t *handled, proto_account_fn *fn,
                          proto_account_session_fn *session_fn, void *arg);

//  CREDIT: what a client has taken in, since its HELLO, counted in
//  messages: from its DEALER (CONSUMED), and from the PUB channel (CHANNEL).
typedef struct proto_credit {
    uint64_t consumed;
    uint64_t channel;
} proto_credit_t;

#define PROTO_CREDIT_BODY_MAX 48
size_t proto_credit_encode (uint8_t *out, const proto_credit_t *credit);
int proto_credit_decode (const void *data, size_t size, proto_credit_t *credit);

//  The body of JOINED and LEFT.
typedef struct proto_presence {
    uint64_t pid;                     //  JOINED: the window's pid, as it said in HELLO
    char address[128];                //  JOINED: the peer address of its connection
    char reason[64];                  //  LEFT: "closed", "connection lost"
    bool shown;                       //  JOINED: whether it said it starts visible
    uint64_t joined_at;               //  JOINED: when it joined, ms since the Unix epoch
    char service[PROTO_NAME_MAX + 1]; //  JOINED: the pool it serves, "" for none
    //  JOINED, to main only: the window's HELLO said what its session on
    //  another router (one that went) took in of main's messages, and the
    //  token of that session (what main's ACCOUNT named it by).
    char last_token[PROTO_TOPIC_SIZE + 1];
    uint64_t last_count;
} proto_presence_t;

#define PROTO_PRESENCE_BODY_MAX (320 + 10 + PROTO_NAME_MAX + 32 + PROTO_TOPIC_SIZE)
size_t proto_presence_encode (uint8_t *out, const proto_presence_t *presence);
int proto_presence_decode (const void *data, size_t size, proto_presence_t *presence);

//  QUERY: what a client asks the router ("windows" or "stats").
#define PROTO_QUERY_WHAT_MAX 32
#define PROTO_QUERY_BODY_MAX 64
size_t proto_query_encode (uint8_t *out, const char *what);
int proto_query_decode (const void *data, size_t size, char what[PROTO_QUERY_WHAT_MAX]);

//  One window in the INFO answering "windows".
typedef struct proto_window_info {
    char name[PROTO_NAME_MAX + 1];
    uint64_t pid;
    char address[128];
    bool shown;
    uint64_t joined_at;               //  ms since the Unix epoch
    uint64_t last_seen;               //  ms since the Unix epoch
    char service[PROTO_NAME_MAX + 1]; //  the pool it serves, "" for none
} proto_window_info_t;

#define PROTO_WINDOW_INFO_MAX (320 + 10 + PROTO_NAME_MAX)
//  Encode one window as a map (the INFO body is an array of them).
size_t proto_window_info_encode (uint8_t *out, const proto_window_info_t *info);

//  Decode an INFO body answering "windows": an array of maps. Fills up to
//  CAPACITY entries of OUT and stores the array's length in *COUNT.
int proto_window_infos_decode (const void *data, size_t size, proto_window_info_t *out,
                               size_t capacity, size_t *count);

//  The router's counters, in one list: the wire's keys, router_stats_t,
//  prokit_stats_t and every copy between them are made from it. A new
//  counter goes here, and into prokit_stats_t (in prokit/info.h).
#define PROTO_COUNTER_LIST(X)                                                                      \
    X (received)                                                                                   \
    X (routed)                                                                                     \
    X (errors_sent)                                                                                \
    X (garbage)                                                                                    \
    X (malformed)                                                                                  \
    X (too_big)                                                                                    \
    X (unroutable)                                                                                 \
    X (back_pressure)                                                                              \
    X (control_lost)                                                                               \
    X (windows)                                                                                    \
    X (limited)                                                                                    \
    X (cancelled)                                                                                  \
    X (late)                                                                                       \
    X (batches)                                                                                    \
    X (batches_received)
#define PROTO_COUNTER_ONE(name) +1
#define PROTO_COUNTERS (0 PROTO_COUNTER_LIST (PROTO_COUNTER_ONE))
extern const char *const proto_counter_names[PROTO_COUNTERS];

//  Encode N named unsigned counters as a map (the INFO answering "stats"),
//  and decode them back (keys not in KEYS are skipped, missing ones are 0).
#define PROTO_COUNTERS_MAX 512
size_t proto_counters_encode (uint8_t *out, const char *const *keys, const uint64_t *values,
                              size_t n);
int proto_counters_decode (const void *data, size_t size, const char *const *keys, uint64_t *values,
                           size_t n);

//  Return the command's name ("HELLO", ...) or "?".
const char *proto_command_name (int command);

#endif
