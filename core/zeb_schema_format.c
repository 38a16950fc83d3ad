/*  =========================================================================
    zeb_schema_format - formats zeb can assert, and multipleOf's decimals

    In draft 2020-12 "format" is an annotation unless the schema is
    compiled with format assertion on (zeb_schema_options_t); then these
    are checked: date-time (RFC 3339), date, time, email (a dot-atom
    mailbox on a host name), hostname, ipv4, ipv6, uri (a scheme, then URI
    characters and %-escapes), uuid. Any other format name is an
    annotation either way.
    =========================================================================
*/

#include "zeb_classes.h"
#include "zeb_schema_private.h"
#include <arpa/inet.h>
#include <math.h>

//  ASCII classes, without the locale
static bool
s_is_hex (char c)
{
    return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'f');
}

static bool
s_is_alnum (char c)
{
    return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z');
}

static bool
s_uuid (const char *text, uint32_t len)
{
    if (len != 36)
        return false;
    for (uint32_t index = 0; index < len; index++) {
        bool dash = index == 8 || index == 13 || index == 18 || index == 23;
        if (dash? text [index] != '-': !s_is_hex (text [index]))
            return false;
    }
    return true;
}

//  Labels of letters, digits and inner hyphens, 1-63 each, 253 in all
static bool
s_hostname (const char *text, uint32_t len)
{
    if (len < 1 || len > 253)
        return false;
    const char *label = text, *end = text + len;
    for (const char *p = text; p <= end; p++) {
        if (p == end || *p == '.') {
            size_t label_len = (size_t) (p - label);
            if (label_len == 0 || label_len > 63 || *label == '-' || p [-1] == '-')
                return false;
            label = p + 1;
        }
        else
        if (!s_is_alnum (*p) && *p != '-')
            return false;
    }
    return true;
}

//  RFC 5321 mailbox, simply: dot-atom local part, host name domain
static bool
s_email (const char *text, uint32_t len)
{
    const char *at = (const char *) memchr (text, '@', len);
    if (!at || at == text || at - text > 64 || memchr (at + 1, '@', len - (uint32_t) (at - text) - 1))
        return false;
    static const char *atext = "!#$%&'*+-/=?^_`{|}~";
    for (const char *p = text; p < at; p++) {
        bool dot = *p == '.';
        if (dot && (p == text || p + 1 == at || p [1] == '.'))
            return false;
        if (!dot && !s_is_alnum (*p) && !strchr (atext, *p))
            return false;
    }
    return s_hostname (at + 1, len - (uint32_t) (at + 1 - text));
}

//  RFC 3986 URI: a scheme, ':', then URI characters and %-escapes
static bool
s_uri (const char *text, uint32_t len)
{
    if (len == 0 || !isalpha ((unsigned char) text [0]))
        return false;
    uint32_t index = 1;
    while (index < len && (s_is_alnum (text [index])
           || text [index] == '+' || text [index] == '-' || text [index] == '.'))
        index++;
    if (index == len || text [index] != ':')
        return false;
    static const char *allowed = "-._~:/?#[]@!$&'()*+,;=";
    for (index++; index < len; index++) {
        char c = text [index];
        if (c == '%') {
            if (index + 2 >= len || !s_is_hex (text [index + 1]) || !s_is_hex (text [index + 2]))
                return false;
            index += 2;
        }
        else
        if (!s_is_alnum (c) && !strchr (allowed, c))
            return false;
    }
    return true;
}

static bool
s_date_time (const char *text, uint32_t len)
{
    int64_t time_ms;
    return zeb_time_parse (text, len, &time_ms) == 0;
}

//  A full-date or full-time, checked as part of a date-time
static bool
s_date (const char *text, uint32_t len)
{
    char buffer [64];
    if (len != 10)
        return false;
    snprintf (buffer, sizeof (buffer), "%.*sT00:00:00Z", (int) len, text);
    return s_date_time (buffer, (uint32_t) strlen (buffer));
}

