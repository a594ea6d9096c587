/*  message_private.h: the layout of messages, requests and replies, shared
    by client.c (which makes them) and message.c (which answers them). */
#ifndef PROKIT_MESSAGE_PRIVATE_H_INCLUDED
#define PROKIT_MESSAGE_PRIVATE_H_INCLUDED

#include "client.h"
#include "payload_private.h"
#include "prokit/message.h"
#include "proto.h"

struct prokit_message {
    const char *sender;
    prokit_payload_t *payload;
    bool broadcast;
};

struct prokit_request {
    client_t *client; //  NULL once the client is gone
    uint64_t id;
    char sender[PROTO_NAME_MAX + 1];
    prokit_payload_t *payload; //  &payload_storage: the handler only borrows it
    prokit_payload_t payload_storage;
    bool answered;
    bool deferred;
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

//  Called by client.c when a deferred request is answered or orphaned.
void client_forget_deferred (client_t *self, prokit_request_t *request);

void request_free (prokit_request_t *self);

#endif
