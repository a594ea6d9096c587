/*  message.c: accessors for messages, requests and replies, and the
    answering of requests. Answering goes back through the client that
    received the request; a request whose client has gone is answered with
    PROKIT_ECLOSED and freed, so a deferred request can never reach freed
    memory. */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "message_private.h"
#include "prokit/error.h"

//  The accessors that read one field: SELF's FIELD, or NONE when SELF is
//  NULL.
#define S_ACCESSOR(type, name, object_t, field, none)                                              \
    type name (const object_t *self)                                                               \
    {                                                                                              \
        return self ? self->field : none;                                                          \
    }

S_ACCESSOR (const char *, prokit_message_sender, prokit_message_t, sender, NULL)
S_ACCESSOR (const char *, prokit_message_channel, prokit_message_t, channel, NULL)
S_ACCESSOR (const prokit_payload_t *, prokit_message_payload, prokit_message_t, payload, NULL)
S_ACCESSOR (bool, prokit_message_is_broadcast, prokit_message_t, broadcast, false)
S_ACCESSOR (const char *, prokit_request_sender, prokit_request_t, sender, NULL)
S_ACCESSOR (const char *, prokit_request_channel, prokit_request_t, channel, NULL)
S_ACCESSOR (const prokit_payload_t *, prokit_request_payload, prokit_request_t, payload, NULL)
S_ACCESSOR (bool, prokit_request_is_cancelled, prokit_request_t, cancelled, false)
S_ACCESSOR (int, prokit_reply_status, prokit_reply_t, status, PROKIT_EINVAL)
S_ACCESSOR (const prokit_payload_t *, prokit_reply_payload, prokit_reply_t, payload, NULL)
S_ACCESSOR (const char *, prokit_reply_error, prokit_reply_t, text, "")
S_ACCESSOR (int, prokit_reply_app_code, prokit_reply_t, app_code, 0)
S_ACCESSOR (const char *, prokit_reply_target, prokit_reply_t, target, NULL)

prokit_payload_t *
prokit_request_take_payload (prokit_request_t *self)
{
    if (!self || !self->payload)
        return NULL;
    //  The frame moves into a payload of the caller's own; the bytes stay.
    prokit_payload_t *payload = payload_take (&self->payload_storage);
    if (payload)
        self->payload = NULL;
    return payload;
}

prokit_request_t *
prokit_request_defer (prokit_request_t *self)
{
    if (!self || self->answered || self->deferred)
        return NULL;
    self->deferred = true;
    return self;
}

void
request_free (prokit_request_t *self)
{
    if (self->payload)
        payload_release (self->payload);
    free (self);
}

//  Common tail of reply and fail: send, then free a deferred request (the
//  dispatcher frees one it still owns after the handler returns).
static int
s_answer (prokit_request_t **self_p, prokit_payload_t **payload_p, int app_code, const char *text)
{
    if (!self_p || !*self_p)
        return PROKIT_EINVAL;
    prokit_request_t *self = *self_p;
    *self_p = NULL;
    if (self->answered)
        return PROKIT_EINVAL;
    self->answered = true;
    int rc;
    if (!self->answerer)
        rc = PROKIT_ECLOSED;
    else if (payload_p)
        rc = self->answerer->answer (self->owner, self->sender, self->id, payload_p, PROKIT_OK, 0,
                                     NULL);
    else
        rc = self->answerer->answer (self->owner, self->sender, self->id, NULL, PROKIT_EHANDLER,
                                     app_code, text);
    if (rc == PROKIT_EAGAIN) {
        //  Nothing left: the request is still open, so the caller may
        //  try again with a new payload.
        self->answered = false;
        *self_p = self;
        return rc;
    }
    //  Deferred and answered from within its own handler, it is still the
    //  dispatcher's, which frees it when the handler returns.
    if (self->deferred && !self->in_handler) {
        if (self->answerer)
            self->answerer->forget (self->owner, self);
        request_free (self);
    }
    return rc;
}

int
prokit_request_reply (prokit_request_t **self_p, prokit_payload_t **payload_p)
{
    if (!payload_p || !*payload_p) {
        //  A reply needs a value; refuse without consuming the request.
        return PROKIT_EINVAL;
    }
    return s_answer (self_p, payload_p, 0, NULL);
}

int
prokit_request_fail (prokit_request_t **self_p, int app_code, const char *text)
{
    return s_answer (self_p, NULL, app_code, text ? text : "");
}

int
prokit_request_progress (prokit_request_t *self, prokit_payload_t **payload_p)
{
    if (!self || !payload_p || !*payload_p || self->answered)
        return PROKIT_EINVAL;
    if (!self->answerer)
        return PROKIT_ECLOSED;
    if (self->cancelled)
        return PROKIT_ECANCELED;
    return self->answerer->progress (self->owner, self->sender, self->id, payload_p);
}

long long
prokit_request_time_left (const prokit_request_t *self)
{
    if (!self || !self->deadline)
        return -1;
    int64_t left = self->deadline - clock_mono_ms ();
    return left > 0 ? (long long) left : 0;
}

const char *
prokit_reply_str (const prokit_reply_t *self)
{
    return self ? prokit_payload_str (self->payload) : NULL;
}

prokit_payload_t *
prokit_reply_take_payload (prokit_reply_t *self)
{
    if (!self)
        return NULL;
    prokit_payload_t *payload = self->payload;
    //  The borrowed one lives in the reply: give the caller its own.
    if (payload == &self->payload_storage)
        payload = payload_take (&self->payload_storage);
    if (payload)
        self->payload = NULL;
    return payload;
}

void
reply_release (prokit_reply_t *self)
{
    if (self->payload == &self->payload_storage)
        payload_release (&self->payload_storage);
    else
        prokit_payload_destroy (&self->payload);
    self->payload = NULL;
}

void
prokit_reply_destroy (prokit_reply_t **self_p)
{
    if (self_p && *self_p) {
        reply_release (*self_p);
        free (*self_p);
        *self_p = NULL;
    }
}
