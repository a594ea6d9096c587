/*  message_private.h: the layout of messages, requests and replies, shared
    by client.c (which makes them) and message.c (which answers them). */
#ifndef PROKIT_MESSAGE_PRIVATE_H_INCLUDED
#define PROKIT_MESSAGE_PRIVATE_H_INCLUDED

#include "client.h"
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
    prokit_payload_t *payload;
    bool answered;
    bool deferred;
    prokit_request_t *prev, *next; //  in the client's deferred list
};

struct prokit_reply {
    int status;
    int app_code;
    char target[PROTO_NAME_MAX + 1];
    prokit_payload_t *payload;
    char text[PROTO_ERROR_TEXT_MAX + 1];
};

//  Called by client.c when a deferred request is answered or orphaned.
void client_forget_deferred (client_t *self, prokit_request_t *request);

void request_free (prokit_request_t *self);

#endif
