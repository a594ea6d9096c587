/*  prokit/info.h: what main and the router tell about windows and traffic.

    Plain structures filled by value: prokit_window_info_t by
    prokit_main_get_window(), prokit_main_get_all_windows() and
    prokit_window_list_windows(); prokit_stats_t by prokit_main_stats() and
    prokit_window_router_stats().

    Thread-safety: plain data; no functions here.
*/
#ifndef PROKIT_INFO_H_INCLUDED
#define PROKIT_INFO_H_INCLUDED

#include <stdbool.h>

#include "prokit/message.h"

#ifdef __cplusplus
extern "C" {
#endif

//  What is known about one window: by main (prokit_main_get_window()),
//  or by the router (prokit_window_list_windows(), which cannot know
//  whether main started it: spawned is false and restarts 0 there).
typedef struct prokit_window_info {
    char name[PROKIT_NAME_MAX + 1];
    bool joined;                       //  false: started by main, not joined (yet, or again)
    long long joined_at_ms;            //  when it joined, ms since the Unix epoch; 0 if not joined
    long long last_seen_ms;            //  when the router last received from it, ms since the epoch
    bool spawned;                      //  started by this main
    int pid;                           //  its process id when known, else 0
    bool shown;                        //  visible (true) or hidden
    char address[128];                 //  its connection's peer address when known, else ""
    int restarts;                      //  times main restarted it
    char service[PROKIT_NAME_MAX + 1]; //  the pool it serves, "" for none
} prokit_window_info_t;

//  Router counters, as kept by the routing core.
typedef struct prokit_stats {
    unsigned long long received;         //  well-formed messages the router took
    unsigned long long routed;           //  messages it forwarded
    unsigned long long errors_sent;      //  errors it answered with
    unsigned long long garbage;          //  foreign frames dropped
    unsigned long long malformed;        //  prokit messages refused as malformed
    unsigned long long too_big;          //  payloads refused for their size
    unsigned long long unroutable;       //  replies whose requester had left
    unsigned long long back_pressure;    //  deliveries refused: queue full
    unsigned long long control_lost;     //  router errors/events lost (backlog limit)
    unsigned long long windows;          //  windows joined now
    unsigned long long limited;          //  refused for a limit (PROKIT_ELIMIT)
    unsigned long long cancelled;        //  cancellations passed on to the handler
    unsigned long long late;             //  answers dropped: their request was cancelled
    unsigned long long batches;          //  BATCHes published to windows (several messages each)
    unsigned long long batches_received; //  BATCHes taken in from clients
} prokit_stats_t;

#ifdef __cplusplus
}
#endif

#endif
