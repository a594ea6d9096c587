/*  proto.c: the prokit wire codec.

    Everything that parses bytes from the network lives here, so that one
    file carries the whole burden of distrust: every length is checked
    before it is used, every decode either fills its result completely or
    fails with PROKIT_EPROTO. It must never touch a socket, allocate, or
    trust a count it read. docs/PROTOCOL.md describes the same rules.
*/
#include "proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pack.h"
#include "prokit/error.h"

//  --- header ----------------------------------------------------------------

void
proto_header_encode (uint8_t out[PROTO_HEADER_SIZE], proto_command_t command, uint64_t id)
{
    out[0] = PROTO_SIGNATURE_0;
    out[1] = PROTO_SIGNATURE_1;
    out[2] = PROTO_VERSION_1;
    out[3] = (uint8_t) command;
    pack_put_be (out + 4, id, 8);
}

size_t
proto_prefix_encode (uint8_t out[PROTO_PREFIX_MAX], proto_command_t command, uint64_t id,
                     const char *peer)
{
    out[0] = PROTO_SIGNATURE_0;
    out[1] = PROTO_SIGNATURE_1;
    out[2] = PROTO_VERSION_2;
    out[3] = (uint8_t) command;
    //  Bit 63 (one-way messages) goes into the head, so that small ids of
    //  either kind take few bytes.
    uint64_t rest = id & ~PROTO_ID_ONE_WAY_BIT;
    size_t bytes = 0;
    while (bytes < 8 && (rest >> (8 * bytes)) != 0)
        bytes++;
    out[4] = (uint8_t) ((id & PROTO_ID_ONE_WAY_BIT ? 0x80 : 0) | bytes);
    pack_put_be (out + PROTO_V2_HEADER_MIN, rest, bytes);
    size_t n = PROTO_V2_HEADER_MIN + bytes;
    size_t peer_len = strnlen (peer, PROTO_ADDRESS_MAX);
    out[n++] = (uint8_t) peer_len;
    memcpy (out + n, peer, peer_len);
    return n + peer_len;
}

//  The size of the version 2 header at P (SIZE bytes available), with its
//  id in *ID; 0 when the id head is malformed or the frame ends before the
//  header and the peer length byte.
static size_t
s_v2_header (const uint8_t *p, size_t size, uint64_t *id)
{
    if (size < PROTO_V2_HEADER_MIN)
        return 0;
    uint8_t head = p[4];
    size_t bytes = head & 0x0f;
    //  Bits 4 to 6 are reserved; bit 63 travels only as the head's flag.
    if ((head & 0x70) || bytes > 8 || size < PROTO_V2_HEADER_MIN + bytes + 1 ||
        (bytes == 8 && (p[PROTO_V2_HEADER_MIN] & 0x80)))
        return 0;
    *id = pack_be (p + PROTO_V2_HEADER_MIN, bytes) | (head & 0x80 ? PROTO_ID_ONE_WAY_BIT : 0);
    return PROTO_V2_HEADER_MIN + bytes;
}

//  proto_header_decode(), with the header's size (a version 2 header's
//  length: where its peer length byte is) in *HEADER.
static int
s_header_decode (const void *data, size_t size, uint8_t *command, uint64_t *id, size_t *header)
{
    const uint8_t *p = (const uint8_t *) data;
    *command = 0;
    *id = 0;
    if (!p || size < 3 || p[0] != PROTO_SIGNATURE_0 || p[1] != PROTO_SIGNATURE_1)
        return PROKIT_EPROTO;
    //  The version is checked before the size: a future version may have a
    //  longer header, and its sender deserves EVERSION, not EPROTO.
    if (p[2] != PROTO_VERSION_1 && p[2] != PROTO_VERSION_2)
        return PROKIT_EVERSION;
    //  Version 1's first frame is the header alone; version 2's goes on
    //  with at least the peer length.
    uint64_t value = 0;
    if (p[2] == PROTO_VERSION_1) {
        if (size != PROTO_HEADER_SIZE)
            return PROKIT_EPROTO;
        value = pack_be (p + 4, 8);
        *header = PROTO_HEADER_SIZE;
    }
    else if ((*header = s_v2_header (p, size, &value)) == 0)
        return PROKIT_EPROTO;
    *id = value;
    if (p[3] < PROTO_HELLO || p[3] > PROTO_COMMAND_LAST)
        return PROKIT_EPROTO;
    *command = p[3];
    return PROKIT_OK;
}

int
proto_header_decode (const void *data, size_t size, uint8_t *command, uint64_t *id)
{
    size_t header;
    return s_header_decode (data, size, command, id, &header);
}

//  --- names -----------------------------------------------------------------

