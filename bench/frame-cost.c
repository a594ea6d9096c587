/*  frame-cost: what the number of frames per message costs libzmq alone.

    A raw PUB/SUB pair over ipc (HWM 0, nothing dropped) sends the same 28
    bytes per message as one frame, then as three (12 + 4 + 12, the shape
    of a prokit message: header, peer, body), and prints both rates and
    their ratio. No prokit code runs: this is the ceiling a three-frame
    wire format puts on prokit's messages per second (docs/PERFORMANCE.md).
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define MESSAGES 600000
#define ROUNDS 3

typedef struct run {
    void *context;
    char endpoint[64];
    int frames;
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
s_publish (void *socket, int frames, char first)
{
    char head[12] = "0123456789ab";
    head[0] = first;
    if (frames == 1) {
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
    void *socket = zmq_socket (run->context, ZMQ_SUB);
    int unlimited = 0;
    zmq_setsockopt (socket, ZMQ_RCVHWM, &unlimited, sizeof (unlimited));
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

//  Messages per second for one run of FRAMES frames per message.
static double
s_rate (void *context, int frames)
{
    run_t run = { context, "", frames, 0 };
    snprintf (run.endpoint, sizeof (run.endpoint), "ipc:///tmp/prokit-frame-cost-%d.sock",
              (int) getpid ());
    void *socket = zmq_socket (context, ZMQ_PUB);
    int unlimited = 0;
    zmq_setsockopt (socket, ZMQ_SNDHWM, &unlimited, sizeof (unlimited));
    zmq_bind (socket, run.endpoint);
    pthread_t thread;
    pthread_create (&thread, NULL, s_subscriber, &run);
    while (!run.ready) {
        s_publish (socket, frames, 'w');
        struct timespec pause = { 0, 1000000 };
        nanosleep (&pause, NULL);
    }
    double start = s_now ();
    for (long i = 0; i < MESSAGES; i++)
        s_publish (socket, frames, '0');
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
    printf ("| round | 1 frame, msgs/s | 3 frames, msgs/s | ratio |\n|---|---:|---:|---:|\n");
    for (int round = 1; round <= ROUNDS; round++) {
        double one = s_rate (context, 1);
        double three = s_rate (context, 3);
        printf ("| %d | %.0f k/s | %.0f k/s | %.2f× |\n", round, one / 1000, three / 1000,
                three / one);
    }
    zmq_ctx_term (context);
    return 0;
}
