/*  =========================================================================
    zeb_time - wall-clock time in milliseconds and RFC 3339 text

    Events carry time as int64 milliseconds since the Unix epoch (UTC); JSON
    carries it as RFC 3339 text. These convert between the two.
    =========================================================================
*/

#ifndef ZEB_TIME_H_INCLUDED
#define ZEB_TIME_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

//  Size of a buffer that holds any time zeb_time_format writes
#define ZEB_TIME_STRLEN 48

//  Milliseconds since the Unix epoch, from the real-time clock.
int64_t
    zeb_time_now (void);

//  Microseconds from a monotonic clock, for measuring intervals.
int64_t
    zeb_time_mono_us (void);

//  Write time_ms as RFC 3339 UTC with milliseconds, e.g.
//  "2026-11-22T07:36:56.123Z", into buffer (at least ZEB_TIME_STRLEN bytes).
//  Returns buffer.
char *
    zeb_time_format (int64_t time_ms, char *buffer);

//  Parse RFC 3339 text ("2026-11-22T07:36:56Z", fractions of a second and
//  numeric offsets allowed; 't', 'z' and ' ' as separators accepted).
//  Returns 0 and sets *time_ms, or -1 if the text is not a valid time.
int
    zeb_time_parse (const char *text, size_t len, int64_t *time_ms);

//  Self test
void
    zeb_time_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
