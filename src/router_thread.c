/*  router_thread.c: who drives the routing core, and the embedded main's
    hand-off.

    A router_t is the core (router.c) under one mutex, driven by a thread
    of its own or, while an embedded main runs its loop, by main's thread,
    which processes the socket itself (no thread hop for its own traffic).
    Atomics let each side know whether the other is on it: main_in_loop,
    touched (main used the socket outside its loop, which may swallow
    libzmq's wake-up), thread_idle. Main's messages enter the core under
    the lock (router_local_send); what the core has for main waits in an
    inbox, taken with router_local_take().
*/
#include "router.h"

#include <czmq.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "poller.h"
#include "prokit/error.h"
#include "router_private.h"
#include "sock.h"

struct router {
    pthread_mutex_t lock; //  guards state, the sockets included
    router_state_t state;
    pthread_t thread;
    bool thread_started;
    int wake_fd;              //  eventfd: stop, main touched the socket
    int epoll_fd;             //  the thread's: wake_fd, and the sockets' ZMQ_FDs edge-triggered
    atomic_bool stop;         //  the thread must end
    atomic_bool main_in_loop; //  main's thread is in its run loop: it processes
    atomic_uint main_takes;   //  how many times main has processed (router_local_take)
    atomic_bool main_more;    //  main's last processing stopped with more waiting
    atomic_bool thread_idle;  //  the thread sleeps with no deadline
    atomic_bool touched;      //  main used the socket outside its loop
    char *endpoints[ROUTER_ENDPOINTS_MAX];
    size_t endpoint_count;
};

//  Arm (or disarm) the thread's watch of the ROUTER socket's descriptor.
//  Arming reports at once a descriptor that is already readable.
static void
s_watch_socket (router_t *self, int fd, bool armed)
{
    struct epoll_event event = { .events = armed ? EPOLLIN | EPOLLET : 0, .data.fd = fd };
    if (epoll_ctl (self->epoll_fd, EPOLL_CTL_MOD, fd, &event) != 0)
        log_error ("router: cannot %s the socket's descriptor", armed ? "arm" : "disarm");
}

//  What the background thread keeps between its rounds.
typedef struct driver {
    int router_fd, monitor_fd, pub_fd;
    int timeout; //  its next wait, ms: 0 looks at once, -1 waits to be woken
    bool monitor_ready, pub_ready;
    //  Main is on it: the socket's descriptor is not watched, and the
    //  thread checks main_takes against WATCH_TAKES at WATCH_DEADLINE.
    bool watching;
    unsigned watch_takes;
    int64_t watch_deadline;
    bool more; //  the thread's last processing stopped with more waiting
} driver_t;

//  How long the thread may wait: until its watch of main falls due, and
//  no longer than LOST_SWEEP_MS while lost sessions or windows on the
//  channel need looking at (SWEEPING).
static int
s_wait_ms (const driver_t *driver, bool sweeping)
{
    int wait = driver->timeout;
    if (driver->watching) {
        int64_t left = driver->watch_deadline - clock_mono_ms ();
        wait = left < 0 ? 0 : (int) left;
    }
    if (sweeping && (wait < 0 || wait > LOST_SWEEP_MS))
        wait = LOST_SWEEP_MS;
    return wait;
}

//  Lost sessions fall due with nothing on the sockets, and a channel's
//  announcement may have been swallowed: looked at now and then, whoever
//  else is processing.
static void
s_sweep (router_t *self, bool channel)
{
    pthread_mutex_lock (&self->lock);
    router_core_sweep_lost (&self->state);
    //  A channel connection that ended while the router sat idle, its
    //  announcement swallowed by a publish, is seen this way.
    int64_t now = clock_coarse_wall_ms ();
    if (channel && now - self->state.pub_read_at >= PUB_LOOK_MS) {
        self->state.pub_read_at = now;
        router_core_drain_pub (&self->state);
    }
    //  Senders hear the confirmations short of a batch too.
    router_core_flush_receipts (&self->state);
    pthread_mutex_unlock (&self->lock);
}

