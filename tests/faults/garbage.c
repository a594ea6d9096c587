/*  garbage.c: the garbage role: for MS milliseconds, throw at a main's
    ipc endpoint (and its PUB channel beside it) whatever a stranger on
    the machine could:

    dealer    DEALERs sending random multipart messages, some starting
              with prokit's signature (PK, a version, a command)
    router    ROUTERs (a routing id given to the connection) doing the same
    push      PUSH sockets, a combination ZMTP refuses at the handshake
    raw       unix-socket connections writing random bytes
    zmtp      unix-socket connections with a valid ZMTP greeting and READY,
              then random ZMTP frames (declared sizes included)
    stranger  DEALERs that join under a name of their own (or a taken or
              invalid one) and then send prokit commands with wrong
              fields: replies to the legitimate window's small request
              ids (spoofed answers), ERRORs, requests with broken
              payloads, CREDIT and QUERY with random maps, version 2
              frames with wrong lengths
    pub       XSUB, SUB, DEALER and raw connections to the PUB channel,
              with random subscriptions
    flooder   one DEALER that sends malformed messages and never reads
              the router's answers (their queue fills)
    idle      unix-socket connections that say nothing, held to the end

    Prints one line at the end: GARBAGE kind=count ...
    Usage: --role garbage ENDPOINT MS SEED
*/
#include "faults.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <zmq.h>

static uint64_t s_state;

static uint32_t
s_rand (void)
{
    //  xorshift64*: reproducible from the seed
    s_state ^= s_state >> 12;
    s_state ^= s_state << 25;
    s_state ^= s_state >> 27;
    return (uint32_t) ((s_state * 2685821657736338717ULL) >> 32);
}

static uint32_t
s_below (uint32_t n)
{
    return n ? s_rand () % n : 0;
}

static void
s_fill (uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; i++)
        data[i] = (uint8_t) s_rand ();
}

//  A size: mostly small, now and then large.
static size_t
s_size (void)
{
    uint32_t r = s_below (100);
    if (r < 60)
        return s_below (65);
    if (r < 90)
        return 64 + s_below (1024);
    if (r < 99)
        return 1024 + s_below (8192);
    return 8192 + s_below (256 * 1024);
}

typedef struct tally {
    long dealer, router, push, raw, zmtp, stranger, pub, flooder, idle;
    long messages, bytes, handshakes_failed, not_connected;
} tally_t;

static tally_t s_tally;
static uint8_t s_buffer[300 * 1024];

//  --- frames ---------------------------------------------------------------------------------

static const char *s_names[] = { "legit",
                                 "@main",
                                 "",
                                 "g",
                                 "main",
                                 "work",
                                 "churn-0",
                                 "a-name-that-is-far-too-long-to-be-any-window-name-at-all-"
                                 "really-much-too-long" };

static const char *
s_some_name (void)
{
    return s_names[s_below (sizeof (s_names) / sizeof (s_names[0]))];
}

//  A first frame: random bytes, or prokit's signature with a random
//  version, command and rest.
static size_t
s_first_frame (uint8_t *data)
{
    size_t size = s_size ();
    s_fill (data, size);
    if (size >= 4 && s_below (100) < 60) {
        data[0] = 'P';
        data[1] = 'K';
        data[2] = (uint8_t) (s_below (10) < 8 ? 1 + s_below (2) : s_rand ());
        data[3] = (uint8_t) s_below (24);
        if (data[2] == 1 && s_below (2))
            size = 12; //  the right length, wrong the rest
    }
    return size;
}

static int
s_send (void *socket, const void *data, size_t size, bool more)
{
    int rc = zmq_send (socket, data, size, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0));
    if (rc >= 0 && !more)
        s_tally.messages++;
    if (rc >= 0)
        s_tally.bytes += (long) size;
    return rc;
}

//  One random multipart message, PREFIX (a routing id) first if given.
static void
s_random_message (void *socket, const char *prefix)
{
    if (prefix && s_send (socket, prefix, strlen (prefix), true) < 0)
        return;
    int frames = 1 + (int) s_below (6);
    for (int i = 0; i < frames; i++) {
        size_t size;
        if (i == 0)
            size = s_first_frame (s_buffer);
        else if (i == 1 && s_below (2)) {
            const char *name = s_some_name ();
            size = strlen (name);
            memcpy (s_buffer, name, size);
        }
        else {
            size = s_size ();
            s_fill (s_buffer, size);
        }
        if (s_send (socket, s_buffer, size, i + 1 < frames) < 0)
            return;
    }
}

