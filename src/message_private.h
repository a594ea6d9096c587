/*  message_private.h: the layout of messages, requests and replies, shared
    by client.c (which makes them) and message.c (which answers them). A
    request is answered through the calls its maker gave it, so this module
    depends on no client. */
#ifndef PROKIT_MESSAGE_PRIVATE_H_INCLUDED
#define PROKIT_MESSAGE_PRIVATE_H_INCLUDED

#include "payload_private.h"
#include "prokit/message.h"
#include "proto.h"

struct prokit_message {
    const char *sender;
    const char *channel; //  "" for the default one
    prokit_payload_t *payload;
    bool broadcast;
};

//  How a request is answered, by whoever made it (OWNER): send a REPLY
//  (BODY, taken) or an ERROR to REQUESTER for request ID, returning
//  PROKIT_EAGAIN when nothing could be sent; and forget a deferred request
//  once answered.
typedef struct request_answerer {
    int (*answer) (void *owner, const char *requester, uint64_t id, prokit_payload_t **body_p,
                   int code, int app_code, const char *text);
    //  Send a PROGRESS (BODY, taken on success) before the answer.
    int (*progress) (void *owner, const char *requester, uint64_t id, prokit_payload_t **body_p);
    void (*forget) (void *owner, prokit_request_t *request);
} request_answerer_t;

struct prokit_request {
    const request_answerer_t *answerer; //  NULL once its maker is gone
    void *owner;
    uint64_t id;
    char sender[PROTO_NAME_MAX + 1];
    char channel[PROTO_CHANNEL_NAME_MAX + 1]; //  "" for the default one
    prokit_payload_t *payload;                //  &payload_storage: the handler only borrows it
    prokit_payload_t payload_storage;
    bool answered;
    bool deferred;
    bool cancelled;                //  its requester cancelled it (CANCEL)
    int64_t deadline;              //  monotonic ms (clock_mono_ms ()), 0: none said
    bool in_handler;               //  its handler is running: the dispatcher frees it after
    prokit_request_t *prev, *next; //  in the client's deferred list
};

struct prokit_reply {
    int status;
    int app_code;
    char target[PROTO_NAME_MAX + 1];
    //  Either &payload_storage (borrowed: a reply given to a callback needs
    //  no allocation unless prokit_reply_take_payload() is called) or a
    //  payload of its own; NULL when there is none.
    prokit_payload_t *payload;
    prokit_payload_t payload_storage;
    char text[PROTO_ERROR_TEXT_MAX + 1];
};

//  Free what the reply holds (not the reply itself).
void reply_release (prokit_reply_t *self);

void request_free (prokit_request_t *self);

#endif