static void
s_note_events (router_t *self, driver_t *driver, const struct epoll_event *events, int count)
{
    for (int i = 0; i < count; i++) {
        if (events[i].data.fd == self->wake_fd) {
            uint64_t value;
            ssize_t rc = read (self->wake_fd, &value, sizeof (value));
            (void) rc;
        }
        else if (events[i].data.fd == driver->monitor_fd)
            driver->monitor_ready = true; //  edge-triggered: remembered until looked at
        else if (events[i].data.fd == driver->pub_fd)
            driver->pub_ready = true;
    }
}

//  Is main, in its run loop, processing for us (true: the thread leaves it
//  to main this round)? Starts and keeps the watch of main; when main is
//  no further on, false if something waits (the thread processes it), or
//  the thread goes to sleep if nothing does.
static bool
s_main_is_on_it (router_t *self, driver_t *driver, bool touched)
{
    if (touched || !atomic_load (&self->main_in_loop))
        return false; //  main left its loop, or used the socket outside it
    if (!driver->watching) {
        //  Main is on it, or will be: stop watching the socket and look
        //  again in a moment.
        s_watch_socket (self, driver->router_fd, false);
        driver->watching = true;
        driver->watch_takes = atomic_load (&self->main_takes);
        driver->watch_deadline = clock_mono_ms () + MAIN_GRACE_MS;
        return true;
    }
    if (clock_mono_ms () < driver->watch_deadline)
        return true; //  woken early (the monitor, the channel): main sees those too
    //  The check: main got on since the last one, and nothing waits in a
    //  backlog (only a process retries those).
    unsigned takes = atomic_load (&self->main_takes);
    pthread_mutex_lock (&self->lock);
    size_t backlog = self->state.backlog_total;
    pthread_mutex_unlock (&self->lock);
    if (takes != driver->watch_takes && backlog == 0) {
        driver->watch_takes = takes;
        driver->watch_deadline = clock_mono_ms () + MAIN_GRACE_MS;
        return true;
    }
    //  No further: main is busy in a handler, or idle in its wait, which a
    //  descriptor still announcing something, or more left waiting by the
    //  last processing, would have ended. Idle, main answers whatever
    //  comes next itself: watch the socket again and sleep (arming reports
    //  at once what came meanwhile).
    struct pollfd fds[3] = { { driver->router_fd, POLLIN, 0 },
                             { driver->monitor_fd, POLLIN, 0 },
                             { driver->pub_fd, POLLIN, 0 } };
    if (backlog == 0 && !driver->more && !atomic_load (&self->main_more) && poll (fds, 3, 0) == 0) {
        driver->watching = false;
        s_watch_socket (self, driver->router_fd, true);
        driver->timeout = -1;
        atomic_store (&self->thread_idle, true);
        if (atomic_load (&self->touched) || !atomic_load (&self->main_in_loop))
            driver->timeout = 0;
        return true;
    }
    return false;
}

//  Process what waits, watch the socket again, and choose the next wait.
static void
s_process (router_t *self, driver_t *driver, bool touched)
{
    atomic_store (&self->touched, false);
    pthread_mutex_lock (&self->lock);
    driver->more = router_core_process (&self->state, driver->monitor_ready, driver->pub_ready);
    driver->pub_ready = false;
    driver->monitor_ready = false;
    size_t backlog = self->state.backlog_total;
    pthread_mutex_unlock (&self->lock);
    if (driver->watching) {
        driver->watching = false;
        s_watch_socket (self, driver->router_fd, true);
    }
    if (driver->more)
        driver->timeout = 0;
    else if (backlog > 0)
        driver->timeout = BACKLOG_RETRY_MS;
    else if (touched && !atomic_load (&self->main_in_loop))
        driver->timeout = TOUCH_RECHECK_MS;
    else {
        driver->timeout = -1;
        atomic_store (&self->thread_idle, true);
        //  Main may have touched the socket, or left its loop, just before
        //  we said so.
        if (atomic_load (&self->touched))
            driver->timeout = 0;
    }
}