//  A version 1 prokit message: COMMAND, ID, PEER, BODY.
static void
s_prokit_v1 (void *socket, int command, uint64_t id, const char *peer, const void *body,
             size_t body_size)
{
    uint8_t header[12] = { 'P', 'K', 1, (uint8_t) command };
    for (int i = 0; i < 8; i++)
        header[4 + i] = (uint8_t) (id >> (56 - 8 * i));
    if (s_send (socket, header, sizeof (header), true) < 0 ||
        s_send (socket, peer, strlen (peer), true) < 0)
        return;
    s_send (socket, body, body_size, false);
}

//  --- connections -------------------------------------------------------------------------------

static void *s_ctx;
static char s_endpoint[256];
static char s_channel[300];
static char s_path[256], s_channel_path[300];

//  Wait at most TIMEOUT_MS for the socket's handshake (through its
//  monitor): true once it succeeded. Call before connecting.
static void *
s_monitor (void *socket)
{
    static int counter;
    char address[64];
    snprintf (address, sizeof (address), "inproc://garbage-monitor-%d", ++counter);
    if (zmq_socket_monitor (socket, address,
                            ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_DISCONNECTED) != 0)
        return NULL;
    void *pair = zmq_socket (s_ctx, ZMQ_PAIR);
    zmq_connect (pair, address);
    return pair;
}

static bool
s_handshake (void *socket, void *monitor, int timeout_ms)
{
    bool succeeded = false;
    if (monitor) {
        zmq_pollitem_t item = { monitor, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, timeout_ms) > 0) {
            zmq_msg_t msg;
            zmq_msg_init (&msg);
            if (zmq_msg_recv (&msg, monitor, 0) >= 2) {
                uint16_t event;
                memcpy (&event, zmq_msg_data (&msg), 2);
                succeeded = event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
                if (!succeeded)
                    s_tally.handshakes_failed++;
            }
            zmq_msg_close (&msg);
        }
        else
            s_tally.not_connected++;
        zmq_socket_monitor (socket, NULL, 0);
        zmq_close (monitor);
    }
    return succeeded;
}

static void *
s_socket (int type, const char *endpoint, const char *routing_id, void **monitor)
{
    void *socket = zmq_socket (s_ctx, type);
    if (!socket)
        return NULL;
    int linger = 200, hwm = 2000, one = 1;
    zmq_setsockopt (socket, ZMQ_LINGER, &linger, sizeof (linger));
    zmq_setsockopt (socket, ZMQ_SNDHWM, &hwm, sizeof (hwm));
    if (type == ZMQ_ROUTER) {
        zmq_setsockopt (socket, ZMQ_ROUTER_MANDATORY, &one, sizeof (one));
        zmq_setsockopt (socket, ZMQ_CONNECT_ROUTING_ID, routing_id, strlen (routing_id));
    }
    *monitor = s_monitor (socket);
    zmq_connect (socket, endpoint);
    return socket;
}

static void
s_zmq_burst (int type, const char *endpoint)
{
    void *monitor = NULL;
    void *socket = s_socket (type, endpoint, "r", &monitor);
    if (!socket)
        return;
    bool connected = s_handshake (socket, monitor, 1000);
    int count = 1 + (int) s_below (200);
    for (int i = 0; i < count && (connected || type == ZMQ_PUSH); i++)
        s_random_message (socket, type == ZMQ_ROUTER ? "r" : NULL);
    zmq_close (socket);
}

static int
s_unix (const char *path)
{
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    size_t length = strnlen (path, sizeof (address.sun_path) - 1); //  cut to fit
    memcpy (address.sun_path, path, length);
    if (fd >= 0 && connect (fd, (struct sockaddr *) &address, sizeof (address)) != 0) {
        close (fd);
        fd = -1;
    }
    return fd;
}

static void
s_write (int fd, const void *data, size_t size)
{
    ssize_t n = send (fd, data, size, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0)
        s_tally.bytes += n;
}

static void
s_raw (const char *path)
{
    int fd = s_unix (path);
    if (fd < 0)
        return;
    int writes = 1 + (int) s_below (4);
    for (int i = 0; i < writes; i++) {
        size_t size = s_size ();
        s_fill (s_buffer, size);
        if (s_below (4) == 0 && size > 10) {
            s_buffer[0] = 0xFF; //  the start of a ZMTP signature, then garbage
            s_buffer[9] = 0x7F;
        }
        s_write (fd, s_buffer, size);
    }
    close (fd);
}

