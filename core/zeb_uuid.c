/*  =========================================================================
    zeb_uuid - UUIDv7 identifiers (RFC 9562) for events that arrive without id
    =========================================================================
*/

#include "zeb_classes.h"
#include <sys/random.h>

typedef struct {
    bool seeded;
    uint64_t state;             //  splitmix64 state
    int64_t last_ms;            //  timestamp of the last id
    uint16_t counter;           //  12-bit counter within last_ms
} s_generator_t;

static _Thread_local s_generator_t s_gen;

static uint64_t
s_random (s_generator_t *gen)
{
    if (!gen->seeded) {
        uint64_t seed = 0;
        if (getrandom (&seed, sizeof (seed), 0) != sizeof (seed))
            seed = (uint64_t) zeb_time_mono_us () ^ ((uint64_t) getpid () << 32)
                 ^ (uint64_t) (uintptr_t) gen;
        gen->state = seed;
        gen->seeded = true;
    }
    //  splitmix64: fast, full period, good enough for the random bits of an
    //  id whose uniqueness rests on the timestamp and counter as well
    uint64_t z = (gen->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void
zeb_uuid_v7 (uint8_t bytes [16])
{
    s_generator_t *gen = &s_gen;
    int64_t now = zeb_time_now ();
    uint64_t random = s_random (gen);
    if (now > gen->last_ms) {
        gen->last_ms = now;
        gen->counter = (uint16_t) (random >> 52) & 0x3ff;   //  leave headroom
    }
    else {
        //  Same millisecond, or the clock went back: keep increasing
        gen->counter++;
        if (gen->counter > 0xfff) {
            gen->last_ms++;
            gen->counter = 0;
        }
    }
    uint64_t ms = (uint64_t) gen->last_ms;
    bytes [0] = (uint8_t) (ms >> 40);
    bytes [1] = (uint8_t) (ms >> 32);
    bytes [2] = (uint8_t) (ms >> 24);
    bytes [3] = (uint8_t) (ms >> 16);
    bytes [4] = (uint8_t) (ms >> 8);
    bytes [5] = (uint8_t) ms;
    bytes [6] = (uint8_t) (0x70 | ((gen->counter >> 8) & 0x0f));
    bytes [7] = (uint8_t) gen->counter;
    uint64_t tail = s_random (gen);
    bytes [8] = (uint8_t) (0x80 | ((tail >> 56) & 0x3f));
    for (int index = 9; index < 16; index++)
        bytes [index] = (uint8_t) (tail >> (8 * (15 - index)));
}

char *
zeb_uuid_v7_str (char *text)
{
    static const char hex [] = "0123456789abcdef";
    uint8_t bytes [16];
    zeb_uuid_v7 (bytes);
    char *p = text;
    for (int index = 0; index < 16; index++) {
        if (index == 4 || index == 6 || index == 8 || index == 10)
            *p++ = '-';
        *p++ = hex [bytes [index] >> 4];
        *p++ = hex [bytes [index] & 0x0f];
    }
    *p = 0;
    return text;
}

int64_t
zeb_uuid_v7_time (const char *text)
{
    if (!text || strlen (text) != ZEB_UUID_STRLEN
    ||  text [8] != '-' || text [13] != '-' || text [18] != '-' || text [23] != '-'
    ||  text [14] != '7')
        return -1;
    int64_t ms = 0;
    for (int index = 0; index < 13; index++) {
        if (index == 8)
            continue;
        int c = tolower ((unsigned char) text [index]);
        int digit = isdigit (c)? c - '0': (c >= 'a' && c <= 'f')? c - 'a' + 10: -1;
        if (digit < 0)
            return -1;
        ms = (ms << 4) | digit;
    }
    return ms;
}

void
zeb_uuid_test (bool verbose)
{
    printf (" * zeb_uuid: ");
    char previous [ZEB_UUID_STRLEN + 1] = "";
    char text [ZEB_UUID_STRLEN + 1];
    int64_t before = zeb_time_now ();
    //  Strictly increasing within a thread, even far beyond 4,096 per ms
    for (int index = 0; index < 100000; index++) {
        zeb_uuid_v7_str (text);
        assert (strlen (text) == ZEB_UUID_STRLEN);
        assert (text [14] == '7');                          //  version
        assert (strchr ("89ab", text [19]));                //  variant 10
        assert (strcmp (text, previous) > 0);
        memcpy (previous, text, sizeof (text));
    }
    int64_t stamp = zeb_uuid_v7_time (text);
    assert (stamp >= before && stamp <= zeb_time_now () + 100);
    assert (zeb_uuid_v7_time ("not-a-uuid") == -1);
    assert (zeb_uuid_v7_time ("0190b4a1-2c3d-4e5f-8a6b-7c8d9e0f1a2b") == -1);  //  v4
    printf ("OK\n");
}
