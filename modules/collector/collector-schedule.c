/* SPDX-License-Identifier: GPL-3.0-or-later */

/* When a collector is due: every N minutes, at set times of day, and when
 * the administrator asks (`postroomctl collector run`). Pure arithmetic on
 * unix times; collector-main.c reads the clock. */

#include "postroom-config.h"

#include <string.h>

#include "collector.h"

gboolean
collector_times_parse(const char *text, GArray *minutes)
{
    g_auto(GStrv) items = g_strsplit(text != NULL ? text : "", ";", -1);

    for (guint i = 0; items[i] != NULL; i++) {
        const char *t = g_strstrip(items[i]);
        if (*t == '\0')
            continue;
        /* H:MM or HH:MM */
        gsize len = strlen(t);
        if ((len != 4 && len != 5) || t[len - 3] != ':' || !g_ascii_isdigit(t[0]) ||
            !g_ascii_isdigit(t[len - 2]) || !g_ascii_isdigit(t[len - 1]) ||
            (len == 5 && !g_ascii_isdigit(t[1])))
            return FALSE;
        guint hour = (guint)g_ascii_strtoull(t, NULL, 10);
        guint minute = (guint)((t[len - 2] - '0') * 10 + (t[len - 1] - '0'));
        if (hour > 23 || minute > 59)
            return FALSE;
        guint value = hour * 60 + minute;
        g_array_append_val(minutes, value);
    }
    return TRUE;
}

/* The latest moment at or before @now that is @minute_of_day local time. */
static gint64
latest_occurrence(gint64 now, guint minute_of_day, GTimeZone *tz)
{
    g_autoptr(GDateTime) local = g_date_time_new_from_unix_local(now);
    g_autoptr(GDateTime) in_tz = tz != NULL ? g_date_time_to_timezone(local, tz) : NULL;
    GDateTime *base = in_tz != NULL ? in_tz : local;
    g_autoptr(GDateTime) today =
        g_date_time_new(g_date_time_get_timezone(base), g_date_time_get_year(base),
                        g_date_time_get_month(base), g_date_time_get_day_of_month(base),
                        (int)(minute_of_day / 60), (int)(minute_of_day % 60), 0);
    if (today == NULL)
        return 0;
    gint64 t = g_date_time_to_unix(today);
    if (t <= now)
        return t;
    g_autoptr(GDateTime) yesterday = g_date_time_add_days(today, -1);
    return yesterday != NULL ? g_date_time_to_unix(yesterday) : 0;
}

gboolean
collector_schedule_due(gint64 now, gint64 since, gint64 last_run, gint64 run_requested,
                       guint interval, const GArray *times, GTimeZone *tz)
{
    if (run_requested > 0)
        return TRUE;
    if (interval > 0 && (last_run <= 0 || now - last_run >= (gint64)interval * 60))
        return TRUE;
    gint64 after = MAX(last_run, since);
    for (guint i = 0; times != NULL && i < times->len; i++) {
        gint64 t = latest_occurrence(now, g_array_index(times, guint, i), tz);
        if (t > after)
            return TRUE;
    }
    return FALSE;
}