//  The background thread: process whenever the socket, its monitor or a
//  backlog needs it. While main is in its run loop, main processes; the
//  thread only checks, every MAIN_GRACE_MS, that main did (main_takes
//  moved on), and meanwhile stops watching the socket's descriptor: it
//  would otherwise wake on every libzmq signal that main is about to
//  handle. When a check finds main gone from its loop, or no further on
//  with a descriptor still announcing something (busy in a handler), the
//  thread processes what waits itself; no further with nothing announced,
//  main is idle and the thread sleeps; either way it watches the
//  descriptor again. The sockets' ZMQ_FDs are edge-triggered here: one
//  wake-up per libzmq signal.
static void *
s_router_thread (void *arg)
{
    router_t *self = (router_t *) arg;
    driver_t driver = { .router_fd = zsock_fd (self->state.router_sock),
                        .monitor_fd = zsock_fd (self->state.monitor),
                        .pub_fd = zsock_fd (self->state.pub_sock),
                        .timeout = 0, //  look once at the start, at everything
                        .monitor_ready = true,
                        .pub_ready = true };
    while (!atomic_load (&self->stop)) {
        bool lost = atomic_load (&self->state.lost_count) > 0;
        bool channel = atomic_load (&self->state.channel_count) > 0;
        struct epoll_event events[4];
        int count = epoll_wait (self->epoll_fd, events, 4, s_wait_ms (&driver, lost || channel));
        if (count < 0 && errno != EINTR)
            break;
        atomic_store (&self->thread_idle, false);
        if (lost || channel)
            s_sweep (self, channel);
        s_note_events (self, &driver, events, count);
        if (atomic_load (&self->stop))
            break;
        bool touched = atomic_load (&self->touched);
        if (!s_main_is_on_it (self, &driver, touched))
            s_process (self, &driver, touched);
    }
    return NULL;
}

//  Watch FD, reported by its number.
static int
s_thread_epoll_add (int epoll_fd, int fd, uint32_t events)
{
    return poller_add (epoll_fd, fd, events, (epoll_data_t){ .fd = fd });
}

