/*  =========================================================================
    zeb_uuid - UUIDv7 identifiers (RFC 9562) for events that arrive without id

    A UUIDv7 starts with the Unix time in milliseconds, so ids sort by time.
    Within one thread, ids are strictly increasing: the 12-bit rand_a field
    is a counter seeded at random each millisecond (RFC 9562, method 1), and
    if it overflows the timestamp borrows from the next millisecond. The
    other 62 bits come from a generator seeded by getrandom(). Safe to call
    from any thread (state is per thread); never blocks after seeding.
    =========================================================================
*/

#ifndef ZEB_UUID_H_INCLUDED
#define ZEB_UUID_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

//  Length of the canonical text form, without the terminating null
#define ZEB_UUID_STRLEN 36

//  Fill bytes with a new UUIDv7.
void
    zeb_uuid_v7 (uint8_t bytes [16]);

//  Write a new UUIDv7 as lowercase canonical text (8-4-4-4-12) into text,
//  which must hold ZEB_UUID_STRLEN + 1 bytes. Returns text.
char *
    zeb_uuid_v7_str (char *text);

//  Unix milliseconds encoded in a UUIDv7's text; -1 if text is not a UUIDv7.
int64_t
    zeb_uuid_v7_time (const char *text);

//  Self test
void
    zeb_uuid_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
