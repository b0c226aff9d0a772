/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <postroom/pr-log.h>

#include "log.h"

static char *
read_file(const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return g_strdup("");
    return text;
}

static void
test_channels(void)
{
    g_autofree char *dir = g_dir_make_tmp("pr-log-XXXXXX", NULL);
    LogSettings settings = { .dir = dir, .max_size = 1024 * 1024, .level = G_LOG_LEVEL_INFO };

    g_test_summary("Info goes to main.log, warnings also to errors.log, the security "
                   "channel also to security.log; debug is filtered at level info");
    log_setup(&settings);
    g_info("plain info line");
    g_debug("hidden debug line");
    pr_log_security("TEST_EVENT", "someone knocked from %s", "192.0.2.7");
    g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "MESSAGE", "a warning line");

    g_autofree char *main_log = read_file(dir, "main.log");
    g_autofree char *errors = read_file(dir, "errors.log");
    g_autofree char *security = read_file(dir, "security.log");
    g_assert_nonnull(strstr(main_log, "plain info line"));
    g_assert_null(strstr(main_log, "hidden debug line"));
    g_assert_nonnull(strstr(main_log, "[TEST_EVENT] someone knocked from 192.0.2.7"));
    g_assert_nonnull(strstr(main_log, "a warning line"));
    g_assert_null(strstr(errors, "plain info line"));
    g_assert_nonnull(strstr(errors, "a warning line"));
    g_assert_nonnull(strstr(security, "someone knocked"));
    g_assert_null(strstr(security, "plain info line"));
    log_shutdown();
}

static void
test_security_whatever_the_level(void)
{
    g_autofree char *dir = g_dir_make_tmp("pr-log-XXXXXX", NULL);
    LogSettings settings = { .dir = dir, .max_size = 1024 * 1024, .level = G_LOG_LEVEL_CRITICAL };

    g_test_summary("At level error, security events still reach security.log (and nothing "
                   "else is written)");
    log_setup(&settings);
    g_message("ordinary message");
    pr_log_security("TEST_EVENT", "a lockout");
    log_shutdown();
    g_autofree char *main_log = read_file(dir, "main.log");
    g_autofree char *security = read_file(dir, "security.log");
    g_assert_cmpstr(main_log, ==, "");
    g_assert_nonnull(strstr(security, "[TEST_EVENT] a lockout"));
}

static void
test_rotation(void)
{
    g_autofree char *dir = g_dir_make_tmp("pr-log-XXXXXX", NULL);
    LogSettings settings = { .dir = dir, .max_size = 4096, .level = G_LOG_LEVEL_INFO };

    g_test_summary("A log file passing max_size is renamed to .lbk and started anew");
    log_setup(&settings);
    for (int i = 0; i < 200; i++)
        g_info("line number %d with some padding to fill the file quickly", i);
    log_shutdown();

    g_autofree char *backup = g_build_filename(dir, "main.lbk", NULL);
    g_autofree char *current = g_build_filename(dir, "main.log", NULL);
    GStatBuf st;
    g_assert_cmpint(g_stat(backup, &st), ==, 0);
    g_assert_cmpint(st.st_size, >=, 4096);
    g_assert_cmpint(st.st_size, <, 4096 + 200);
    g_assert_cmpint(g_stat(current, &st), ==, 0);
    g_assert_cmpint(st.st_size, <, 4096);

    g_autofree char *text = read_file(dir, "main.log");
    g_assert_nonnull(strstr(text, "line number 199 "));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
    g_test_add_func("/log/channels", test_channels);
    g_test_add_func("/log/security-whatever-the-level", test_security_whatever_the_level);
    g_test_add_func("/log/rotation", test_rotation);
    return g_test_run();
}