static bool
s_time (const char *text, uint32_t len)
{
    char buffer [96];
    if (len < 9 || len > 40)
        return false;
    snprintf (buffer, sizeof (buffer), "2000-01-01T%.*s", (int) len, text);
    return s_date_time (buffer, (uint32_t) strlen (buffer));
}

static bool
s_address (int family, const char *text, uint32_t len)
{
    char buffer [64];
    unsigned char address [16];
    if (len >= sizeof (buffer) || memchr (text, 0, len))
        return false;
    memcpy (buffer, text, len);
    buffer [len] = 0;
    return inet_pton (family, buffer, address) == 1;
}

static bool
s_ipv4 (const char *text, uint32_t len)
{
    return s_address (AF_INET, text, len);
}

static bool
s_ipv6 (const char *text, uint32_t len)
{
    return s_address (AF_INET6, text, len);
}

static const struct {
    const char *name;
    bool (*check) (const char *text, uint32_t len);
} s_formats [] = {
    { NULL, NULL },                 //  0: not asserted
    { "date-time", s_date_time }, { "date", s_date }, { "time", s_time },
    { "email", s_email }, { "hostname", s_hostname }, { "ipv4", s_ipv4 }, { "ipv6", s_ipv6 },
    { "uri", s_uri }, { "uuid", s_uuid }
};
#define S_FORMATS (sizeof (s_formats) / sizeof (s_formats [0]))

int
zeb_schema_format_lookup (const char *name)
{
    for (size_t index = 1; index < S_FORMATS; index++)
        if (streq (name, s_formats [index].name))
            return (int) index;
    return 0;
}

const char *
zeb_schema_format_names (void)
{
    return "date-time, date, time, email, hostname, ipv4, ipv6, uri, uuid";
}

const char *
zeb_schema_format_name (int format)
{
    return format > 0 && (size_t) format < S_FORMATS? s_formats [format].name: "";
}

bool
zeb_schema_format_check (int format, const char *text, uint32_t len)
{
    return format <= 0 || (size_t) format >= S_FORMATS || s_formats [format].check (text, len);
}

//  ---------------------------------------------------------------------
//  Decimals

void
zeb_schema_decimal (double value, zeb_schema_decimal_t *decimal)
{
    char text [40];
    value = fabs (value);
    if (value == 0 || !isfinite (value)) {
        *decimal = (zeb_schema_decimal_t) { 0, 0 };
        return;
    }
    //  The shortest of "%.*e" that reads back as value: "1.5e+00"
    for (int digits = 0; digits < 17; digits++) {
        snprintf (text, sizeof (text), "%.*e", digits, value);
        if (strtod (text, NULL) == value)
            break;
    }
    char *exponent = strchr (text, 'e');
    uint64_t mantissa = 0;
    int fraction = 0;
    bool point = false;
    for (char *p = text; p < exponent; p++) {
        if (*p == '.')
            point = true;
        else {
            mantissa = mantissa * 10 + (uint64_t) (*p - '0');
            fraction += point;
        }
    }
    int power = atoi (exponent + 1) - fraction;
    while (mantissa && mantissa % 10 == 0) {
        mantissa /= 10;
        power++;
    }
    *decimal = (zeb_schema_decimal_t) { mantissa, power };
}

//  10^power mod modulus, by squaring
static uint64_t
s_power_mod (uint64_t power, uint64_t modulus)
{
    unsigned __int128 result = 1 % modulus, base = 10 % modulus;
    while (power) {
        if (power & 1)
            result = result * base % modulus;
        base = base * base % modulus;
        power >>= 1;
    }
    return (uint64_t) result;
}