static bool
s_alnum (char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

bool
proto_window_name_valid (const char *name, size_t len)
{
    if (!name || len == 0 || len > PROTO_NAME_MAX || !s_alnum (name[0]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!s_alnum (name[i]) && name[i] != '.' && name[i] != '_' && name[i] != '-')
            return false;
    return true;
}

bool
proto_peer_name_valid (const char *name, size_t len)
{
    if (name && len == strlen (PROTO_MAIN_NAME) && memcmp (name, PROTO_MAIN_NAME, len) == 0)
        return true;
    return proto_window_name_valid (name, len);
}

bool
proto_channel_name_valid (const char *name, size_t len)
{
    if (!name || len == 0 || len > PROTO_CHANNEL_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (name[i] < 0x21 || name[i] > 0x7e || name[i] == PROTO_CHANNEL_MARK)
            return false;
    return true;
}

size_t
proto_address (char out[PROTO_ADDRESS_MAX + 1], const char *name, const char *channel)
{
    return proto_address_deadline (out, name, 0, channel);
}

size_t
proto_address_deadline (char out[PROTO_ADDRESS_MAX + 1], const char *name, uint64_t deadline_ms,
                        const char *channel)
{
    size_t n = strnlen (name, PROTO_NAME_MAX);
    memcpy (out, name, n);
    if (deadline_ms > 0) {
        //  By hand: snprintf() cost more than the rest of a request's
        //  routing put together.
        char digits[PROTO_DEADLINE_DIGITS];
        size_t count = 0;
        for (; deadline_ms > 0 && count < PROTO_DEADLINE_DIGITS; deadline_ms /= 10)
            digits[count++] = (char) ('0' + deadline_ms % 10);
        out[n++] = PROTO_DEADLINE_MARK;
        while (count > 0)
            out[n++] = digits[--count];
    }
    if (channel && channel[0]) {
        size_t c = strnlen (channel, PROTO_CHANNEL_NAME_MAX);
        out[n++] = PROTO_CHANNEL_MARK;
        memcpy (out + n, channel, c);
        n += c;
    }
    out[n] = 0;
    return n;
}

//  Copy at most MAX bytes of the string FROM into TO, NUL-terminated. A
//  loop, not strnlen() and memcpy(): names are a few bytes, channels
//  mostly none, and the calls cost more than the copy.
static void
s_copy_cut (char *to, const char *from, size_t max)
{
    size_t n = 0;
    for (; n < max && from[n]; n++)
        to[n] = from[n];
    to[n] = 0;
}

void
proto_peer_copy (const proto_peer_t *peer, char name[PROTO_NAME_MAX + 1],
                 char channel[PROTO_CHANNEL_NAME_MAX + 1])
{
    s_copy_cut (name, peer->name, PROTO_NAME_MAX);
    s_copy_cut (channel, peer->channel ? peer->channel : "", PROTO_CHANNEL_NAME_MAX);
}

//  --- whole messages ----------------------------------------------------------

//  What the peer frame must hold for a command: nothing, a window name,
//  or a window name or "@main".
typedef enum { PEER_EMPTY, PEER_WINDOW, PEER_ANY, PEER_ANY_OR_EMPTY } peer_rule_t;

//  What the body frame must hold.
typedef enum { BODY_EMPTY, BODY_VALUE, BODY_MAP_OR_EMPTY, BODY_ERROR, BODY_ENTRIES } body_rule_t;

typedef struct {
    bool to_router;
    bool to_client;
    peer_rule_t peer_to_router;
    peer_rule_t peer_to_client;
    body_rule_t body;
} command_rule_t;

//  Indexed by command. See the command table in docs/PROTOCOL.md.
static const command_rule_t s_rules[PROTO_COMMAND_LAST + 1] = {
    [PROTO_HELLO] = { true, false, PEER_ANY, PEER_EMPTY, BODY_MAP_OR_EMPTY },
    [PROTO_WELCOME] = { false, true, PEER_EMPTY, PEER_ANY, BODY_MAP_OR_EMPTY },
    [PROTO_BYE] = { true, true, PEER_EMPTY, PEER_EMPTY, BODY_MAP_OR_EMPTY },
    [PROTO_SEND] = { true, true, PEER_WINDOW, PEER_ANY, BODY_VALUE },
    [PROTO_BROADCAST] = { true, true, PEER_EMPTY, PEER_ANY, BODY_VALUE },
    [PROTO_REQUEST] = { true, true, PEER_ANY, PEER_ANY, BODY_VALUE },
    [PROTO_REPLY] = { true, true, PEER_ANY, PEER_ANY, BODY_VALUE },
    [PROTO_ERROR] = { true, true, PEER_ANY, PEER_ANY_OR_EMPTY, BODY_ERROR },
    [PROTO_PING] = { true, true, PEER_EMPTY, PEER_EMPTY, BODY_EMPTY },
    [PROTO_PONG] = { true, true, PEER_EMPTY, PEER_EMPTY, BODY_EMPTY },
    [PROTO_JOINED] = { false, true, PEER_EMPTY, PEER_WINDOW, BODY_MAP_OR_EMPTY },
    [PROTO_LEFT] = { false, true, PEER_EMPTY, PEER_WINDOW, BODY_MAP_OR_EMPTY },
    [PROTO_CLOSE] = { true, true, PEER_WINDOW, PEER_ANY, BODY_MAP_OR_EMPTY },
    [PROTO_SHOW] = { true, true, PEER_WINDOW, PEER_ANY, BODY_EMPTY },
    [PROTO_HIDE] = { true, true, PEER_WINDOW, PEER_ANY, BODY_EMPTY },
    [PROTO_QUERY] = { true, false, PEER_EMPTY, PEER_EMPTY, BODY_MAP_OR_EMPTY },
    [PROTO_INFO] = { false, true, PEER_EMPTY, PEER_EMPTY, BODY_VALUE },
    [PROTO_CREDIT] = { true, false, PEER_EMPTY, PEER_EMPTY, BODY_MAP_OR_EMPTY },
    [PROTO_RECEIPT] = { false, true, PEER_EMPTY, PEER_EMPTY, BODY_MAP_OR_EMPTY },
    [PROTO_ACCOUNT] = { false, true, PEER_EMPTY, PEER_EMPTY, BODY_MAP_OR_EMPTY },
    [PROTO_PROGRESS] = { true, true, PEER_ANY, PEER_ANY, BODY_VALUE },
    [PROTO_CANCEL] = { true, true, PEER_ANY, PEER_ANY, BODY_EMPTY },
    [PROTO_TOOK] = { false, true, PEER_EMPTY, PEER_WINDOW, BODY_MAP_OR_EMPTY },
    [PROTO_FLOW] = { false, true, PEER_EMPTY, PEER_WINDOW, BODY_MAP_OR_EMPTY },
    [PROTO_BATCH] = { true, true, PEER_EMPTY, PEER_EMPTY, BODY_ENTRIES },
};

static bool
s_peer_ok (peer_rule_t rule, const char *name, size_t len)
{
    switch (rule) {
    case PEER_EMPTY: return len == 0;
    case PEER_WINDOW: return proto_window_name_valid (name, len);
    case PEER_ANY: return proto_peer_name_valid (name, len);
    case PEER_ANY_OR_EMPTY: return len == 0 || proto_peer_name_valid (name, len);
    }
    return false;
}

static bool
s_is_map (const void *data, size_t size)
{
    pack_cursor_t c = { (const uint8_t *) data, (const uint8_t *) data + size };
    uint64_t n;
    return pack_read_container (&c, 0x80, 0xde, 0xdf, &n);
}

bool
proto_foreign (const proto_frame_t *frames, size_t count)
{
    const uint8_t *p = count > 0 ? (const uint8_t *) frames[0].data : NULL;
    return !p || frames[0].size < 2 || p[0] != PROTO_SIGNATURE_0 || p[1] != PROTO_SIGNATURE_1;
}

//  The deadline at the end of the NAME_LEN bytes of a REQUEST's peer name
//  at PEER, after "!" (ms left, 1 to PROTO_DEADLINE_MAX, at most
//  PROTO_DEADLINE_DIGITS digits): into *DEADLINE_MS, and *NAME_LEN cut
//  before the "!". None: nothing changes. Returns PROKIT_OK or
//  PROKIT_EPROTO.
static int
s_deadline_decode (const char *peer, size_t *name_len, uint64_t *deadline_ms)
{
    const char *bang = (const char *) memchr (peer, PROTO_DEADLINE_MARK, *name_len);
    if (!bang)
        return PROKIT_OK;
    size_t digits = *name_len - (size_t) (bang - peer) - 1;
    uint64_t ttl = 0;
    if (digits == 0 || digits > PROTO_DEADLINE_DIGITS)
        return PROKIT_EPROTO;
    for (size_t i = 1; i <= digits; i++) {
        if (bang[i] < '0' || bang[i] > '9')
            return PROKIT_EPROTO;
        uint64_t digit = (uint64_t) (bang[i] - '0');
        //  18 digits never exceed the maximum (19 may): only longer
        //  numbers are checked, a division the usual few do without.
        if (i > 18 && ttl > (PROTO_DEADLINE_MAX - digit) / 10)
            return PROKIT_EPROTO;
        ttl = ttl * 10 + digit;
    }
    if (ttl == 0)
        return PROKIT_EPROTO;
    *deadline_ms = ttl;
    *name_len = (size_t) (bang - peer);
    return PROKIT_OK;
}

//  Does a body of BODY_SIZE bytes at BODY fit what its command carries
//  (KIND)? PROKIT_OK, PROKIT_ETOOBIG (a payload over MAX_PAYLOAD) or
//  PROKIT_EPROTO.
static int
s_body_check (body_rule_t kind, const uint8_t *body, size_t body_size, size_t max_payload)
{
    switch (kind) {
    case BODY_EMPTY: return body_size == 0 ? PROKIT_OK : PROKIT_EPROTO;
    case BODY_VALUE:
        if (body_size > max_payload)
            return PROKIT_ETOOBIG;
        return pack_check (body, body_size) == PROKIT_OK ? PROKIT_OK : PROKIT_EPROTO;
    case BODY_MAP_OR_EMPTY:
        if (body_size > 0 && (body_size > 4096 || pack_check (body, body_size) != PROKIT_OK ||
                              !s_is_map (body, body_size)))
            return PROKIT_EPROTO;
        return PROKIT_OK;
    case BODY_ERROR: {
        proto_error_t error;
        return proto_error_decode (body, body_size, &error) == PROKIT_OK ? PROKIT_OK
                                                                         : PROKIT_EPROTO;
    }
    case BODY_ENTRIES: //  each entry is checked as it is read (proto_batch_next)
        return body_size <= PROTO_BATCH_MAX ? PROKIT_OK : PROKIT_EPROTO;
    }
    return PROKIT_OK;
}

int
proto_decode (const proto_frame_t *frames, size_t count, proto_direction_t direction,
              size_t max_payload, proto_msg_t *msg)
{
    //  Field by field: clearing the peer's 256 bytes would cost more than
    //  the rest of the decoding.
    msg->version = 0;
    msg->peer[0] = 0;
    msg->channel_name[0] = 0;
    msg->deadline_ms = 0;
    msg->body = NULL;
    msg->body_size = 0;
    msg->body_frame = 0;
    msg->body_inline = false;
    if (count < 1) {
        msg->command = 0;
        msg->id = 0;
        return PROKIT_EPROTO;
    }
    size_t header = 0;
    int rc = s_header_decode (frames[0].data, frames[0].size, &msg->command, &msg->id, &header);
    if (rc == PROKIT_EVERSION)
        msg->version = ((const uint8_t *) frames[0].data)[2]; //  for the refusal's words
    if (rc != PROKIT_OK)
        return rc;
    msg->version = ((const uint8_t *) frames[0].data)[2];
    const char *peer;
    size_t peer_len;
    if (msg->version == PROTO_VERSION_1) {
        if (count != 3)
            return PROKIT_EPROTO;
        peer = (const char *) frames[1].data;
        peer_len = frames[1].size;
        msg->body_frame = 2;
    }
    else {
        //  The header's check left at least the peer length byte.
        const uint8_t *first = (const uint8_t *) frames[0].data;
        peer = (const char *) first + header + 1;
        peer_len = first[header];
        size_t prefix = header + 1 + peer_len;
        if (count > 2 || peer_len > PROTO_ADDRESS_MAX || prefix > frames[0].size)
            return PROKIT_EPROTO;
        //  The body is in the first frame after the peer, or (when nothing
        //  follows the peer) alone in a second frame.
        if (count == 2 && prefix != frames[0].size)
            return PROKIT_EPROTO;
        msg->body_inline = count == 1;
        msg->body_frame = count - 1;
        if (msg->body_inline) {
            msg->body = first + prefix;
            msg->body_size = frames[0].size - prefix;
        }
    }
    if (!msg->body_inline) {
        msg->body = (const uint8_t *) frames[msg->body_frame].data;
        msg->body_size = frames[msg->body_frame].size;
    }
    const uint8_t *body = msg->body;
    size_t body_size = msg->body_size;
    const command_rule_t *rule = &s_rules[msg->command];
    bool to_router = direction == PROTO_TO_ROUTER;
    if (to_router ? !rule->to_router : !rule->to_client)
        return PROKIT_EPROTO;
    //  A BATCH travels to the router, or on the channel (never on a
    //  client's DEALER), its body inline.
    if (msg->command == PROTO_BATCH && (direction == PROTO_TO_CLIENT || !msg->body_inline))
        return PROKIT_EPROTO;

    //  SEND, BROADCAST and REQUEST may name a channel after the name.
    bool may_name = msg->command == PROTO_SEND || msg->command == PROTO_BROADCAST ||
                    msg->command == PROTO_REQUEST;
    const char *mark = may_name && peer_len > 0
                           ? (const char *) memchr (peer, PROTO_CHANNEL_MARK, peer_len)
                           : NULL;
    size_t name_len = mark ? (size_t) (mark - peer) : peer_len;
    if (mark && !proto_channel_name_valid (mark + 1, peer_len - name_len - 1))
        return PROKIT_EPROTO;
    //  A REQUEST may say its deadline after the name: "!" and the ms left.
    if (msg->command == PROTO_REQUEST && name_len > 0 &&
        s_deadline_decode (peer, &name_len, &msg->deadline_ms) != PROKIT_OK)
        return PROKIT_EPROTO;
    if (direction == PROTO_ON_CHANNEL
            ? name_len != 0
            : name_len > PROTO_NAME_MAX ||
                  !s_peer_ok (to_router ? rule->peer_to_router : rule->peer_to_client, peer,
                              name_len))
        return PROKIT_EPROTO;
    if (name_len > 0)
        memcpy (msg->peer, peer, name_len);
    msg->peer[name_len] = 0;
    if (mark) {
        size_t channel_len = peer_len - (size_t) (mark - peer) - 1; //  checked: at most 64
        memcpy (msg->channel_name, mark + 1, channel_len);
        msg->channel_name[channel_len] = 0;
    }
    //  A client's REPLY or ERROR answers a request, whose id never has the
    //  one-way bit: an ERROR with it is the router's own report of an
    //  undelivered message, which no client may forge.
    if ((msg->command == PROTO_PROGRESS || msg->command == PROTO_CANCEL ||
         (to_router && (msg->command == PROTO_REPLY || msg->command == PROTO_ERROR))) &&
        (msg->id & PROTO_ID_ONE_WAY_BIT))
        return PROKIT_EPROTO;

    return s_body_check (rule->body, body, body_size, max_payload);
}

//  --- ERROR bodies -----------------------------------------------------------

size_t
proto_error_encode (uint8_t *out, int code, const char *text, int app_code)
{
    if (!text)
        text = "";
    size_t len = strlen (text);
    if (len > PROTO_ERROR_TEXT_MAX)
        len = PROTO_ERROR_TEXT_MAX;
    size_t n = 0;
    n += pack_write_array_head (out + n, 3);
    n += pack_write_int (out + n, code);
    n += pack_write_str (out + n, text, len);
    n += pack_write_int (out + n, app_code);
    return n;
}

int
proto_error_decode (const void *data, size_t size, proto_error_t *error)
{
    memset (error, 0, sizeof (*error));
    if (!data || pack_check (data, size) != PROKIT_OK)
        return PROKIT_EPROTO;
    pack_cursor_t c = { (const uint8_t *) data, (const uint8_t *) data + size };
    uint64_t n;
    int64_t code, app_code;
    const uint8_t *text;
    size_t len;
    if (!pack_read_container (&c, 0x90, 0xdc, 0xdd, &n) || n != 3 || !pack_read_int (&c, &code) ||
        !pack_read_str (&c, &text, &len) || !pack_read_int (&c, &app_code))
        return PROKIT_EPROTO;
    //  Codes are negative prokit errors; INT32 bounds keep app codes in int.
    if (code >= 0 || code < INT32_MIN || app_code < INT32_MIN || app_code > INT32_MAX)
        return PROKIT_EPROTO;
    error->code = (int) code;
    error->app_code = (int) app_code;
    if (len > PROTO_ERROR_TEXT_MAX)
        len = PROTO_ERROR_TEXT_MAX;
    //  Text is a C string from here on: it ends at the first NUL, if any.
    len = strnlen ((const char *) text, len);
    memcpy (error->text, text, len);
    error->text[len] = 0;
    return PROKIT_OK;
}

//  --- WELCOME bodies ---------------------------------------------------------

//  --- control maps (WELCOME, HELLO, JOINED, LEFT) ------------------------------

typedef enum { FIELD_UINT, FIELD_BOOL, FIELD_STR } field_type_t;

//  A key a control map may carry, and where its value goes.
typedef struct field {
    const char *key;
    field_type_t type;
    void *out;       //  uint64_t *, bool * or char[capacity]
    size_t capacity; //  for FIELD_STR, including the NUL
} field_t;

//  Decode a map body: known keys of the right type fill their field, other
//  keys (of any type) are skipped, missing keys leave the field as it was.
//  An empty body is an empty map.
static int
s_decode_map (const void *data, size_t size, const field_t *fields, size_t count)
{
    if (size == 0)
        return PROKIT_OK;
    pack_cursor_t c;
    uint64_t pairs;
    if (!data || pack_check (data, size) != PROKIT_OK || !pack_open_map (data, size, &c, &pairs))
        return PROKIT_EPROTO;
    for (uint64_t i = 0; i < pairs; i++) {
        const uint8_t *key;
        size_t key_len;
        pack_cursor_t at_key = c;
        const field_t *field = NULL;
        if (pack_read_str (&c, &key, &key_len)) {
            for (size_t f = 0; f < count && !field; f++)
                if (strlen (fields[f].key) == key_len && memcmp (fields[f].key, key, key_len) == 0)
                    field = &fields[f];
        }
        else
            c = at_key; //  not a string key: skip the pair from its first byte
        if (!field) {
            if ((c.at == at_key.at && !pack_skip (&c)) || !pack_skip (&c))
                return PROKIT_EPROTO;
            continue;
        }
        const uint8_t *text;
        size_t len;
        switch (field->type) {
        case FIELD_UINT:
            if (!pack_read_uint (&c, (uint64_t *) field->out))
                return PROKIT_EPROTO;
            break;
        case FIELD_BOOL:
            if (!pack_read_bool (&c, (bool *) field->out))
                return PROKIT_EPROTO;
            break;
        case FIELD_STR:
            if (!pack_read_str (&c, &text, &len))
                return PROKIT_EPROTO;
            len = strnlen ((const char *) text, len);
            if (len >= field->capacity)
                len = field->capacity - 1;
            memcpy (field->out, text, len);
            ((char *) field->out)[len] = 0;
            break;
        }
    }
    return PROKIT_OK;
}

//  Encode the fields as a map, leaving out zero numbers, false flags and
//  empty strings. OUT must hold the largest possible result.
//  FIELDS (COUNT) as a map, the ones that are set; EXTRA more pairs are
//  counted in its head, for the caller to write after.
static size_t
s_encode_map_with (uint8_t *out, const field_t *fields, size_t count, size_t extra)
{
    size_t pairs = extra;
    for (size_t f = 0; f < count; f++) {
        const field_t *field = &fields[f];
        if ((field->type == FIELD_UINT && *(const uint64_t *) field->out != 0) ||
            (field->type == FIELD_BOOL && *(const bool *) field->out) ||
            (field->type == FIELD_STR && *(const char *) field->out))
            pairs++;
    }
    size_t n = 0;
    n += pack_write_map_head (out + n, pairs);
    for (size_t f = 0; f < count; f++) {
        const field_t *field = &fields[f];
        if (field->type == FIELD_UINT && *(const uint64_t *) field->out != 0) {
            n += pack_write_str (out + n, field->key, strlen (field->key));
            n += pack_write_uint (out + n, *(const uint64_t *) field->out);
        }
        else if (field->type == FIELD_BOOL && *(const bool *) field->out) {
            n += pack_write_str (out + n, field->key, strlen (field->key));
            n += pack_write_bool (out + n, true);
        }
        else if (field->type == FIELD_STR && *(const char *) field->out) {
            n += pack_write_str (out + n, field->key, strlen (field->key));
            const char *text = (const char *) field->out;
            n += pack_write_str (out + n, text, strnlen (text, field->capacity - 1));
        }
    }
    return n;
}

static size_t
s_encode_map (uint8_t *out, const field_t *fields, size_t count)
{
    return s_encode_map_with (out, fields, count, 0);
}

static int
s_hex_digit (char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool
proto_topic_to_wire (const char *text, uint8_t wire[PROTO_TOPIC_WIRE])
{
    if (strlen (text) != PROTO_TOPIC_SIZE)
        return false;
    for (size_t i = 0; i < PROTO_TOPIC_WIRE; i++) {
        int high = s_hex_digit (text[2 * i]), low = s_hex_digit (text[2 * i + 1]);
        if (high < 0 || low < 0)
            return false;
        wire[i] = (uint8_t) (high << 4 | low);
    }
    return true;
}

void
proto_topic_to_text (const uint8_t wire[PROTO_TOPIC_WIRE], char text[PROTO_TOPIC_SIZE + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < PROTO_TOPIC_WIRE; i++) {
        text[2 * i] = digits[wire[i] >> 4];
        text[2 * i + 1] = digits[wire[i] & 15];
    }
    text[PROTO_TOPIC_SIZE] = 0;
}

int
proto_version_common (uint64_t version)
{
    if (version < PROTO_VERSION_1)
        return PROTO_VERSION_1;
    return version < PROTO_VERSION_MAX ? (int) version : PROTO_VERSION_MAX;
}

//  A version the peer did not state, or stated as 0, is version 1.
static void
s_default_version (uint64_t *version)
{
    if (*version == 0)
        *version = PROTO_VERSION_1;
}

//  KEY (KEY_LEN bytes): true; a flag is said only when it is set.
static size_t
s_write_flag (uint8_t *out, const char *key, size_t key_len)
{
    size_t n = pack_write_str (out, key, key_len);
    return n + pack_write_bool (out + n, true);
}

size_t
proto_welcome_encode (uint8_t *out, const proto_welcome_t *welcome)
{
    //  Both settings always, even 0; the version only past 1, so that a
    //  version 1 WELCOME is what it always was; the channel only when one
    //  was asked for.
    bool versioned = welcome->version > PROTO_VERSION_1;
    bool channel = welcome->channel[0] && welcome->topic[0];
    bool instance = welcome->instance[0] != 0;
    size_t n = 0;
    n += pack_write_map_head (out + n,
                              2 + (versioned ? 1 : 0) + (channel ? 2 : 0) + (instance ? 1 : 0) +
                                  (welcome->account ? 1 : 0) + (welcome->channels ? 1 : 0) +
                                  (welcome->deadlines ? 1 : 0) + (welcome->clock_ms ? 1 : 0) +
                                  (welcome->default_deadline ? 1 : 0) + (welcome->batch ? 1 : 0));
    n += pack_write_str (out + n, "max_payload", 11);
    n += pack_write_uint (out + n, welcome->max_payload);
    n += pack_write_str (out + n, "heartbeat_ms", 12);
    n += pack_write_uint (out + n, welcome->heartbeat_ms);
    if (versioned) {
        n += pack_write_str (out + n, "version", 7);
        n += pack_write_uint (out + n, welcome->version);
    }
    if (channel) {
        n += pack_write_str (out + n, "channel", 7);
        n += pack_write_str (out + n, welcome->channel,
                             strnlen (welcome->channel, PROTO_CHANNEL_MAX - 1));
        n += pack_write_str (out + n, "topic", 5);
        n += pack_write_str (out + n, welcome->topic, strnlen (welcome->topic, PROTO_TOPIC_SIZE));
    }
    if (instance) {
        n += pack_write_str (out + n, "instance", 8);
        n += pack_write_str (out + n, welcome->instance,
                             strnlen (welcome->instance, PROTO_TOPIC_SIZE));
    }
    if (welcome->account)
        n += s_write_flag (out + n, "account", 7);
    if (welcome->channels)
        n += s_write_flag (out + n, "channels", 8);
    if (welcome->deadlines)
        n += s_write_flag (out + n, "deadlines", 9);
    if (welcome->clock_ms) {
        n += pack_write_str (out + n, "clock", 5);
        n += pack_write_uint (out + n, welcome->clock_ms);
    }
    if (welcome->default_deadline) {
        n += pack_write_str (out + n, "default_deadline", 16);
        n += pack_write_uint (out + n, welcome->default_deadline);
    }
    if (welcome->batch)
        n += s_write_flag (out + n, "batch", 5);
    return n;
}

int
proto_welcome_decode (const void *data, size_t size, proto_welcome_t *welcome)
{
    welcome->version = 0;
    welcome->channel[0] = 0;
    welcome->topic[0] = 0;
    welcome->instance[0] = 0;
    welcome->account = false;
    welcome->channels = false;
    welcome->deadlines = false;
    welcome->clock_ms = 0;
    welcome->default_deadline = 0;
    welcome->batch = false;
    field_t fields[] = { { "max_payload", FIELD_UINT, &welcome->max_payload, 0 },
                         { "heartbeat_ms", FIELD_UINT, &welcome->heartbeat_ms, 0 },
                         { "version", FIELD_UINT, &welcome->version, 0 },
                         { "channel", FIELD_STR, welcome->channel, sizeof (welcome->channel) },
                         { "topic", FIELD_STR, welcome->topic, sizeof (welcome->topic) },
                         { "instance", FIELD_STR, welcome->instance, sizeof (welcome->instance) },
                         { "account", FIELD_BOOL, &welcome->account, 0 },
                         { "channels", FIELD_BOOL, &welcome->channels, 0 },
                         { "deadlines", FIELD_BOOL, &welcome->deadlines, 0 },
                         { "clock", FIELD_UINT, &welcome->clock_ms, 0 },
                         { "default_deadline", FIELD_UINT, &welcome->default_deadline, 0 },
                         { "batch", FIELD_BOOL, &welcome->batch, 0 } };
    int rc = s_decode_map (data, size, fields, 12);
    s_default_version (&welcome->version);
    //  A topic of another length would not be an exact match.
    uint8_t wire[PROTO_TOPIC_WIRE];
    if (rc == PROKIT_OK && welcome->topic[0] && !proto_topic_to_wire (welcome->topic, wire))
        rc = PROKIT_EPROTO;
    return rc;
}

size_t
proto_bye_encode (uint8_t *out, const proto_bye_t *bye)
{
    //  A count of 0 is a count: written whenever it is said.
    size_t n = 0;
    bool topic = bye->last.topic[0] != 0;
    n += pack_write_map_head (out + n, (topic ? 1 : 0) + (bye->counted ? 1 : 0) +
                                           (bye->dealer_counted ? 1 : 0) + (bye->rejoin ? 1 : 0));
    if (topic) {
        n += pack_write_str (out + n, "last_topic", 10);
        n += pack_write_str (out + n, bye->last.topic, strnlen (bye->last.topic, PROTO_TOPIC_SIZE));
    }
    if (bye->counted) {
        n += pack_write_str (out + n, "last_count", 10);
        n += pack_write_uint (out + n, bye->last.count);
    }
    if (bye->dealer_counted) {
        n += pack_write_str (out + n, "last_dealer", 11);
        n += pack_write_uint (out + n, bye->last.dealer);
    }
    if (bye->rejoin)
        n += s_write_flag (out + n, "rejoin", 6);
    return n;
}

int
proto_bye_decode (const void *data, size_t size, proto_bye_t *bye)
{
    bye->last.topic[0] = 0;
    //  A count can never be UINT64_MAX: it stands for "not said".
    bye->last.count = bye->last.dealer = UINT64_MAX;
    bye->rejoin = false;
    field_t fields[] = { { "last_topic", FIELD_STR, bye->last.topic, sizeof (bye->last.topic) },
                         { "last_count", FIELD_UINT, &bye->last.count, 0 },
                         { "last_dealer", FIELD_UINT, &bye->last.dealer, 0 },
                         { "rejoin", FIELD_BOOL, &bye->rejoin, 0 } };
    int rc = s_decode_map (data, size, fields, 4);
    bye->counted = bye->last.count != UINT64_MAX;
    bye->dealer_counted = bye->last.dealer != UINT64_MAX;
    if (!bye->counted)
        bye->last.count = 0;
    if (!bye->dealer_counted)
        bye->last.dealer = 0;
    return rc;
}

size_t
proto_receipt_encode (uint8_t *out, const proto_receipt_entry_t *entries, size_t count)
{
    if (count > PROTO_RECEIPT_PAIRS)
        count = PROTO_RECEIPT_PAIRS;
    size_t n = 0;
    n += pack_write_map_head (out + n, count);
    for (size_t i = 0; i < count; i++) {
        const proto_receipt_entry_t *entry = &entries[i];
        n += pack_write_str (out + n, entry->name, strnlen (entry->name, PROTO_NAME_MAX));
        if (!entry->token) {
            n += pack_write_uint (out + n, entry->count);
            continue;
        }
        n += pack_write_array_head (out + n, 4);
        n += pack_write_uint (out + n, entry->count);
        n += pack_write_uint (out + n, entry->queued);
        n += pack_write_str (out + n, entry->token, strnlen (entry->token, PROTO_TOPIC_SIZE));
        n += pack_write_uint (out + n, entry->session_queued);
    }
    return n;
}

//  A map key that is a name (1 to PROTO_NAME_MAX bytes) into NAME.
static bool
s_read_name (pack_cursor_t *c, char name[PROTO_NAME_MAX + 1])
{
    const uint8_t *key;
    size_t key_len;
    if (!pack_read_str (c, &key, &key_len) || key_len == 0 || key_len > PROTO_NAME_MAX)
        return false;
    memcpy (name, key, key_len);
    name[key_len] = 0;
    return true;
}

//  A topic or a session's token (PROTO_TOPIC_SIZE lowercase hex digits)
//  into TEXT.
static bool
s_read_topic (pack_cursor_t *c, char text[PROTO_TOPIC_SIZE + 1])
{
    const uint8_t *topic;
    size_t topic_len;
    if (!pack_read_str (c, &topic, &topic_len) || topic_len != PROTO_TOPIC_SIZE)
        return false;
    memcpy (text, topic, PROTO_TOPIC_SIZE);
    text[PROTO_TOPIC_SIZE] = 0;
    uint8_t wire[PROTO_TOPIC_WIRE];
    return proto_topic_to_wire (text, wire); //  its hex digits, no NUL among them
}

//  A RECEIPT's entry that names a session: [count, queued, token,
//  session_queued].
static bool
s_receipt_session (pack_cursor_t *c, const char *name, proto_receipt_fn *fn,
                   proto_receipt_session_fn *session_fn, void *arg)
{
    uint64_t items, count, queued, session_queued;
    char token[PROTO_TOPIC_SIZE + 1];
    if (!pack_read_container (c, 0x90, 0xdc, 0xdd, &items) || items != 4 ||
        !pack_read_uint (c, &count) || !pack_read_uint (c, &queued) || !s_read_topic (c, token) ||
        !pack_read_uint (c, &session_queued) || count > queued)
        return false;
    fn (name, count, arg);
    if (session_fn)
        session_fn (name, queued, token, session_queued, arg);
    return true;
}

int
proto_receipt_decode (const void *data, size_t size, proto_receipt_fn *fn,
                      proto_receipt_session_fn *session_fn, void *arg)
{
    pack_cursor_t c;
    uint64_t pairs = 0;
    if (size > 0 && !pack_open_map (data, size, &c, &pairs))
        return PROKIT_EPROTO;
    for (uint64_t i = 0; i < pairs; i++) {
        char name[PROTO_NAME_MAX + 1];
        uint64_t count;
        if (!s_read_name (&c, name))
            return PROKIT_EPROTO;
        pack_cursor_t value = c; //  a count, or an array naming a session
        if (pack_read_uint (&c, &count))
            fn (name, count, arg);
        else if (c = value, !s_receipt_session (&c, name, fn, session_fn, arg))
            return PROKIT_EPROTO;
    }
    return PROKIT_OK;
}

size_t
proto_account_encode (uint8_t *out, uint64_t handled, const proto_account_window_t *windows,
                      size_t count)
{
    if (count > PROTO_ACCOUNT_WINDOWS)
        count = PROTO_ACCOUNT_WINDOWS;
    size_t sessions = 0;
    for (size_t i = 0; i < count; i++)
        sessions += windows[i].token != NULL;
    size_t n = 0;
    n += pack_write_map_head (out + n, sessions > 0 ? 3 : 2);
    n += pack_write_str (out + n, "handled", 7);
    n += pack_write_uint (out + n, handled);
    n += pack_write_str (out + n, "windows", 7);
    n += pack_write_map_head (out + n, count);
    for (size_t i = 0; i < count; i++) {
        n += pack_write_str (out + n, windows[i].name, strnlen (windows[i].name, PROTO_NAME_MAX));
        n += pack_write_array_head (out + n, 2);
        n += pack_write_uint (out + n, windows[i].published);
        n += pack_write_uint (out + n, windows[i].settled);
    }
    if (sessions == 0)
        return n;
    //  After "windows": a decoder takes a window's session as the one its
    //  counts there were taken in.
    n += pack_write_str (out + n, "sessions", 8);
    n += pack_write_map_head (out + n, sessions);
    for (size_t i = 0; i < count; i++) {
        if (!windows[i].token)
            continue;
        n += pack_write_str (out + n, windows[i].name, strnlen (windows[i].name, PROTO_NAME_MAX));
        n += pack_write_array_head (out + n, 2);
        n += pack_write_str (out + n, windows[i].token,
                             strnlen (windows[i].token, PROTO_TOPIC_SIZE));
        n += pack_write_uint (out + n, windows[i].session_published);
    }
    return n;
}

//  A window's entry in an ACCOUNT's "windows": [published, settled].
static bool
s_account_window (pack_cursor_t *c, const char *name, proto_account_fn *fn, void *arg)
{
    uint64_t published, settled;
    if (!pack_read_uint (c, &published) || !pack_read_uint (c, &settled) || settled > published)
        return false;
    fn (name, published, settled, arg);
    return true;
}

//  A window's entry in an ACCOUNT's "sessions": [token, published].
static bool
s_account_session (pack_cursor_t *c, const char *name, proto_account_session_fn *fn, void *arg)
{
    char text[PROTO_TOPIC_SIZE + 1];
    uint64_t published;
    if (!s_read_topic (c, text) || !pack_read_uint (c, &published))
        return false;
    fn (name, text, published, arg);
    return true;
}

//  One of an ACCOUNT's maps (SESSIONS: "sessions", else "windows"): window
//  name -> an array of two.
static bool
s_account_map (pack_cursor_t *c, bool sessions, proto_account_fn *fn,
               proto_account_session_fn *session_fn, void *arg)
{
    uint64_t pairs, items;
    if (!pack_read_container (c, 0x80, 0xde, 0xdf, &pairs))
        return false;
    for (uint64_t i = 0; i < pairs; i++) {
        char name[PROTO_NAME_MAX + 1];
        if (!s_read_name (c, name) || !pack_read_container (c, 0x90, 0xdc, 0xdd, &items) ||
            items != 2)
            return false;
        if (sessions ? !s_account_session (c, name, session_fn, arg)
                     : !s_account_window (c, name, fn, arg))
            return false;
    }
    return true;
}

//  Each key of the map DATA (SIZE bytes; empty: no key): FN with the
//  cursor on its value, which it reads or skips, false for a bad value.
//  Returns 0 or PROKIT_EPROTO.
typedef bool (s_key_fn) (pack_cursor_t *c, const uint8_t *key, size_t key_len, void *arg);
static int
s_each_key (const void *data, size_t size, s_key_fn *fn, void *arg)
{
    pack_cursor_t c;
    uint64_t pairs = 0;
    if (size > 0 && !pack_open_map (data, size, &c, &pairs))
        return PROKIT_EPROTO;
    for (uint64_t i = 0; i < pairs; i++) {
        const uint8_t *key;
        size_t key_len;
        if (!pack_read_str (&c, &key, &key_len) || !fn (&c, key, key_len, arg))
            return PROKIT_EPROTO;
    }
    return PROKIT_OK;
}

typedef struct account_read {
    uint64_t *handled;
    proto_account_fn *fn;
    proto_account_session_fn *session_fn;
    void *arg;
} account_read_t;

static bool
s_account_key (pack_cursor_t *c, const uint8_t *key, size_t key_len, void *arg)
{
    account_read_t *read = (account_read_t *) arg;
    if (key_len == 7 && memcmp (key, "handled", 7) == 0)
        return pack_read_uint (c, read->handled);
    if (key_len == 7 && memcmp (key, "windows", 7) == 0)
        return s_account_map (c, false, read->fn, read->session_fn, read->arg);
    if (key_len == 8 && memcmp (key, "sessions", 8) == 0)
        return s_account_map (c, true, read->fn, read->session_fn, read->arg);
    return pack_skip (c); //  unknown keys are ignored
}

int
proto_account_decode (const void *data, size_t size, uint64_t *handled, proto_account_fn *fn,
                      proto_account_session_fn *session_fn, void *arg)
{
    *handled = 0;
    account_read_t read = { handled, fn, session_fn, arg };
    return s_each_key (data, size, s_account_key, &read);
}

size_t
proto_credit_encode (uint8_t *out, const proto_credit_t *credit)
{
    field_t fields[] = { { "consumed", FIELD_UINT, (void *) &credit->consumed, 0 },
                         { "channel", FIELD_UINT, (void *) &credit->channel, 0 } };
    return s_encode_map (out, fields, 2);
}

int
proto_credit_decode (const void *data, size_t size, proto_credit_t *credit)
{
    credit->consumed = credit->channel = 0;
    field_t fields[] = { { "consumed", FIELD_UINT, &credit->consumed, 0 },
                         { "channel", FIELD_UINT, &credit->channel, 0 } };
    return s_decode_map (data, size, fields, 2);
}

size_t
proto_hello_encode (uint8_t *out, const proto_hello_t *hello)
{
    field_t fields[] = { { "pid", FIELD_UINT, (void *) &hello->pid, 0 },
                         { "presence", FIELD_BOOL, (void *) &hello->presence, 0 },
                         { "shown", FIELD_BOOL, (void *) &hello->shown, 0 },
                         { "version", FIELD_UINT, (void *) &hello->version, 0 },
                         { "channel", FIELD_BOOL, (void *) &hello->channel, 0 },
                         { "credit", FIELD_UINT, (void *) &hello->credit, 0 },
                         { "last_topic", FIELD_STR, (void *) hello->last.topic,
                           sizeof (hello->last.topic) },
                         { "last_count", FIELD_UINT, (void *) &hello->last.count, 0 },
                         { "last_dealer", FIELD_UINT, (void *) &hello->last.dealer, 0 },
                         { "account", FIELD_BOOL, (void *) &hello->account, 0 },
                         { "channels", FIELD_BOOL, (void *) &hello->channels, 0 },
                         { "service", FIELD_STR, (void *) hello->service, sizeof (hello->service) },
                         { "progress", FIELD_BOOL, (void *) &hello->progress, 0 },
                         { "cancel", FIELD_BOOL, (void *) &hello->cancel, 0 },
                         { "deadlines", FIELD_BOOL, (void *) &hello->deadlines, 0 },
                         { "default_deadline", FIELD_UINT, (void *) &hello->default_deadline, 0 },
                         { "took", FIELD_BOOL, (void *) &hello->took, 0 },
                         { "flow", FIELD_BOOL, (void *) &hello->flow, 0 },
                         { "batch", FIELD_BOOL, (void *) &hello->batch, 0 } };
    size_t from = hello->from_count < PROTO_FROM_MAX ? hello->from_count : PROTO_FROM_MAX;
    size_t n =
        s_encode_map_with (out, fields, sizeof (fields) / sizeof (fields[0]), from > 0 ? 1 : 0);
    if (from == 0)
        return n;
    n += pack_write_str (out + n, "last_from", 9);
    n += pack_write_map_head (out + n, from);
    for (size_t i = 0; i < from; i++) {
        n += pack_write_str (out + n, hello->from[i].name,
                             strnlen (hello->from[i].name, PROTO_NAME_MAX));
        if (hello->from[i].first) {
            n += pack_write_array_head (out + n, 2);
            n += pack_write_uint (out + n, hello->from[i].count);
            n += pack_write_uint (out + n, hello->from[i].first);
        }
        else
            n += pack_write_uint (out + n, hello->from[i].count);
    }
    return n;
}

int
proto_hello_decode (const void *data, size_t size, proto_hello_t *hello)
{
    hello->version = 0;
    field_t fields[] = { { "pid", FIELD_UINT, &hello->pid, 0 },
                         { "flow", FIELD_BOOL, &hello->flow, 0 },
                         { "presence", FIELD_BOOL, &hello->presence, 0 },
                         { "shown", FIELD_BOOL, &hello->shown, 0 },
                         { "version", FIELD_UINT, &hello->version, 0 },
                         { "channel", FIELD_BOOL, &hello->channel, 0 },
                         { "credit", FIELD_UINT, &hello->credit, 0 },
                         { "default_deadline", FIELD_UINT, &hello->default_deadline, 0 },
                         { "last_topic", FIELD_STR, hello->last.topic, sizeof (hello->last.topic) },
                         { "last_count", FIELD_UINT, &hello->last.count, 0 },
                         { "last_dealer", FIELD_UINT, &hello->last.dealer, 0 },
                         { "account", FIELD_BOOL, &hello->account, 0 },
                         { "channels", FIELD_BOOL, &hello->channels, 0 },
                         { "service", FIELD_STR, hello->service, sizeof (hello->service) },
                         { "progress", FIELD_BOOL, &hello->progress, 0 },
                         { "cancel", FIELD_BOOL, &hello->cancel, 0 },
                         { "deadlines", FIELD_BOOL, &hello->deadlines, 0 },
                         { "took", FIELD_BOOL, &hello->took, 0 },
                         { "batch", FIELD_BOOL, &hello->batch, 0 } };
    hello->from = NULL;
    hello->from_count = 0;
    int rc = s_decode_map (data, size, fields, sizeof (fields) / sizeof (fields[0]));
    s_default_version (&hello->version);
    return rc;
}

typedef struct from_read {
    proto_from_fn *fn;
    void *arg;
} from_read_t;

static bool
s_from_key (pack_cursor_t *c, const uint8_t *key, size_t key_len, void *arg)
{
    if (key_len != 9 || memcmp (key, "last_from", 9) != 0)
        return pack_skip (c);
    from_read_t *read = (from_read_t *) arg;
    uint64_t senders;
    if (!pack_read_container (c, 0x80, 0xde, 0xdf, &senders))
        return false;
    for (uint64_t k = 0; k < senders; k++) {
        //  A count, or [count, first].
        char name[PROTO_NAME_MAX + 1];
        uint64_t count, first = 0, items = 0;
        if (!s_read_name (c, name))
            return false;
        pack_cursor_t at = *c;
        if (!pack_read_uint (c, &count)) {
            *c = at;
            if (!pack_read_container (c, 0x90, 0xdc, 0xdd, &items) || items != 2 ||
                !pack_read_uint (c, &count) || !pack_read_uint (c, &first))
                return false;
        }
        read->fn (name, count, first, read->arg);
    }
    return true;
}

int
proto_hello_from_decode (const void *data, size_t size, proto_from_fn *fn, void *arg)
{
    from_read_t read = { fn, arg };
    return s_each_key (data, size, s_from_key, &read);
}

size_t
proto_took_encode (uint8_t *out, const proto_took_t *took)
{
    field_t fields[] = {
        { "token", FIELD_STR, (void *) took->token, sizeof (took->token) },
        { "count", FIELD_UINT, (void *) &took->count, 0 },
        { "first", FIELD_UINT, (void *) &took->first, 0 },
    };
    return s_encode_map (out, fields, 3);
}

int
proto_took_decode (const void *data, size_t size, proto_took_t *took)
{
    memset (took, 0, sizeof (*took));
    field_t fields[] = {
        { "token", FIELD_STR, took->token, sizeof (took->token) },
        { "count", FIELD_UINT, &took->count, 0 },
        { "first", FIELD_UINT, &took->first, 0 },
    };
    return s_decode_map (data, size, fields, 3);
}

size_t
proto_flow_encode (uint8_t *out, bool hold)
{
    field_t fields[] = { { "hold", FIELD_BOOL, (void *) &hold, 0 } };
    return s_encode_map (out, fields, 1);
}

int
proto_flow_decode (const void *data, size_t size, bool *hold)
{
    *hold = false;
    field_t fields[] = { { "hold", FIELD_BOOL, hold, 0 } };
    return s_decode_map (data, size, fields, 1);
}

size_t
proto_batch_entry_encode (uint8_t *out, proto_command_t command, uint64_t id, const char *peer,
                          const void *body, size_t body_size)
{
    size_t n = proto_prefix_encode (out + PROTO_BATCH_HEAD, command, id, peer);
    if (body_size > 0)
        memcpy (out + PROTO_BATCH_HEAD + n, body, body_size);
    n += body_size;
    pack_put_be (out, n, PROTO_BATCH_HEAD);
    return PROTO_BATCH_HEAD + n;
}

int
proto_batch_next (const void *body, size_t size, size_t *offset, proto_frame_t *entry)
{
    const uint8_t *p = (const uint8_t *) body;
    if (*offset == size)
        return 0;
    if (*offset > size || size - *offset < PROTO_BATCH_HEAD)
        return PROKIT_EPROTO;
    size_t length = ((size_t) p[*offset] << 8) | p[*offset + 1];
    size_t start = *offset + PROTO_BATCH_HEAD;
    if (length == 0 || length > size - start)
        return PROKIT_EPROTO;
    //  Decoded as a channel message of its own, except that it may not
    //  hold another BATCH.
    if (length > 3 && p[start + 3] == PROTO_BATCH)
        return PROKIT_EPROTO;
    entry->data = p + start;
    entry->size = length;
    *offset = start + length;
    return 1;
}

size_t
proto_presence_encode (uint8_t *out, const proto_presence_t *presence)
{
    field_t fields[] = {
        { "pid", FIELD_UINT, (void *) &presence->pid, 0 },
        { "address", FIELD_STR, (void *) presence->address, sizeof (presence->address) },
        { "reason", FIELD_STR, (void *) presence->reason, sizeof (presence->reason) },
        { "shown", FIELD_BOOL, (void *) &presence->shown, 0 },
        { "joined_at", FIELD_UINT, (void *) &presence->joined_at, 0 },
        { "service", FIELD_STR, (void *) presence->service, sizeof (presence->service) },
        { "last_token", FIELD_STR, (void *) presence->last_token, sizeof (presence->last_token) },
        { "last_count", FIELD_UINT, (void *) &presence->last_count, 0 },
    };
    return s_encode_map (out, fields, 8);
}

int
proto_presence_decode (const void *data, size_t size, proto_presence_t *presence)
{
    field_t fields[] = {
        { "pid", FIELD_UINT, &presence->pid, 0 },
        { "address", FIELD_STR, presence->address, sizeof (presence->address) },
        { "reason", FIELD_STR, presence->reason, sizeof (presence->reason) },
        { "shown", FIELD_BOOL, &presence->shown, 0 },
        { "joined_at", FIELD_UINT, &presence->joined_at, 0 },
        { "service", FIELD_STR, presence->service, sizeof (presence->service) },
        { "last_token", FIELD_STR, presence->last_token, sizeof (presence->last_token) },
        { "last_count", FIELD_UINT, &presence->last_count, 0 },
    };
    return s_decode_map (data, size, fields, 8);
}

size_t
proto_query_encode (uint8_t *out, const char *what)
{
    char copy[PROTO_QUERY_WHAT_MAX];
    size_t len = strnlen (what, sizeof (copy) - 1);
    memcpy (copy, what, len);
    copy[len] = 0;
    field_t fields[] = { { "what", FIELD_STR, copy, sizeof (copy) } };
    return s_encode_map (out, fields, 1);
}

int
proto_query_decode (const void *data, size_t size, char what[PROTO_QUERY_WHAT_MAX])
{
    what[0] = 0;
    field_t fields[] = { { "what", FIELD_STR, what, PROTO_QUERY_WHAT_MAX } };
    return s_decode_map (data, size, fields, 1);
}

static void
s_window_info_fields (field_t fields[7], const proto_window_info_t *info)
{
    proto_window_info_t *mutable_info = (proto_window_info_t *) info;
    field_t list[7] = {
        { "name", FIELD_STR, mutable_info->name, sizeof (info->name) },
        { "pid", FIELD_UINT, &mutable_info->pid, 0 },
        { "address", FIELD_STR, mutable_info->address, sizeof (info->address) },
        { "shown", FIELD_BOOL, &mutable_info->shown, 0 },
        { "joined_at", FIELD_UINT, &mutable_info->joined_at, 0 },
        { "last_seen", FIELD_UINT, &mutable_info->last_seen, 0 },
        { "service", FIELD_STR, mutable_info->service, sizeof (info->service) },
    };
    memcpy (fields, list, sizeof (list));
}

size_t
proto_window_info_encode (uint8_t *out, const proto_window_info_t *info)
{
    field_t fields[7];
    s_window_info_fields (fields, info);
    return s_encode_map (out, fields, 7);
}

int
proto_window_infos_decode (const void *data, size_t size, proto_window_info_t *out, size_t capacity,
                           size_t *count)
{
    *count = 0;
    if (!data || pack_check (data, size) != PROKIT_OK)
        return PROKIT_EPROTO;
    pack_cursor_t c = { (const uint8_t *) data, (const uint8_t *) data + size };
    uint64_t n;
    if (!pack_read_container (&c, 0x90, 0xdc, 0xdd, &n))
        return PROKIT_EPROTO;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *start = c.at;
        if (!pack_skip (&c))
            return PROKIT_EPROTO;
        if (i >= capacity)
            continue;
        proto_window_info_t *info = &out[i];
        memset (info, 0, sizeof (*info));
        field_t fields[7];
        s_window_info_fields (fields, info);
        if (!s_is_map (start, (size_t) (c.at - start)) ||
            s_decode_map (start, (size_t) (c.at - start), fields, 7) != PROKIT_OK)
            return PROKIT_EPROTO;
    }
    *count = (size_t) n;
    return PROKIT_OK;
}

#define S_COUNTER_NAME(name) #name,
const char *const proto_counter_names[PROTO_COUNTERS] = { PROTO_COUNTER_LIST (S_COUNTER_NAME) };

//  The INFO "stats" map is a fixmap: a 16th counter needs map16 here first.
_Static_assert(PROTO_COUNTERS <= 15, "INFO stats holds at most 15 counters");

size_t
proto_counters_encode (uint8_t *out, const char *const *keys, const uint64_t *values, size_t n)
{
    field_t fields[15];
    if (n > 15)
        n = 15; //  a fixmap holds 15 pairs
    for (size_t i = 0; i < n; i++)
        fields[i] = (field_t){ keys[i], FIELD_UINT, (void *) &values[i], 0 };
    return s_encode_map (out, fields, n);
}

int
proto_counters_decode (const void *data, size_t size, const char *const *keys, uint64_t *values,
                       size_t n)
{
    field_t fields[15];
    if (n > 15)
        n = 15;
    for (size_t i = 0; i < n; i++) {
        values[i] = 0;
        fields[i] = (field_t){ keys[i], FIELD_UINT, &values[i], 0 };
    }
    return s_decode_map (data, size, fields, n);
}

const char *
proto_command_name (int command)
{
    static const char *names[] = { "?",         "HELLO",    "WELCOME", "BYE",    "SEND",
                                   "BROADCAST", "REQUEST",  "REPLY",   "ERROR",  "PING",
                                   "PONG",      "JOINED",   "LEFT",    "CLOSE",  "SHOW",
                                   "HIDE",      "QUERY",    "INFO",    "CREDIT", "RECEIPT",
                                   "ACCOUNT",   "PROGRESS", "CANCEL",  "TOOK",   "FLOW",
                                   "BATCH" };
    if (command < 1 || command > PROTO_COMMAND_LAST)
        return "?";
    return names[command];
}
