/*  poller.h: adding a descriptor to an epoll set (private).

    The router's thread, the supervisor and each client wait on an epoll
    set of their own; DATA says what a descriptor stands for when it is
    ready (its number, a tag, or a record).

    Thread-safety: as epoll_ctl(2).
*/
#ifndef PROKIT_POLLER_H_INCLUDED
#define PROKIT_POLLER_H_INCLUDED

#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>

//  Watch FD in EPOLL_FD for EVENTS (EPOLLIN, EPOLLET...), reported with
//  DATA. Returns 0 or -1 (errno).
static inline int
poller_add (int epoll_fd, int fd, uint32_t events, epoll_data_t data)
{
    struct epoll_event event;
    memset (&event, 0, sizeof (event));
    event.events = events;
    event.data = data;
    return epoll_ctl (epoll_fd, EPOLL_CTL_ADD, fd, &event);
}

#endif
