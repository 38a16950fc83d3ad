/*  =========================================================================
    zeb_cron - cron schedules in a time zone (see the header)

    The schedule is five bit sets. The next firing is searched day by day
    in local time (at most eight years of days), and within a matching
    day hour by hour, minute by minute through the set bits only; each
    local minute is mapped to UTC through the zone's transitions. The
    zone is a TZif file (RFC 8536), its 64-bit section, read once.
    =========================================================================
*/

#include "zeb_classes.h"

#define S_MAX_DAYS  (8 * 366)

struct _zeb_cron_t {
    uint64_t minutes;           //  bit m: minute m (0-59)
    uint32_t hours;             //  bit h (0-23)
    uint32_t days;              //  bit d (1-31)
    uint32_t months;            //  bit m (1-12)
    uint32_t weekdays;          //  bit d (0-6, Sunday 0)
    bool days_star, weekdays_star;
    //  The zone: transitions and the offset (s) from each on
    size_t count;
    int64_t *times;
    int32_t *offsets;           //  after times [i]
    int32_t initial;            //  before the first
};

//  ---------------------------------------------------------------------
//  Civil dates (days since 1970-01-01), after Howard Hinnant's algorithms

static int64_t
s_days_from_civil (int64_t year, unsigned month, unsigned day)
{
    year -= month <= 2;
    int64_t era = (year >= 0? year: year - 399) / 400;
    unsigned yoe = (unsigned) (year - era * 400);
    unsigned doy = (153 * (month + (month > 2? -3: 9)) + 2) / 5 + day - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t) doe - 719468;
}

