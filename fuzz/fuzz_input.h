/*  fuzz_input.h: how a fuzz input is cut into frames (fuzz/ only).

    The wire decoder and the router take messages of several frames; a
    fuzz input is one run of bytes. Both targets read it as records:

        flags (1 byte), length (2 bytes, big-endian), that many bytes

    where the last record may be cut short by the end of the input (its
    frame is then what is left). FUZZ_MORE in flags: another frame of the
    same message follows. FUZZ_SECOND: the router target sends this message
    from its second DEALER. fuzz/make_corpus.c writes seeds in this form.
*/
#ifndef PROKIT_FUZZ_INPUT_H_INCLUDED
#define PROKIT_FUZZ_INPUT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FUZZ_MORE 0x01
#define FUZZ_SECOND 0x02

typedef struct fuzz_reader {
    const uint8_t *at;
    const uint8_t *end;
} fuzz_reader_t;

typedef struct fuzz_record {
    uint8_t flags;
    const uint8_t *data;
    size_t size;
} fuzz_record_t;

//  The next record of *READER; false at the end of the input.
static inline bool
fuzz_next (fuzz_reader_t *reader, fuzz_record_t *record)
{
    if (reader->at >= reader->end)
        return false;
    const uint8_t *p = reader->at;
    size_t left = (size_t) (reader->end - p);
    record->flags = p[0];
    size_t size = left >= 3 ? ((size_t) p[1] << 8) | p[2] : 0;
    size_t head = left >= 3 ? 3 : left;
    if (size > left - head)
        size = left - head;
    record->data = p + head;
    record->size = size;
    reader->at = p + head + size;
    return true;
}

#endif