//  A ZMTP 3.0 greeting (NULL mechanism) and READY as a DEALER, then random
//  frames: flags, sizes (long ones too) and bodies of its own choosing.
static void
s_zmtp (const char *path)
{
    int fd = s_unix (path);
    if (fd < 0)
        return;
    uint8_t greeting[64] = { 0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, (uint8_t) s_below (2) };
    memcpy (greeting + 12, "NULL", 4);
    s_write (fd, greeting, sizeof (greeting));
    if (s_below (4) > 0) {
        const char *type = s_below (3) ? "DEALER" : "PUSH";
        uint8_t ready[64];
        size_t n = 0;
        ready[n++] = 0x04; //  a short command
        ready[n++] = 0;    //  its size, below
        ready[n++] = 5;
        memcpy (ready + n, "READY", 5);
        n += 5;
        ready[n++] = 11;
        memcpy (ready + n, "Socket-Type", 11);
        n += 11;
        uint32_t len = (uint32_t) strlen (type);
        ready[n++] = 0;
        ready[n++] = 0;
        ready[n++] = 0;
        ready[n++] = (uint8_t) len;
        memcpy (ready + n, type, len);
        n += len;
        ready[1] = (uint8_t) (n - 2);
        s_write (fd, ready, n);
    }
    int frames = 1 + (int) s_below (20);
    for (int i = 0; i < frames; i++) {
        size_t size = s_below (300);
        uint8_t head[9];
        size_t head_size = 2;
        head[0] = (uint8_t) (s_below (8) == 0 ? s_rand () : s_below (2));
        head[1] = (uint8_t) size;
        if (s_below (10) == 0) {
            head[0] |= 0x02; //  a long frame, declaring any size
            uint64_t declared = s_below (2) ? size : ((uint64_t) s_rand () << 32 | s_rand ());
            for (int b = 0; b < 8; b++)
                head[1 + b] = (uint8_t) (declared >> (56 - 8 * b));
            head_size = 9;
        }
        s_write (fd, head, head_size);
        s_first_frame (s_buffer);
        s_write (fd, s_buffer, size);
    }
    close (fd);
}

//  Join (or try to) and send prokit commands with wrong fields.
static void
s_stranger (const char *endpoint)
{
    void *monitor = NULL;
    void *socket = s_socket (ZMQ_DEALER, endpoint, NULL, &monitor);
    if (!socket)
        return;
    if (!s_handshake (socket, monitor, 1000)) {
        zmq_close (socket);
        return;
    }
    char name[PROKIT_NAME_MAX + 1];
    uint32_t pick = s_below (10);
    if (pick == 0)
        snprintf (name, sizeof (name), "legit"); //  taken: refused
    else if (pick == 1)
        snprintf (name, sizeof (name), "%s", s_some_name ());
    else
        snprintf (name, sizeof (name), "g%u", (unsigned) s_below (100000));
    uint8_t empty_map = 0x80;
    s_prokit_v1 (socket, 1, 1, name, &empty_map, s_below (2) ? 1 : 0); //  HELLO
    int count = 1 + (int) s_below (100);
    for (int i = 0; i < count; i++) {
        uint32_t kind = s_below (8);
        uint8_t body[64];
        size_t body_size = s_below (sizeof (body));
        s_fill (body, body_size);
        if (kind == 0) {
            //  An answer to a request the legitimate window may have made.
            static const uint8_t spoof[] = { 0xA5, 's', 'p', 'o', 'o', 'f' };
            s_prokit_v1 (socket, 7, 1 + s_below (400), "legit", spoof, sizeof (spoof));
        }
        else if (kind == 1)
            s_prokit_v1 (socket, 8, 1 + s_below (400), "legit", body, body_size); //  ERROR
        else if (kind == 2)
            s_prokit_v1 (socket, 6, s_rand (), s_some_name (), body, body_size); //  REQUEST
        else if (kind == 3)
            s_prokit_v1 (socket, 4, s_rand (), s_some_name (), body, body_size); //  SEND
        else if (kind == 4)
            s_prokit_v1 (socket, 16 + (int) s_below (3), s_rand (), "", body, body_size);
        else if (kind == 5) {
            //  Version 2, one frame, lengths that may run past its end.
            size_t size = 5 + s_below (60);
            s_fill (s_buffer, size);
            s_buffer[0] = 'P';
            s_buffer[1] = 'K';
            s_buffer[2] = 2;
            s_buffer[3] = (uint8_t) (1 + s_below (19));
            s_send (socket, s_buffer, size, s_below (4) == 0);
            if (s_below (4) == 0)
                s_send (socket, body, body_size, false);
        }
        else if (kind == 6)
            s_prokit_v1 (socket, (int) s_below (256), s_rand (), s_some_name (), body, body_size);
        else
            s_random_message (socket, NULL);
    }
    if (s_below (2))
        s_prokit_v1 (socket, 3, 2, "", &empty_map, 1); //  BYE
    zmq_close (socket);
}