static void
s_civil_from_days (int64_t days, int64_t *year, unsigned *month, unsigned *day)
{
    days += 719468;
    int64_t era = (days >= 0? days: days - 146096) / 146097;
    unsigned doe = (unsigned) (days - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *day = doy - (153 * mp + 2) / 5 + 1;
    *month = mp < 10? mp + 3: mp - 9;
    *year = (int64_t) yoe + era * 400 + (*month <= 2);
}

static int64_t
s_floor_div (int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

//  ---------------------------------------------------------------------
//  The schedule

static const char *s_month_names [] = { "jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec", NULL };
static const char *s_day_names [] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL };

//  A number or (names not NULL) a name at *text; -1 if none
static int
s_value (const char **text, const char **names, int first)
{
    const char *at = *text;
    if (isdigit ((unsigned char) *at)) {
        int value = 0;
        while (isdigit ((unsigned char) *at) && value < 1000)
            value = value * 10 + (*at++ - '0');
        *text = at;
        return value;
    }
    for (int index = 0; names && names [index]; index++)
        if (strncasecmp (at, names [index], 3) == 0 && !isalpha ((unsigned char) at [3])) {
            *text = at + 3;
            return index + first;
        }
    return -1;
}

//  One field (len bytes) into bits; 0, or -1 with fault naming it
static int
s_field (const char *text, size_t len, int low, int high, const char **names, int first,
         const char *name, uint64_t *bits, bool *star, zeb_fault_t *fault)
{
    char field [128];
    if (len == 0 || len >= sizeof (field))
        return zeb_fault_set (fault, ZEB_EINVALID, "schedule: the %s field is empty or too long", name);
    memcpy (field, text, len);
    field [len] = 0;
    *bits = 0;
    *star = field [0] == '*';
    if (field [0] == ',' || field [len - 1] == ',' || strstr (field, ",,"))
        return zeb_fault_set (fault, ZEB_EINVALID, "schedule: the %s field: '%s' has an empty item",
                              name, field);
    char *save = NULL;
    for (char *item = strtok_r (field, ",", &save); item; item = strtok_r (NULL, ",", &save)) {
        const char *at = item;
        int from, to, step = 1;
        if (*at == '*') {
            from = low;
            to = high;
            at++;
        }
        else {
            from = s_value (&at, names, first);
            to = from;
            if (*at == '-') {
                at++;
                to = s_value (&at, names, first);
            }
            else
            if (*at == '/')
                to = high;          //  a/n: from a to the end, every n
        }
        if (*at == '/') {
            at++;
            step = s_value (&at, NULL, 0);
        }
        if (*at || from < low || to > high || from > to || step < 1)
            return zeb_fault_set (fault, ZEB_EINVALID, "schedule: the %s field: '%s' is not a value, "
                                  "range or step within %d-%d", name, item, low, high);
        for (int value = from; value <= to; value += step)
            *bits |= (uint64_t) 1 << value;
    }
    return 0;
}

static int
s_parse (zeb_cron_t *self, const char *schedule, zeb_fault_t *fault)
{
    static const struct { const char *name; const char *fields; } macros [] = {
        { "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
        { "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" }, { "@midnight", "0 0 * * *" },
        { "@hourly", "0 * * * *" }, { NULL, NULL } };
    while (isspace ((unsigned char) *schedule))
        schedule++;
    if (*schedule == '@') {
        size_t index = 0;
        while (macros [index].name && strcasecmp (schedule, macros [index].name))
            index++;
        if (!macros [index].name)
            return zeb_fault_set (fault, ZEB_EINVALID, "schedule: unknown '%s' (@yearly, @annually, "
                                  "@monthly, @weekly, @daily, @midnight, @hourly)", schedule);
        schedule = macros [index].fields;
    }
    const char *names [] = { "minute", "hour", "day-of-month", "month", "day-of-week" };
    const int lows [] = { 0, 0, 1, 1, 0 }, highs [] = { 59, 23, 31, 12, 7 };
    uint64_t bits [5];
    bool stars [5];
    const char *at = schedule;
    for (int field = 0; field < 5; field++) {
        while (isspace ((unsigned char) *at))
            at++;
        size_t len = strcspn (at, " \t");
        if (len == 0)
            return zeb_fault_set (fault, ZEB_EINVALID, "schedule: '%s' has %d fields; it needs five "
                                  "(minute hour day-of-month month day-of-week)", schedule, field);
        const char **table = field == 3? s_month_names: field == 4? s_day_names: NULL;
        if (s_field (at, len, lows [field], highs [field], table, field == 3? 1: 0, names [field],
                     &bits [field], &stars [field], fault))
            return -1;
        at += len;
    }
    while (isspace ((unsigned char) *at))
        at++;
    if (*at)
        return zeb_fault_set (fault, ZEB_EINVALID, "schedule: '%s' has more than five fields", schedule);
    if (bits [4] & (1u << 7))
        bits [4] = (bits [4] | 1) & 0x7f;   //  7 is Sunday
    self->minutes = bits [0];
    self->hours = (uint32_t) bits [1];
    self->days = (uint32_t) bits [2];
    self->months = (uint32_t) bits [3];
    self->weekdays = (uint32_t) bits [4];
    self->days_star = stars [2];
    self->weekdays_star = stars [4];
    return 0;
}

//  ---------------------------------------------------------------------
//  The zone

static uint32_t
s_be32 (const uint8_t *at)
{
    return (uint32_t) at [0] << 24 | (uint32_t) at [1] << 16 | (uint32_t) at [2] << 8 | at [3];
}

static int64_t
s_be64 (const uint8_t *at)
{
    return (int64_t) ((uint64_t) s_be32 (at) << 32 | s_be32 (at + 4));
}

//  Read the TZif file's 64-bit data; 0 or -1
static int
s_zone_parse (zeb_cron_t *self, const uint8_t *data, size_t size)
{
    if (size < 44 || memcmp (data, "TZif", 4) || data [4] < '2')
        return -1;
    //  Skip the version 1 block
    uint32_t c [6];
    for (int index = 0; index < 6; index++)
        c [index] = s_be32 (data + 20 + 4 * index);
    //  isutcnt isstdcnt leapcnt timecnt typecnt charcnt
    size_t skip = 44 + (size_t) c [3] * 5 + (size_t) c [4] * 6 + c [5] + (size_t) c [2] * 8 + c [1] + c [0];
    if (skip + 44 > size || memcmp (data + skip, "TZif", 4))
        return -1;
    const uint8_t *header = data + skip;
    for (int index = 0; index < 6; index++)
        c [index] = s_be32 (header + 20 + 4 * index);
    size_t timecnt = c [3], typecnt = c [4];
    const uint8_t *times = header + 44, *indexes = times + timecnt * 8, *types = indexes + timecnt;
    if (typecnt == 0 || (size_t) (types + typecnt * 6 - data) > size)
        return -1;
    self->times = (int64_t *) calloc (timecnt + 1, sizeof (int64_t));
    self->offsets = (int32_t *) calloc (timecnt + 1, sizeof (int32_t));
    assert (self->times && self->offsets);
    for (size_t index = 0; index < timecnt; index++) {
        if (indexes [index] >= typecnt)
            return -1;
        self->times [index] = s_be64 (times + index * 8);
        self->offsets [index] = (int32_t) s_be32 (types + indexes [index] * 6);
    }
    self->count = timecnt;
    //  Before the first transition: the first standard-time type (RFC 8536 3.2)
    self->initial = (int32_t) s_be32 (types);
    for (size_t index = 0; index < typecnt; index++)
        if (types [index * 6 + 4] == 0) {
            self->initial = (int32_t) s_be32 (types + index * 6);
            break;
        }
    return 0;
}

static int
s_zone_load (zeb_cron_t *self, const char *zone, zeb_fault_t *fault)
{
    size_t len = strlen (zone);
    bool valid = len > 0 && len < 128 && zone [0] != '/' && !strstr (zone, "..");
    for (size_t index = 0; valid && index < len; index++)
        valid = isalnum ((unsigned char) zone [index]) || strchr ("/_+-", zone [index]);
    if (!valid)
        return zeb_fault_set (fault, ZEB_EINVALID, "zone: '%s' is not an IANA time zone name", zone);
    const char *dir = getenv ("TZDIR");
    char *path = zsys_sprintf ("%s/%s", dir && *dir? dir: "/usr/share/zoneinfo", zone);
    FILE *file = fopen (path, "rb");
    zstr_free (&path);
    uint8_t *data = NULL;
    size_t size = 0;
    if (file) {
        data = (uint8_t *) malloc (1 << 20);
        assert (data);
        size = fread (data, 1, 1 << 20, file);
        fclose (file);
    }
    int rc = data && size < (1 << 20)? s_zone_parse (self, data, size): -1;
    free (data);
    if (rc)
        return zeb_fault_set (fault, ZEB_EINVALID, "zone: no time zone '%s' in the zoneinfo files", zone);
    return 0;
}

int32_t
zeb_cron_offset (zeb_cron_t *self, int64_t time_ms)
{
    assert (self);
    int64_t seconds = s_floor_div (time_ms, 1000);
    if (self->count == 0 || seconds < self->times [0])
        return self->initial;
    size_t low = 0, high = self->count;         //  the last transition <= seconds
    while (high - low > 1) {
        size_t middle = (low + high) / 2;
        if (self->times [middle] <= seconds)
            low = middle;
        else
            high = middle;
    }
    return self->offsets [low];
}

//  The UTC second of a local second: the first occurrence of a repeated
//  one; for one skipped, the transition that skipped it
static int64_t
s_to_utc (zeb_cron_t *self, int64_t local)
{
    int32_t early = zeb_cron_offset (self, (local - 86400) * 1000);
    int32_t late = zeb_cron_offset (self, (local + 86400) * 1000);
    int64_t best = INT64_MAX;
    if (zeb_cron_offset (self, (local - early) * 1000) == early)
        best = local - early;
    if (late != early && zeb_cron_offset (self, (local - late) * 1000) == late && local - late < best)
        best = local - late;
    if (best != INT64_MAX)
        return best;
    //  In a gap: the transition between local - late and local - early
    for (size_t index = 0; index < self->count; index++)
        if (self->times [index] > local - late && self->times [index] <= local - early)
            return self->times [index];
    return local - early;
}

//  ---------------------------------------------------------------------

zeb_cron_t *
zeb_cron_new (const char *schedule, const char *zone, zeb_fault_t *fault)
{
    assert (fault);
    if (!schedule) {
        zeb_fault_set (fault, ZEB_EINVALID, "schedule: none given");
        return NULL;
    }
    zeb_cron_t *self = (zeb_cron_t *) zmalloc (sizeof (zeb_cron_t));
    assert (self);
    if (s_parse (self, schedule, fault)
    ||  (zone && *zone && !streq (zone, "UTC") && s_zone_load (self, zone, fault)))
        zeb_cron_destroy (&self);
    return self;
}

void
zeb_cron_destroy (zeb_cron_t **self_p)
{
    assert (self_p);
    zeb_cron_t *self = *self_p;
    if (self) {
        free (self->times);
        free (self->offsets);
        free (self);
        *self_p = NULL;
    }
}

static bool
s_day_matches (zeb_cron_t *self, int64_t days, unsigned month, unsigned day)
{
    if (!(self->months & (1u << month)))
        return false;
    unsigned weekday = (unsigned) ((days % 7 + 11) % 7);    //  1970-01-01 was a Thursday
    bool by_day = (self->days >> day) & 1, by_weekday = (self->weekdays >> weekday) & 1;
    if (self->days_star || self->weekdays_star)
        return by_day && by_weekday;
    return by_day || by_weekday;
}

int64_t
zeb_cron_next (zeb_cron_t *self, int64_t after_ms)
{
    assert (self);
    int64_t after = s_floor_div (after_ms, 1000);       //  a firing must be > after
    int64_t start = s_floor_div (after, 60) * 60 + 60;   //  the next whole minute, UTC
    int64_t local = start + zeb_cron_offset (self, start * 1000);
    int64_t first_day = s_floor_div (local, 86400);
    int first_minute = (int) ((local - first_day * 86400) / 60);
    for (int64_t days = first_day; days < first_day + S_MAX_DAYS; days++) {
        int64_t year;
        unsigned month, day;
        s_civil_from_days (days, &year, &month, &day);
        if (!s_day_matches (self, days, month, day))
            continue;
        for (int hour = 0; hour < 24; hour++) {
            if (!((self->hours >> hour) & 1))
                continue;
            for (int minute = 0; minute < 60; minute++) {
                if (!((self->minutes >> minute) & 1))
                    continue;
                //  Earlier local minutes of the first day may still lie
                //  ahead in UTC (the hour repeated): only first occurrences count
                int of_day = hour * 60 + minute;
                int64_t utc = s_to_utc (self, days * 86400 + of_day * 60);
                if (days == first_day && of_day < first_minute - 120)
                    continue;
                if (utc > after)
                    return utc * 1000;
            }
        }
    }
    return 0;
}

//  ---------------------------------------------------------------------
//  Self test

static int64_t
s_test_time (const char *text)
{
    int64_t time_ms;
    int rc = zeb_time_parse (text, strlen (text), &time_ms);
    assert (rc == 0);
    return time_ms;
}

//  next (schedule in zone after a time) is expected (RFC 3339 texts)
static void
s_test_next (const char *schedule, const char *zone, const char *after, const char *expected)
{
    zeb_fault_t fault;
    zeb_cron_t *cron = zeb_cron_new (schedule, zone, &fault);
    if (!cron)
        fprintf (stderr, "%s: %s\n", schedule, fault.text);
    assert (cron);
    int64_t next = zeb_cron_next (cron, s_test_time (after));
    int64_t want = expected? s_test_time (expected): 0;
    if (next != want) {
        char got [ZEB_TIME_STRLEN] = "none";
        if (next)
            zeb_time_format (next, got);
        fprintf (stderr, "'%s' in %s after %s: %s, expected %s\n", schedule, zone? zone: "UTC", after, got,
                 expected? expected: "none");
        assert (false);
    }
    zeb_cron_destroy (&cron);
}

void
zeb_cron_test (bool verbose)
{
    printf (" * zeb_cron: ");
    assert (s_days_from_civil (1970, 1, 1) == 0);
    assert (s_days_from_civil (2000, 3, 1) == 11017);
    int64_t year;
    unsigned month, day;
    s_civil_from_days (19723, &year, &month, &day);
    assert (year == 2024 && month == 1 && day == 1);

    //  Fields, lists, ranges, steps, names, macros (UTC)
    s_test_next ("* * * * *", NULL, "2026-03-01T10:00:00Z", "2026-03-01T10:01:00Z");
    s_test_next ("* * * * *", NULL, "2026-03-01T10:00:30.5Z", "2026-03-01T10:01:00Z");
    s_test_next ("*/15 * * * *", NULL, "2026-03-01T10:07:00Z", "2026-03-01T10:15:00Z");
    s_test_next ("5,35 9-17/4 * * *", NULL, "2026-03-01T13:36:00Z", "2026-03-01T17:05:00Z");
    s_test_next ("0 0 1 JAN *", NULL, "2026-03-01T00:00:00Z", "2027-01-01T00:00:00Z");
    s_test_next ("30 8 * * MON-FRI", NULL, "2026-12-04T09:00:00Z", "2026-12-07T08:30:00Z");  //  Fri -> Mon
    s_test_next ("0 12 * * 7", NULL, "2026-12-03T00:00:00Z", "2026-12-06T12:00:00Z");        //  7 is Sunday
    s_test_next ("0 12 * * sun", NULL, "2026-12-03T00:00:00Z", "2026-12-06T12:00:00Z");
    s_test_next ("0 0 29 2 *", NULL, "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z");        //  leap day
    s_test_next ("0 0 30 2 *", NULL, "2026-03-01T00:00:00Z", NULL);                          //  never
    //  Both day fields restricted: either one (Vixie cron)
    s_test_next ("0 0 13 * FRI", NULL, "2026-11-01T00:00:00Z", "2026-11-06T00:00:00Z");
    s_test_next ("0 0 13 * FRI", NULL, "2026-11-07T00:00:00Z", "2026-11-13T00:00:00Z");
    s_test_next ("@hourly", NULL, "2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z");
    s_test_next ("@daily", NULL, "2026-03-01T10:00:00Z", "2026-03-02T00:00:00Z");
    s_test_next ("@weekly", NULL, "2026-12-03T10:00:00Z", "2026-12-06T00:00:00Z");
    s_test_next ("@monthly", NULL, "2026-12-03T10:00:00Z", "2027-01-01T00:00:00Z");
    s_test_next ("@yearly", NULL, "2026-12-03T10:00:00Z", "2027-01-01T00:00:00Z");

    //  A zone: 09:00 Berlin is 08:00 UTC in winter, 07:00 in summer
    s_test_next ("0 9 * * *", "Europe/Berlin", "2026-01-10T12:00:00Z", "2026-01-11T08:00:00Z");
    s_test_next ("0 9 * * *", "Europe/Berlin", "2026-07-10T12:00:00Z", "2026-07-11T07:00:00Z");
    //  Spring forward (2026-03-29, 02:00 -> 03:00 CEST): 02:30 does not
    //  exist, it fires once at the transition, 01:00 UTC; the next day as usual
    s_test_next ("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z");
    s_test_next ("30 2 * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z");
    //  Both 02:30 and 03:00 land on the transition: one firing
    s_test_next ("0,30 2,3 * * *", "Europe/Berlin", "2026-03-29T00:59:00Z", "2026-03-29T01:00:00Z");
    s_test_next ("0,30 2,3 * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z");
    //  Fall back (2026-10-25, 03:00 CEST -> 02:00 CET): 02:30 exists twice,
    //  it fires once, at the first (00:30 UTC), not again at 01:30 UTC
    s_test_next ("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z");
    s_test_next ("30 2 * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z");
    //  Every 30 minutes across the repeated hour: each local time once, so
    //  the repeated 02:00 and 02:30 (01:00, 01:30 UTC) do not fire again
    s_test_next ("*/30 * * * *", "Europe/Berlin", "2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z");
    s_test_next ("*/30 * * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z");
    s_test_next ("*/30 * * * *", "Europe/Berlin", "2026-10-25T01:10:00Z", "2026-10-25T02:00:00Z");
    //  America/New_York, and a zone without DST
    s_test_next ("0 9 * * *", "America/New_York", "2026-07-01T00:00:00Z", "2026-07-01T13:00:00Z");
    s_test_next ("0 9 * * *", "Asia/Tokyo", "2026-07-01T00:00:00Z", "2026-07-02T00:00:00Z");

    //  Refusals name the field
    const char *bad [][2] = {
        { "* * * *", "five" }, { "* * * * * *", "more than five" }, { "60 * * * *", "minute" },
        { "* 24 * * *", "hour" }, { "* * 0 * *", "day-of-month" }, { "* * * 13 *", "month" },
        { "* * * * 8", "day-of-week" }, { "*/0 * * * *", "minute" }, { "5-1 * * * *", "minute" },
        { "* * * FOO *", "month" }, { "@often", "unknown" }, { "a * * * *", "minute" },
        { "1,,2 * * * *", "minute" }, { "", "fields" } };
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad [0]); index++) {
        zeb_fault_t fault = { 0 };
        zeb_cron_t *cron = zeb_cron_new (bad [index][0], NULL, &fault);
        if (cron || fault.code != ZEB_EINVALID || !strstr (fault.text, bad [index][1]))
            fprintf (stderr, "'%s': %s\n", bad [index][0], fault.text);
        assert (!cron && fault.code == ZEB_EINVALID && strstr (fault.text, bad [index][1]));
    }
    const char *zones [] = { "Nowhere/City", "../etc/passwd", "/etc/localtime", "Europe/Berlin\n" };
    for (size_t index = 0; index < sizeof (zones) / sizeof (zones [0]); index++) {
        zeb_fault_t fault = { 0 };
        assert (!zeb_cron_new ("* * * * *", zones [index], &fault) && strstr (fault.text, "zone"));
    }
    if (verbose)
        printf ("(verbose) ");
    printf ("OK\n");
}