//  libzmq unlinks an existing ipc socket file when it binds, which would
//  silently steal the endpoint from a main that is still running. Probe it
//  first: if something accepts a connection there, refuse.
static bool
s_ipc_in_use (const char *endpoint)
{
    if (strncmp (endpoint, "ipc://", 6) != 0 || endpoint[6] == '@')
        return false;
    const char *path = endpoint + 6;
    struct sockaddr_un addr;
    if (strlen (path) >= sizeof (addr.sun_path))
        return false;
    memset (&addr, 0, sizeof (addr));
    addr.sun_family = AF_UNIX;
    strcpy (addr.sun_path, path);
    int fd = socket (AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    bool in_use = connect (fd, (struct sockaddr *) &addr, sizeof (addr)) == 0;
    close (fd);
    return in_use;
}

router_t *
router_new (const router_config_t *config, int *error)
{
    acl_t *acl = config ? config->acl : NULL;
    if (!config || config->endpoint_count == 0 || config->endpoint_count > ROUTER_ENDPOINTS_MAX) {
        acl_destroy (&acl);
        *error = PROKIT_EINVAL;
        return NULL;
    }
    for (size_t i = 0; i < config->endpoint_count; i++)
        if (!config->endpoints[i] || s_ipc_in_use (config->endpoints[i])) {
            if (config->endpoints[i])
                log_error ("router: %s is in use by another process", config->endpoints[i]);
            acl_destroy (&acl);
            *error = config->endpoints[i] ? PROKIT_EEXIST : PROKIT_EINVAL;
            return NULL;
        }
    router_t *self = (router_t *) calloc (1, sizeof (*self));
    char (*bound)[ROUTER_BOUND_MAX] =
        (char (*)[ROUTER_BOUND_MAX]) calloc (ROUTER_ENDPOINTS_MAX, ROUTER_BOUND_MAX);
    if (!self || !bound) {
        free (self);
        free (bound);
        acl_destroy (&acl);
        *error = PROKIT_ENOMEM;
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    self->state.acl = acl;
    self->wake_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    self->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
    int rc = self->wake_fd < 0 || self->epoll_fd < 0
                 ? sock_error (PROKIT_ENOMEM)
                 : router_core_init (&self->state, config, bound);
    if (rc == PROKIT_OK && (s_thread_epoll_add (self->epoll_fd, self->wake_fd, EPOLLIN) != 0 ||
                            s_thread_epoll_add (self->epoll_fd, zsock_fd (self->state.router_sock),
                                                EPOLLIN | EPOLLET) != 0 ||
                            s_thread_epoll_add (self->epoll_fd, zsock_fd (self->state.monitor),
                                                EPOLLIN | EPOLLET) != 0 ||
                            s_thread_epoll_add (self->epoll_fd, zsock_fd (self->state.pub_sock),
                                                EPOLLIN | EPOLLET) != 0))
        rc = PROKIT_ETRANSPORT;
    //  The socket is the thread's from here on; creating the thread is
    //  the memory barrier libzmq asks for when a socket changes threads.
    if (rc == PROKIT_OK) {
        self->endpoint_count = config->endpoint_count;
        for (size_t i = 0; i < self->endpoint_count && rc == PROKIT_OK; i++)
            if (!(self->endpoints[i] = strdup (bound[i])))
                rc = PROKIT_ENOMEM;
    }
    if (rc == PROKIT_OK) {
        if (pthread_create (&self->thread, NULL, s_router_thread, self) != 0)
            rc = PROKIT_ENOMEM;
        else
            self->thread_started = true;
    }
    free (bound);
    if (rc != PROKIT_OK) {
        router_destroy (&self);
        *error = rc;
        return NULL;
    }
    *error = PROKIT_OK;
    return self;
}

const char *
router_endpoint (const router_t *self)
{
    return self->endpoints[0];
}

const char *
router_endpoint_at (const router_t *self, size_t index)
{
    return index < self->endpoint_count ? self->endpoints[index] : NULL;
}

int
router_stats (router_t *self, router_stats_t *stats)
{
    pthread_mutex_lock (&self->lock);
    *stats = self->state.stats;
    pthread_mutex_unlock (&self->lock);
    return PROKIT_OK;
}

int
router_last_seen (router_t *self, const char *name, long long *ms)
{
    pthread_mutex_lock (&self->lock);
    int64_t seen = name ? router_core_last_seen (&self->state, name) : 0;
    pthread_mutex_unlock (&self->lock);
    *ms = (long long) seen;
    return seen > 0 ? PROKIT_OK : PROKIT_ENOTFOUND;
}

size_t
router_reload (router_t *self, acl_t *acl)
{
    pthread_mutex_lock (&self->lock);
    size_t dropped = router_core_reload (&self->state, acl);
    pthread_mutex_unlock (&self->lock);
    return dropped;
}

void
router_destroy (router_t **self_p)
{
    if (self_p && *self_p) {
        router_t *self = *self_p;
        if (self->thread_started) {
            atomic_store (&self->stop, true);
            router_core_signal (self->wake_fd);
            pthread_join (self->thread, NULL);
            router_core_say_goodbye (&self->state);
        }
        router_core_free (&self->state);
        if (self->wake_fd > 0)
            close (self->wake_fd);
        if (self->epoll_fd > 0)
            close (self->epoll_fd);
        pthread_mutex_destroy (&self->lock);
        //  libzmq removes the socket file only when its I/O thread gets round
        //  to it, which a process about to exit may never let happen.
        for (size_t i = 0; i < self->endpoint_count; i++) {
            const char *endpoint = self->endpoints[i];
            if (endpoint && strncmp (endpoint, "ipc://", 6) == 0 && endpoint[6] != '@')
                unlink (endpoint + 6);
            const char *channel = self->state.channels[i];
            if (strncmp (channel, "ipc://", 6) == 0 && channel[6] != '@')
                unlink (channel + 6);
            free (self->endpoints[i]);
        }
        free (self);
        *self_p = NULL;
    }
}

//  --- the embedded main ---------------------------------------------------

void
router_local_fds (const router_t *self, int fds[ROUTER_LOCAL_FDS])
{
    fds[0] = zsock_fd (self->state.router_sock);
    fds[1] = zsock_fd (self->state.monitor);
    fds[2] = self->state.inbox_fd;
    fds[3] = zsock_fd (self->state.pub_sock);
}

size_t
router_max_payload (const router_t *self)
{
    return self->state.max_payload;
}

//  Main used the socket outside its run loop: libzmq may have consumed,
//  inside that send, the wake-up announcing incoming messages, so the
//  background thread must look again (once per sleep, not per send).
static void
s_touched (router_t *self)
{
    atomic_store (&self->touched, true);
    if (atomic_exchange (&self->thread_idle, false))
        router_core_signal (self->wake_fd);
}

int
router_local_send (router_t *self, proto_command_t command, uint64_t id, const proto_peer_t *peer,
                   zmq_msg_t *body)
{
    proto_msg_t msg; //  only what routing reads: no clearing of the peer's bytes
    msg.version = PROTO_VERSION_MAX;
    msg.body_frame = 0;
    msg.body_inline = false;
    msg.command = (uint8_t) command;
    msg.id = id;
    proto_peer_copy (peer, msg.peer, msg.channel_name);
    msg.deadline_ms = peer->deadline_ms;
    msg.body = (const uint8_t *) zmq_msg_data (body);
    msg.body_size = zmq_msg_size (body);
    pthread_mutex_lock (&self->lock);
    router_state_t *state = &self->state;
    state->stats.received++;
    //  Answers for main (an ERROR, INFO) go to its inbox, announced on its
    //  descriptor as anything else there.
    state->local_result = PROKIT_OK;
    router_core_handle (state, state->main, &msg, body);
    int rc = state->local_result;
    pthread_mutex_unlock (&self->lock);
    if (!atomic_load (&self->main_in_loop))
        s_touched (self);
    return rc;
}

bool
router_local_take (router_t *self, bool monitor_ready, bool pub_ready, inbound_t **spare,
                   inbound_t **head, inbound_t **tail)
{
    pthread_mutex_lock (&self->lock);
    router_state_t *state = &self->state;
    //  Keep what main has finished with, up to a bound, for the next items.
    while (*spare) {
        inbound_t *item = *spare;
        *spare = item->next;
        if (state->spare_count < ROUTER_SPARE_MAX) {
            item->next = state->spare;
            state->spare = item;
            state->spare_count++;
        }
        else
            free (item);
    }
    //  Under the lock, as every push: a push between reading the eventfd
    //  and clearing the flag would otherwise go unannounced.
    if (state->inbox_signalled) {
        uint64_t count;
        ssize_t rc = read (state->inbox_fd, &count, sizeof (count));
        (void) rc;
        state->inbox_signalled = false;
    }
    state->main_holds_lock = true;
    bool more = router_core_process (state, monitor_ready, pub_ready);
    state->main_holds_lock = false;
    //  Its handlers' replies and sends wait in BATCHes for the round's
    //  end (router_local_flush).
    atomic_store (&state->main_round, true);
    atomic_store (&self->main_more, more);
    atomic_fetch_add (&self->main_takes, 1);
    *head = state->inbox_head;
    *tail = state->inbox_tail;
    state->inbox_head = state->inbox_tail = NULL;
    state->inbox_size = 0;
    pthread_mutex_unlock (&self->lock);
    return more;
}

void
router_local_flush (router_t *self)
{
    if (!atomic_load (&self->state.main_round) && !atomic_load (&self->state.batches_waiting))
        return;
    pthread_mutex_lock (&self->lock);
    atomic_store (&self->state.main_round, false);
    router_core_flush_batches (&self->state);
    pthread_mutex_unlock (&self->lock);
}

void
router_local_attend (router_t *self, bool attending)
{
    atomic_store (&self->main_in_loop, attending);
    //  Main's last processing may have swallowed libzmq's wake-up for what
    //  it left (a batch limit, a stop): the thread looks, as after a send.
    if (!attending)
        s_touched (self);
}

int
router_public_stats (router_t *self, prokit_stats_t *stats)
{
    router_stats_t raw;
    int rc = router_stats (self, &raw);
    if (rc != PROKIT_OK)
        return rc;
#define S_COUNTER_COPY(name) stats->name = raw.name;
    PROTO_COUNTER_LIST (S_COUNTER_COPY)
    return PROKIT_OK;
}
