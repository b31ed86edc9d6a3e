/* time.c -- RFC 3339 date-times (the CloudEvents `time` attribute) to and from kec_time.
 *
 * No library among our dependencies reads RFC 3339 strictly (strptime accepts single digits,
 * blanks and "+05" offsets), so this is a fixed-width scanner of the grammar of RFC 3339
 * section 5.6: full-date "T" time-hour ":" time-minute ":" time-second [frac] (Z / +hh:mm). */
#include "kedroevents.h"

#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define MIN_SECONDS (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define MAX_SECONDS 253402300799LL   /* 9999-12-31T23:59:59Z */

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : days[m - 1];
}

/* Reads exactly n digits at s into *v; 0 when any is not a digit. */
static int digits(const char *s, int n, int *v)
{
    int i;

    *v = 0;
    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
        *v = *v * 10 + (s[i] - '0');
    }
    return 1;
}

int kec_time_parse(const char *text, kec_time *out, kec_error *err)
{
    int year, mon, day, hour, min, sec, oh = 0, om = 0, sign = 0;
    int32_t nanos = 0;
    int64_t secs;
    const char *p;

    if (text == NULL)
        return kec_error_set(err, KEC_EINVAL, "no time given");
    if (!digits(text, 4, &year) || text[4] != '-' || !digits(text + 5, 2, &mon) || text[7] != '-' ||
        !digits(text + 8, 2, &day) || (text[10] != 'T' && text[10] != 't') ||
        !digits(text + 11, 2, &hour) || text[13] != ':' || !digits(text + 14, 2, &min) ||
        text[16] != ':' || !digits(text + 17, 2, &sec))
        return kec_error_set(err, KEC_EINVAL,
                             "time \"%.40s\" is not an RFC 3339 date-time "
                             "(YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm|-hh:mm))",
                             text);
    p = text + 19;
    if (*p == '.') {
        int n = 0;

        for (p++; isdigit((unsigned char)*p); p++, n++)
            if (n < 9)
                nanos = nanos * 10 + (*p - '0');
        if (n == 0)
            return kec_error_set(err, KEC_EINVAL, "time \"%.40s\" has no digits after '.'", text);
        for (; n < 9; n++)
            nanos *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '+' ? 1 : -1;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
            return kec_error_set(err, KEC_EINVAL,
                                 "time \"%.40s\" has an offset that is not +hh:mm or -hh:mm", text);
        p += 6;
    } else {
        return kec_error_set(err, KEC_EINVAL,
                             "time \"%.40s\" lacks its offset (Z, +hh:mm or -hh:mm)", text);
    }
    if (*p != '\0')
        return kec_error_set(err, KEC_EINVAL, "time \"%.40s\" has text after its offset", text);
    if (year < 1 || mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) || hour > 23 ||
        min > 59 || sec > 59 || oh > 23 || om > 59)
        return kec_error_set(err, KEC_EINVAL, "time \"%.40s\" is out of range", text);
    secs = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec;
    secs -= (int64_t)sign * (oh * 3600 + om * 60);
    if (secs < MIN_SECONDS || secs > MAX_SECONDS)
        return kec_error_set(err, KEC_EINVAL,
                             "time \"%.40s\" is outside 0001-01-01 to 9999-12-31 UTC", text);
    out->seconds = secs;
    out->nanos = nanos;
    out->set = 1;
    return KEC_OK;
}

char *kec_time_format(kec_time t, char *buf)
{
    int64_t days = t.seconds / 86400, rem = t.seconds % 86400, y;
    int m, d, n;

    if (rem < 0) {
        rem += 86400;
        days--;
    }
    civil_from_days(days, &y, &m, &d);
    n = snprintf(buf, KEC_TIME_TEXT_MAX, "%04lld-%02d-%02dT%02d:%02d:%02d", (long long)y, m, d,
                 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
    if (t.nanos > 0 && t.nanos < 1000000000) {
        if (t.nanos % 1000000 == 0)
            n += snprintf(buf + n, KEC_TIME_TEXT_MAX - n, ".%03d", (int)(t.nanos / 1000000));
        else if (t.nanos % 1000 == 0)
            n += snprintf(buf + n, KEC_TIME_TEXT_MAX - n, ".%06d", (int)(t.nanos / 1000));
        else
            n += snprintf(buf + n, KEC_TIME_TEXT_MAX - n, ".%09d", (int)t.nanos);
    }
    snprintf(buf + n, KEC_TIME_TEXT_MAX - n, "Z");
    return buf;
}