bool
zeb_schema_decimal_multiple (zeb_schema_decimal_t value, zeb_schema_decimal_t divisor)
{
    assert (divisor.mantissa > 0);
    if (value.mantissa == 0)
        return true;
    //  value / divisor = (m1 / m2) x 10^(e1 - e2)
    if (value.exponent >= divisor.exponent) {
        uint64_t shift = (uint64_t) ((int64_t) value.exponent - divisor.exponent);
        unsigned __int128 product = (unsigned __int128) (value.mantissa % divisor.mantissa)
                                  * s_power_mod (shift, divisor.mantissa);
        return product % divisor.mantissa == 0;
    }
    //  m1 must hold 10^(e2 - e1) x m2: m1 has at most 20 digits
    int64_t shift = (int64_t) divisor.exponent - value.exponent;
    uint64_t mantissa = value.mantissa;
    for (int64_t step = 0; step < shift; step++) {
        if (mantissa % 10)
            return false;
        mantissa /= 10;
    }
    return mantissa % divisor.mantissa == 0;
}

//  Whether |value| is a multiple of 10^-places x step by the quick way: N
//  = round (value x 10^places), and if N / 10^places reads back as value
//  (IEEE division rounds correctly, as strtod does) then value is the
//  decimal N x 10^-places and a multiple if step divides N; if no N near
//  it does, value has more decimal places than that and is none. Returns
//  -1 where it cannot tell (too large for an exact N).
static int
s_quick_multiple (double value, uint64_t step, int places)
{
    static const double powers [] = {
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
    };
    if (places < 0 || places > 22)
        return -1;
    double scaled = value * powers [places];
    if (!(scaled < 9007199254740992.0))
        return -1;
    int64_t nearest = llround (scaled);
    for (int64_t candidate = nearest - 1; candidate <= nearest + 1; candidate++)
        if (candidate >= 0 && (double) candidate / powers [places] == value)
            return (uint64_t) candidate % step == 0;
    return 0;
}

bool
zeb_schema_double_multiple (double value, zeb_schema_decimal_t divisor)
{
    assert (divisor.mantissa > 0);
    value = fabs (value);
    if (!isfinite (value))
        return false;
    //  An integer divisor and a value with a fraction: none (a double
    //  with a fraction is below 2^53, and its decimal has one too)
    if (divisor.exponent >= 0 && value < 9007199254740992.0 && value != floor (value))
        return false;
    int quick = s_quick_multiple (value, divisor.mantissa, -divisor.exponent);
    if (quick >= 0)
        return quick == 1;
    zeb_schema_decimal_t decimal;
    zeb_schema_decimal (value, &decimal);
    return zeb_schema_decimal_multiple (decimal, divisor);
}

//  A number as an exact integer, if it is one (3.0 included) within range
static bool
s_integral (zeb_mpk_number_t number, __int128 *integer)
{
    if (number.kind == ZEB_MPK_NUMBER_INT)
        *integer = number.i;
    else
    if (number.kind == ZEB_MPK_NUMBER_UINT)
        *integer = number.u;
    else
    if (isfinite (number.f) && number.f == floor (number.f) && fabs (number.f) < 9.2e18)
        *integer = (__int128) number.f;
    else
        return false;
    return true;
}

//  An integer (int or uint) as a decimal
static zeb_schema_decimal_t
s_decimal_of (zeb_mpk_number_t number)
{
    uint64_t magnitude = number.kind == ZEB_MPK_NUMBER_UINT? number.u
                       : number.i < 0? 0 - (uint64_t) number.i: (uint64_t) number.i;
    zeb_schema_decimal_t decimal = { magnitude, 0 };
    while (decimal.mantissa && decimal.mantissa % 10 == 0) {
        decimal.mantissa /= 10;
        decimal.exponent++;
    }
    return decimal;
}

bool
zeb_schema_number_multiple (zeb_mpk_number_t value, zeb_mpk_number_t divisor,
                            zeb_schema_decimal_t decimal)
{
    __int128 a, b;
    if (s_integral (value, &a) && s_integral (divisor, &b))
        return a % b == 0;
    if (value.kind == ZEB_MPK_NUMBER_FLOAT)
        return zeb_schema_double_multiple (value.f, decimal);
    return zeb_schema_decimal_multiple (s_decimal_of (value), decimal);
}
