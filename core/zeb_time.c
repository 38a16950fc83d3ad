/*  =========================================================================
    zeb_time - wall-clock time in milliseconds and RFC 3339 text
    =========================================================================
*/

#include "zeb_classes.h"

int64_t
zeb_time_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
zeb_time_mono_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

//  Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's
//  days_from_civil), valid for every year zeb accepts.
static int64_t
s_days_from_civil (int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0? y: y - 399) / 400;
    const unsigned yoe = (unsigned) (y - era * 400);
    const unsigned doy = (153 * (m + (m > 2? -3: 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t) doe - 719468;
}

static void
s_civil_from_days (int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0? z: z - 146096) / 146097;
    const unsigned doe = (unsigned) (z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10? mp + 3: mp - 9;
    *y = (int64_t) yoe + era * 400 + (*m <= 2);
}

char *
zeb_time_format (int64_t time_ms, char *buffer)
{
    int64_t days = time_ms / 86400000;
    int64_t rest = time_ms % 86400000;
    if (rest < 0) {
        rest += 86400000;
        days -= 1;
    }
    int64_t year;
    unsigned month, day;
    s_civil_from_days (days, &year, &month, &day);
    int hours = (int) (rest / 3600000);
    int minutes = (int) (rest / 60000 % 60);
    int seconds = (int) (rest / 1000 % 60);
    int millis = (int) (rest % 1000);
    snprintf (buffer, ZEB_TIME_STRLEN, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ",
              (long long) year, month, day, hours, minutes, seconds, millis);
    return buffer;
}

//  Reads exactly n digits
static int
s_digits (const char **p, const char *end, int n, int *value)
{
    *value = 0;
    for (int index = 0; index < n; index++) {
        if (*p >= end || !isdigit ((unsigned char) **p))
            return -1;
        *value = *value * 10 + (**p - '0');
        (*p)++;
    }
    return 0;
}

static int
s_expect (const char **p, const char *end, const char *any_of)
{
    if (*p >= end || !strchr (any_of, **p) || **p == 0)
        return -1;
    (*p)++;
    return 0;
}

int
zeb_time_parse (const char *text, size_t len, int64_t *time_ms)
{
    const char *p = text;
    const char *end = text + len;
    int year, month, day, hour, minute, second;
    if (s_digits (&p, end, 4, &year) || s_expect (&p, end, "-")
    ||  s_digits (&p, end, 2, &month) || s_expect (&p, end, "-")
    ||  s_digits (&p, end, 2, &day) || s_expect (&p, end, "Tt ")
    ||  s_digits (&p, end, 2, &hour) || s_expect (&p, end, ":")
    ||  s_digits (&p, end, 2, &minute) || s_expect (&p, end, ":")
    ||  s_digits (&p, end, 2, &second))
        return -1;
    static const int mdays [] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (month < 1 || month > 12 || day < 1 || day > mdays [month - 1]
    ||  (month == 2 && day == 29 && !leap)
    ||  hour > 23 || minute > 59 || second > 60)
        return -1;
    int millis = 0;
    if (p < end && *p == '.') {
        p++;
        int digits = 0;
        while (p < end && isdigit ((unsigned char) *p)) {
            if (digits < 3)
                millis = millis * 10 + (*p - '0');
            digits++;
            p++;
        }
        if (digits == 0)
            return -1;
        for (; digits < 3; digits++)
            millis *= 10;
    }
    int offset_minutes = 0;
    if (p < end && (*p == 'Z' || *p == 'z'))
        p++;
    else
    if (p < end && (*p == '+' || *p == '-')) {
        int sign = *p == '-'? -1: 1;
        p++;
        int oh, om;
        if (s_digits (&p, end, 2, &oh) || s_expect (&p, end, ":")
        ||  s_digits (&p, end, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset_minutes = sign * (oh * 60 + om);
    }
    else
        return -1;
    if (p != end)
        return -1;
    if (second == 60)
        second = 59;                //  leap second: keep the same minute
    int64_t days = s_days_from_civil (year, (unsigned) month, (unsigned) day);
    int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second
                    - (int64_t) offset_minutes * 60;
    *time_ms = seconds * 1000 + millis;
    return 0;
}

void
zeb_time_test (bool verbose)
{
    printf (" * zeb_time: ");
    char buffer [ZEB_TIME_STRLEN];
    assert (streq (zeb_time_format (0, buffer), "1970-01-01T00:00:00.000Z"));
    assert (streq (zeb_time_format (1795333016123LL, buffer), "2026-11-22T07:36:56.123Z"));
    assert (streq (zeb_time_format (-1, buffer), "1969-12-31T23:59:59.999Z"));
    assert (streq (zeb_time_format (951782400000LL, buffer), "2000-02-29T00:00:00.000Z"));

    int64_t ms;
    const char *text = "2026-11-22T07:36:56.123Z";
    assert (zeb_time_parse (text, strlen (text), &ms) == 0 && ms == 1795333016123LL);
    text = "2026-11-22T08:36:56.123456+01:00";
    assert (zeb_time_parse (text, strlen (text), &ms) == 0 && ms == 1795333016123LL);
    text = "2026-11-22 07:36:56z";
    assert (zeb_time_parse (text, strlen (text), &ms) == 0 && ms == 1795333016000LL);
    text = "2026-11-22T02:06:56.1-05:30";
    assert (zeb_time_parse (text, strlen (text), &ms) == 0 && ms == 1795333016100LL);
    //  Round trip over a spread of instants
    for (int64_t t = -86400000LL * 365 * 80; t < 86400000LL * 365 * 200; t += 86400000LL * 37 + 12345) {
        zeb_time_format (t, buffer);
        assert (zeb_time_parse (buffer, strlen (buffer), &ms) == 0 && ms == t);
    }
    //  Invalid texts
    const char *bad [] = { "", "2026-11-22", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
                           "2026-11-22T24:00:00Z", "2026-11-22T07:36:56", "2026-11-22T07:36:56.Z",
                           "2026-11-22T07:36:56Zjunk", "2026-11-22T07:36:56+0100", "yesterday" };
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad [0]); index++)
        assert (zeb_time_parse (bad [index], strlen (bad [index]), &ms) == -1);
    assert (zeb_time_now () > 1700000000000LL);
    int64_t before = zeb_time_mono_us ();
    assert (zeb_time_mono_us () >= before);
    printf ("OK\n");
}
