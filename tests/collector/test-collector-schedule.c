/* SPDX-License-Identifier: GPL-3.0-or-later */

/* When a collector is due (modules/collector/collector-schedule.c): run
 * requests, intervals, set times (in UTC here, so that the test does not
 * depend on the machine's zone), and the HH:MM list parser. */

#include "postroom-config.h"

#include "collector.h"

/* 2024-06-01 12:00:00 UTC, a Saturday. */
#define NOON 1717243200

static GArray *
times(const char *text)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(guint));
    g_assert_true(collector_times_parse(text, a));
    return a;
}

static void
test_times_parse(void)
{
    g_autoptr(GArray) a = times("08:30; 9:05;;23:59");
    g_assert_cmpuint(a->len, ==, 3);
    g_assert_cmpuint(g_array_index(a, guint, 0), ==, 8 * 60 + 30);
    g_assert_cmpuint(g_array_index(a, guint, 1), ==, 9 * 60 + 5);
    g_assert_cmpuint(g_array_index(a, guint, 2), ==, 23 * 60 + 59);

    static const char *const bad[] = {
        "24:00", "12:60", "1230", "12:3", "ab:cd", "12:30x", "-1:30"
    };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GArray) b = g_array_new(FALSE, FALSE, sizeof(guint));
        g_test_message("%s", bad[i]);
        g_assert_false(collector_times_parse(bad[i], b));
    }
    g_autoptr(GArray) empty = times("");
    g_assert_cmpuint(empty->len, ==, 0);
}

static void
test_due(void)
{
    g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
    g_autoptr(GArray) none = times("");
    g_autoptr(GArray) at = times("11:30;18:00");

    /* Asked to run: always. */
    g_assert_true(collector_schedule_due(NOON, NOON, NOON, NOON - 1, 0, none, utc));
    /* Never run, with an interval: now. Only on demand: never. */
    g_assert_true(collector_schedule_due(NOON, NOON, 0, 0, 10, none, utc));
    g_assert_false(collector_schedule_due(NOON, NOON, 0, 0, 0, none, utc));
    /* The interval. */
    g_assert_false(collector_schedule_due(NOON, 0, NOON - 599, 0, 10, none, utc));
    g_assert_true(collector_schedule_due(NOON, 0, NOON - 600, 0, 10, none, utc));
    /* Set times: 11:30 passed since a run at 11:00, not since one at 11:45. */
    g_assert_true(collector_schedule_due(NOON, 0, NOON - 3600, 0, 0, at, utc));
    g_assert_false(collector_schedule_due(NOON, 0, NOON - 900, 0, 0, at, utc));
    /* A set time before the module started is not made up for. */
    g_assert_false(collector_schedule_due(NOON, NOON - 60, 0, 0, 0, at, utc));
    /* Yesterday's 18:00, not yet today's: due if the last run was before it. */
    g_autoptr(GArray) evening = times("18:00");
    g_assert_true(collector_schedule_due(NOON, 0, NOON - 20 * 3600, 0, 0, evening, utc));
    g_assert_false(collector_schedule_due(NOON, 0, NOON - 17 * 3600, 0, 0, evening, utc));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/collector-schedule/times-parse", test_times_parse);
    g_test_add_func("/collector-schedule/due", test_due);
    return g_test_run();
}