static void
s_pub (void)
{
    uint32_t kind = s_below (4);
    if (kind == 3) {
        s_raw (s_channel_path);
        s_tally.pub++;
        return;
    }
    int type = kind == 0 ? ZMQ_XSUB : kind == 1 ? ZMQ_SUB : ZMQ_DEALER;
    void *monitor = NULL;
    void *socket = s_socket (type, s_channel, NULL, &monitor);
    if (!socket)
        return;
    bool connected = s_handshake (socket, monitor, 1000);
    int count = 1 + (int) s_below (50);
    for (int i = 0; i < count && connected; i++) {
        size_t size = s_below (40);
        s_fill (s_buffer, size);
        if (type == ZMQ_SUB)
            zmq_setsockopt (socket, ZMQ_SUBSCRIBE, s_buffer, size);
        else {
            if (type == ZMQ_XSUB && size > 0 && s_below (4) > 0)
                s_buffer[0] = (uint8_t) s_below (2); //  (un)subscribe, random topic
            s_send (socket, s_buffer, size, false);
        }
    }
    zmq_close (socket);
    s_tally.pub++;
}

int
fx_garbage (int argc, char **argv)
{
    if (argc < 3 || strncmp (argv[0], "ipc://", 6) != 0) {
        fprintf (stderr, "usage: --role garbage ipc://PATH MS SEED\n");
        return 2;
    }
    snprintf (s_endpoint, sizeof (s_endpoint), "%s", argv[0]);
    snprintf (s_channel, sizeof (s_channel), "%s.pub", argv[0]);
    snprintf (s_path, sizeof (s_path), "%s", argv[0] + 6);
    snprintf (s_channel_path, sizeof (s_channel_path), "%s.pub", argv[0] + 6);
    int64_t end = fx_now_ms () + atoi (argv[1]);
    s_state = strtoull (argv[2], NULL, 10) * 0x9E3779B97F4A7C15ULL + 1;
    s_ctx = zmq_ctx_new ();
    int max_sockets = 4096;
    zmq_ctx_set (s_ctx, ZMQ_MAX_SOCKETS, max_sockets);

    //  Held for the whole run: silent connections, and a flooder that
    //  never reads what the router answers.
    int idle[16];
    for (int i = 0; i < 16; i++) {
        idle[i] = s_unix (i % 2 ? s_path : s_channel_path);
        s_tally.idle += idle[i] >= 0;
    }
    void *monitor = NULL;
    void *flooder = s_socket (ZMQ_DEALER, s_endpoint, NULL, &monitor);
    if (flooder && s_handshake (flooder, monitor, 1000)) {
        uint8_t header[12] = { 'P', 'K', 1, 99 }; //  no such command: an ERROR each
        for (int i = 0; i < 20000; i++) {
            if (s_send (flooder, header, sizeof (header), true) < 0 ||
                s_send (flooder, "", 0, true) < 0 || s_send (flooder, "", 0, false) < 0)
                break;
            s_tally.flooder++;
        }
    }

    while (fx_now_ms () < end) {
        uint32_t pick = s_below (100);
        if (pick < 20) {
            s_zmq_burst (ZMQ_DEALER, s_endpoint);
            s_tally.dealer++;
        }
        else if (pick < 30) {
            s_zmq_burst (ZMQ_ROUTER, s_endpoint);
            s_tally.router++;
        }
        else if (pick < 35) {
            s_zmq_burst (ZMQ_PUSH, s_endpoint);
            s_tally.push++;
        }
        else if (pick < 55) {
            s_raw (s_path);
            s_tally.raw++;
        }
        else if (pick < 65) {
            s_zmtp (s_path);
            s_tally.zmtp++;
        }
        else if (pick < 85) {
            s_stranger (s_endpoint);
            s_tally.stranger++;
        }
        else
            s_pub ();
    }
    for (int i = 0; i < 16; i++)
        if (idle[i] >= 0)
            close (idle[i]);
    if (flooder)
        zmq_close (flooder);
    zmq_ctx_term (s_ctx);
    printf ("GARBAGE dealer=%ld router=%ld push=%ld raw=%ld zmtp=%ld stranger=%ld pub=%ld "
            "flooder=%ld idle=%ld messages=%ld bytes=%ld handshakes_failed=%ld "
            "not_connected=%ld\n",
            s_tally.dealer, s_tally.router, s_tally.push, s_tally.raw, s_tally.zmtp,
            s_tally.stranger, s_tally.pub, s_tally.flooder, s_tally.idle, s_tally.messages,
            s_tally.bytes, s_tally.handshakes_failed, s_tally.not_connected);
    fflush (stdout);
    //  Without the exit-time leak check of a sanitizer build: libzmq keeps
    //  some of the messages its sockets still held when they closed
    //  (allocated in msg_t::init_size), and this process holds no prokit
    //  handle: nothing of the library's to check here.
    _exit (0);
}
