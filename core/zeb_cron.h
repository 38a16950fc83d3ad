/*  =========================================================================
    zeb_cron - cron schedules: when a trigger fires next, in a time zone

    A schedule is five fields, minute hour day-of-month month day-of-week,
    each `*`, a number, a range `a-b`, a step (`*` or a range, then `/n`), or a list
    of those (`1,15,30-40/5`); months and days may be named (JAN..DEC,
    SUN..SAT; day 0 and 7 are Sunday). As in Vixie cron, when both day
    fields are restricted a day matches either; otherwise both. Or one of
    @yearly (@annually), @monthly, @weekly, @daily (@midnight), @hourly.

    Times are computed in an IANA time zone ("Europe/Berlin"; default
    UTC) read from the system's zoneinfo (TZif) files. Across daylight
    saving time: a local time that does not exist (the hour skipped in
    spring) fires once, at the transition (the next valid time); a local
    time that exists twice (the hour repeated in autumn) fires once, at
    its first occurrence. Transitions are those of the file (Debian's
    files list them until 2037; later times keep the last offset).
    =========================================================================
*/

#ifndef ZEB_CRON_H_INCLUDED
#define ZEB_CRON_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zeb_cron_t zeb_cron_t;

//  Compile a schedule in a time zone (NULL or "" for UTC). Returns NULL
//  with fault set (ZEB_EINVALID naming the field and what is wrong, or
//  the zone that cannot be read).
zeb_cron_t *
    zeb_cron_new (const char *schedule, const char *zone, zeb_fault_t *fault);

void
    zeb_cron_destroy (zeb_cron_t **self_p);

//  The first firing strictly after after_ms (ms since the epoch, UTC),
//  on a whole minute; 0 if there is none within the next eight years
//  (a schedule such as "0 0 30 2 *").
int64_t
    zeb_cron_next (zeb_cron_t *self, int64_t after_ms);

//  The UTC offset of the schedule's zone at a time, in seconds.
int32_t
    zeb_cron_offset (zeb_cron_t *self, int64_t time_ms);

//  Self test
void
    zeb_cron_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
