/*  frame-cost: what the shape of a message costs libzmq alone.

    Raw libzmq over ipc (HWM 0, nothing dropped) sends the same 28 bytes per
    message three ways: PUB/SUB as one frame, PUB/SUB as three (12 + 4 + 12,
    the shape of a version 1 prokit message: header, peer, body), and
    ROUTER to DEALER as one frame behind the DEALER's routing id (the shape
    of a version 2 prokit message from main to a window). It prints the
    rates and their ratios to the first. No prokit code runs: these are the
    ceilings the wire format and the ROUTER put on prokit's messages per
    second (docs/PERFORMANCE.md).
*/
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define MESSAGES 600000
#define ROUNDS 3

typedef enum { PUB_ONE_FRAME, PUB_THREE_FRAMES, ROUTER_ONE_FRAME } shape_t;

typedef struct run {
    void *context;
    char endpoint[64];
    shape_t shape;
    volatile int ready;
} run_t;

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

//  Warm-up messages start with 'w' (PUB drops them until the subscription
//  is in place, so they are not counted); timed ones with '0'.
static void
s_publish (void *socket, shape_t shape, char first)
{
    char head[12] = "0123456789ab";
    head[0] = first;
    if (shape == ROUTER_ONE_FRAME && zmq_send (socket, "w", 1, ZMQ_SNDMORE) < 0)
        return; //  not connected yet (warm-up)
    if (shape != PUB_THREE_FRAMES) {
        char whole[28] = "0123456789abcdef0123456789ab";
        whole[0] = first;
        zmq_send (socket, whole, sizeof (whole), 0);
    }
    else {
        zmq_send (socket, head, sizeof (head), ZMQ_SNDMORE);
        zmq_send (socket, "main", 4, ZMQ_SNDMORE);
        zmq_send (socket, "0123456789ab", 12, 0);
    }
}

static void *
s_subscriber (void *arg)
{
    run_t *run = (run_t *) arg;
    bool routed = run->shape == ROUTER_ONE_FRAME;
    void *socket = zmq_socket (run->context, routed ? ZMQ_DEALER : ZMQ_SUB);
    int unlimited = 0;
    zmq_setsockopt (socket, ZMQ_RCVHWM, &unlimited, sizeof (unlimited));
    if (routed)
        zmq_setsockopt (socket, ZMQ_ROUTING_ID, "w", 1);
    else
        zmq_setsockopt (socket, ZMQ_SUBSCRIBE, "", 0);
    zmq_connect (socket, run->endpoint);
    zmq_msg_t frame;
    zmq_msg_init (&frame);
    //  The first message proves the subscription is in place.
    long received = 0;
    while (received < MESSAGES) {
        zmq_msg_recv (&frame, socket, 0);
        if (*(char *) zmq_msg_data (&frame) == 'w')
            run->ready = 1;
        else
            received++;
        while (zmq_msg_more (&frame))
            zmq_msg_recv (&frame, socket, 0);
    }
    zmq_msg_close (&frame);
    zmq_close (socket);
    return NULL;
}

//  Messages per second for one run of messages of SHAPE.
static double
s_rate (void *context, shape_t shape)
{
    run_t run = { context, "", shape, 0 };
    snprintf (run.endpoint, sizeof (run.endpoint), "ipc:///tmp/prokit-frame-cost-%d.sock",
              (int) getpid ());
    bool routed = shape == ROUTER_ONE_FRAME;
    void *socket = zmq_socket (context, routed ? ZMQ_ROUTER : ZMQ_PUB);
    int unlimited = 0, mandatory = 1;
    zmq_setsockopt (socket, ZMQ_SNDHWM, &unlimited, sizeof (unlimited));
    if (routed)
        zmq_setsockopt (socket, ZMQ_ROUTER_MANDATORY, &mandatory, sizeof (mandatory));
    zmq_bind (socket, run.endpoint);
    pthread_t thread;
    pthread_create (&thread, NULL, s_subscriber, &run);
    while (!run.ready) {
        s_publish (socket, shape, 'w');
        struct timespec pause = { 0, 1000000 };
        nanosleep (&pause, NULL);
    }
    double start = s_now ();
    for (long i = 0; i < MESSAGES; i++)
        s_publish (socket, shape, '0');
    pthread_join (thread, NULL);
    double rate = (double) MESSAGES / (s_now () - start);
    zmq_close (socket);
    unlink (run.endpoint + 6);
    return rate;
}

int
main (void)
{
    void *context = zmq_ctx_new ();
    printf ("| round | PUB/SUB, 1 frame | PUB/SUB, 3 frames | ratio | ROUTER→DEALER, 1 frame "
            "| ratio |\n|---|---:|---:|---:|---:|---:|\n");
    for (int round = 1; round <= ROUNDS; round++) {
        double one = s_rate (context, PUB_ONE_FRAME);
        double three = s_rate (context, PUB_THREE_FRAMES);
        double routed = s_rate (context, ROUTER_ONE_FRAME);
        printf ("| %d | %.0f k/s | %.0f k/s | %.2f× | %.0f k/s | %.2f× |\n", round, one / 1000,
                three / 1000, three / one, routed / 1000, routed / one);
    }
    zmq_ctx_term (context);
    return 0;
}
