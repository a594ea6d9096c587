/*  payload.c: one msgpack value, held encoded in a zmq frame so that it can
    be sent and received without copying. Constructors validate or produce
    well-formed msgpack, so every payload in a process is well-formed. */
#define _GNU_SOURCE
#include "payload_private.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pack.h"
#include "proto.h"

//  A payload whose frame the caller initialises. malloc, not calloc:
//  glibc's calloc bypasses the thread's cache of small blocks and costs
//  several times as much, on every message.
static prokit_payload_t *
s_alloc (void)
{
    prokit_payload_t *self = (prokit_payload_t *) malloc (sizeof (*self));
    if (self)
        self->text = NULL;
    return self;
}

static prokit_payload_t *
s_new_sized (size_t size)
{
    prokit_payload_t *self = s_alloc ();
    if (!self)
        return NULL;
    if (zmq_msg_init_size (&self->frame, size) != 0) {
        free (self);
        return NULL;
    }
    return self;
}

static prokit_payload_t *
s_new_raw (const void *data, size_t len, bool is_str)
{
    if (len > UINT32_MAX || (!data && len > 0))
        return NULL;
    uint8_t head[5];
    size_t head_size = pack_write_raw_head (head, len, is_str);
    prokit_payload_t *self = s_new_sized (head_size + len);
    if (!self)
        return NULL;
    uint8_t *out = (uint8_t *) zmq_msg_data (&self->frame);
    memcpy (out, head, head_size);
    if (len > 0)
        memcpy (out + head_size, data, len);
    return self;
}

prokit_payload_t *
prokit_payload_new_string (const char *text)
{
    return text ? s_new_raw (text, strlen (text), true) : NULL;
}

prokit_payload_t *
prokit_payload_new_printf (const char *format, ...)
{
    if (!format)
        return NULL;
    va_list args;
    va_start (args, format);
    char *text = NULL;
    int len = vasprintf (&text, format, args);
    va_end (args);
    if (len < 0)
        return NULL;
    prokit_payload_t *self = s_new_raw (text, (size_t) len, true);
    free (text);
    return self;
}

prokit_payload_t *
prokit_payload_new_bytes (const void *data, size_t size)
{
    return s_new_raw (data, size, false);
}

prokit_payload_t *
prokit_payload_new_nil (void)
{
    prokit_payload_t *self = s_new_sized (1);
    if (self)
        pack_write_nil ((uint8_t *) zmq_msg_data (&self->frame));
    return self;
}

prokit_payload_t *
prokit_payload_new_msgpack (const void *data, size_t size)
{
    if (pack_check (data, size) != 0)
        return NULL;
    prokit_payload_t *self = s_new_sized (size);
    if (self)
        memcpy (zmq_msg_data (&self->frame), data, size);
    return self;
}

prokit_payload_t *
prokit_payload_dup (const prokit_payload_t *self)
{
    if (!self)
        return NULL;
    prokit_payload_t *copy = s_alloc ();
    if (!copy)
        return NULL;
    //  zmq_msg_copy shares large buffers by reference count; it takes a
    //  non-const source but does not change its content.
    zmq_msg_init (&copy->frame);
    if (zmq_msg_copy (&copy->frame, (zmq_msg_t *) &self->frame) != 0) {
        zmq_msg_close (&copy->frame);
        free (copy);
        return NULL;
    }
    return copy;
}

void
prokit_payload_destroy (prokit_payload_t **self_p)
{
    if (self_p && *self_p) {
        payload_release (*self_p);
        free (*self_p);
        *self_p = NULL;
    }
}

prokit_payload_t *
payload_from_frame (zmq_msg_t *frame)
{
    prokit_payload_t *self = s_alloc ();
    if (!self) {
        zmq_msg_close (frame);
        zmq_msg_init (frame);
        return NULL;
    }
    zmq_msg_init (&self->frame);
    zmq_msg_move (&self->frame, frame);
    return self;
}

void
payload_borrowed (prokit_payload_t *storage, zmq_msg_t *frame)
{
    zmq_msg_init (&storage->frame);
    zmq_msg_move (&storage->frame, frame);
    storage->text = NULL;
}

prokit_payload_t *
payload_take (prokit_payload_t *storage)
{
    prokit_payload_t *self = s_alloc ();
    if (!self)
        return NULL;
    zmq_msg_init (&self->frame);
    zmq_msg_move (&self->frame, &storage->frame);
    self->text = storage->text;
    storage->text = NULL;
    return self;
}

void
payload_release (prokit_payload_t *storage)
{
    zmq_msg_close (&storage->frame);
    free (storage->text);
    storage->text = NULL;
}

zmq_msg_t *
payload_frame (prokit_payload_t *self)
{
    return &self->frame;
}

const void *
prokit_payload_data (const prokit_payload_t *self)
{
    return self ? zmq_msg_data ((zmq_msg_t *) &self->frame) : NULL;
}

size_t
prokit_payload_size (const prokit_payload_t *self)
{
    return self ? zmq_msg_size (&self->frame) : 0;
}

prokit_payload_type_t
prokit_payload_type (const prokit_payload_t *self)
{
    if (!self || zmq_msg_size (&self->frame) == 0)
        return PROKIT_PAYLOAD_NIL;
    return pack_type_of (*(const uint8_t *) zmq_msg_data ((zmq_msg_t *) &self->frame));
}

const void *
prokit_payload_bytes (const prokit_payload_t *self, size_t *size)
{
    //  The frame is asked for its data and size once: each is a call into
    //  libzmq, and listeners call this for every message.
    size_t total = self ? zmq_msg_size (&self->frame) : 0;
    if (total == 0)
        return NULL;
    const uint8_t *p = (const uint8_t *) zmq_msg_data ((zmq_msg_t *) &self->frame);
    //  Payloads are validated on construction and receipt; reading through
    //  the cursor all the same keeps a bad frame from being read past its
    //  end.
    pack_cursor_t c = { p, p + total };
    const uint8_t *bytes;
    size_t len;
    if (!pack_read_raw (&c, &bytes, &len))
        return NULL;
    if (size)
        *size = len;
    return bytes;
}

const char *
prokit_payload_str (const prokit_payload_t *self)
{
    if (prokit_payload_type (self) != PROKIT_PAYLOAD_STR)
        return NULL;
    if (!self->text) {
        size_t len = 0;
        const char *bytes = (const char *) prokit_payload_bytes (self, &len);
        if (!bytes)
            return NULL;
        char *text = (char *) malloc (len + 1);
        if (!text)
            return NULL;
        memcpy (text, bytes, len);
        text[len] = 0;
        //  The cache is the one thing a const reader changes.
        ((prokit_payload_t *) self)->text = text;
    }
    return self->text;
}
