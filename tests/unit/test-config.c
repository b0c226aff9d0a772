/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Configuration loading (main file plus conf.d) and validation against the
 * host's schema and module schemas, with the messages an admin reads. */
#include "config.h"

#include <glib/gstdio.h>

/* A module schema like a real module's: its own group, one key placed in
 * a group of its choice, one placed in a host group, and a service. */
static const char *const fx_colours[] = { "red", "green", "blue", NULL };
static const char *const fx_services[] = { "fxsvc", NULL };
static const PrSettingSpec fx_specs[] = {
    { NULL, "text", PR_SETTING_STRING, "hello", 0, 0, NULL, "string" },
    { NULL, "count", PR_SETTING_INT, "3", 1, 10, NULL, "int" },
    { NULL, "signed", PR_SETTING_INT, NULL, -5, 5, NULL, "int around 0" },
    { NULL, "flag", PR_SETTING_BOOL, "false", 0, 0, NULL, "bool" },
    { NULL, "colour", PR_SETTING_ENUM, "red", 0, 0, fx_colours, "enum" },
    { NULL, "names", PR_SETTING_STRING_LIST, "x; y ;;z", 0, 0, NULL, "list" },
    { NULL, "dir", PR_SETTING_PATH, NULL, 0, 0, NULL, "path" },
    { NULL, "limit", PR_SETTING_SIZE, "1M", 1024, 0, NULL, "size" },
    { NULL, "small", PR_SETTING_SIZE, NULL, 0, 4096, NULL, "bounded size" },
    { NULL, "timeout", PR_SETTING_DURATION, "5m", 1, 86400, NULL, "duration" },
    { "fxshared", "shared_key", PR_SETTING_INT, "7", 0, 100, NULL, "explicit group" },
    { "server", "fxmod_extra", PR_SETTING_BOOL, "true", 0, 0, NULL, "in a host group" },
    { NULL }
};

typedef struct {
    char *dir;
    char *main;
} Fixture;

static void
fixture_set_up(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    fx->dir = g_dir_make_tmp("pr-config-XXXXXX", &error);
    g_assert_no_error(error);
    fx->main = g_build_filename(fx->dir, "postroomd.conf", NULL);
}

static void
remove_tree(const char *path)
{
    if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
        g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
        const char *name;
        while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
            g_autofree char *child = g_build_filename(path, name, NULL);
            remove_tree(child);
        }
        g_rmdir(path);
    } else {
        g_unlink(path);
    }
}

static void
fixture_tear_down(Fixture *fx, gconstpointer data)
{
    remove_tree(fx->dir);
    g_free(fx->dir);
    g_free(fx->main);
}

static void
write_file(const char *path, const char *text)
{
    g_autoptr(GError) error = NULL;
    g_assert_true(g_file_set_contents(path, text, -1, &error));
    g_assert_no_error(error);
}

/* Writes conf.d/@name and returns its path. */
static char *
write_confd(Fixture *fx, const char *name, const char *text)
{
    g_autofree char *confd = g_build_filename(fx->dir, "conf.d", NULL);
    g_assert_cmpint(g_mkdir_with_parents(confd, 0755), ==, 0);
    char *path = g_build_filename(confd, name, NULL);
    write_file(path, text);
    return path;
}

static GPtrArray *
schemas_new(gboolean with_module)
{
    static ConfigSchema host = { "host", "server", NULL, NULL };
    static ConfigSchema module = { "fxmod", "fxmod", fx_specs, fx_services };
    GPtrArray *schemas = g_ptr_array_new();
    host.specs = config_host_schema();
    g_ptr_array_add(schemas, &host);
    if (with_module)
        g_ptr_array_add(schemas, &module);
    return schemas;
}

static Config *
load_valid(Fixture *fx, const char *text)
{
    g_autoptr(GError) error = NULL;
    write_file(fx->main, text);
    Config *config = config_load(fx->main, &error);
    g_assert_no_error(error);
    g_autoptr(GPtrArray) schemas = schemas_new(TRUE);
    gboolean ok = config_validate(config, schemas, &error);
    g_assert_no_error(error);
    g_assert_true(ok);
    return config;
}

/* Loads @text as the main file, expects validation to fail with @code, and
 * returns the message. */
static char *
load_invalid(Fixture *fx, const char *text, int code)
{
    g_autoptr(GError) error = NULL;
    write_file(fx->main, text);
    g_autoptr(Config) config = config_load(fx->main, &error);
    g_assert_no_error(error);
    g_autoptr(GPtrArray) schemas = schemas_new(TRUE);
    g_assert_false(config_validate(config, schemas, &error));
    g_assert_error(error, PR_CONFIG_ERROR, code);
    g_test_message("%s", error->message);
    return g_strdup(error->message);
}

static void
assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL)
        g_error("“%s” does not contain “%s”", haystack, needle);
}

static void
assert_names_line(const char *msg, const char *path, int line)
{
    g_autofree char *where = g_strdup_printf("%s:%d:", path, line);
    assert_contains(msg, where);
}

static void
test_confd_order(Fixture *fx, gconstpointer data)
{
    write_file(fx->main, "[server]\nhostname=main\nmax_connections=10\nuser=mail\n");
    g_autofree char *b = write_confd(fx, "20-b.conf", "[server]\nhostname=from-b\n");
    g_autofree char *a =
        write_confd(fx, "10-a.conf", "[server]\nhostname=from-a\nmax_connections=20\n");
    /* Neither of these is read: wrong suffix, hidden. */
    g_autofree char *readme = write_confd(fx, "README", "this is [not a key file");
    g_autofree char *hidden = write_confd(fx, ".old.conf", "[server]\nhostname=hidden\n");
    g_autofree char *backup = write_confd(fx, "30-c.conf~", "[server]\nhostname=backup\n");

    g_autoptr(GError) error = NULL;
    g_autoptr(Config) config = config_load(fx->main, &error);
    g_assert_no_error(error);
    g_autoptr(GPtrArray) schemas = schemas_new(FALSE);
    g_assert_true(config_validate(config, schemas, &error));
    g_assert_no_error(error);

    g_assert_cmpstr(config_get_path(config), ==, fx->main);
    g_assert_cmpstr(config_get_string(config, "server", "hostname"), ==, "from-b");
    g_assert_cmpint(config_get_int(config, "server", "max_connections"), ==, 20);
    g_assert_cmpstr(config_get_string(config, "server", "user"), ==, "mail");
    g_assert_true(config_has_key(config, "server", "user"));
    g_assert_false(config_has_key(config, "server", "group"));
    g_auto(GStrv) groups = config_get_groups(config);
    g_assert_cmpuint(g_strv_length(groups), ==, 1);
    g_assert_cmpstr(groups[0], ==, "server");
}

static void
test_no_confd(Fixture *fx, gconstpointer data)
{
    g_autoptr(Config) config = load_valid(fx, "# only a comment\n");
    g_assert_cmpint(config_get_int(config, "server", "max_connections"), ==, 5000);
}

static void
test_io_and_parse_errors(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *missing = g_build_filename(fx->dir, "nope.conf", NULL);

    g_assert_null(config_load(missing, &error));
    g_assert_error(error, PR_CONFIG_ERROR, PR_CONFIG_ERROR_IO);
    assert_contains(error->message, missing);
    g_clear_error(&error);

    write_file(fx->main, "[server\nhostname=x\n");
    g_assert_null(config_load(fx->main, &error));
    g_assert_error(error, PR_CONFIG_ERROR, PR_CONFIG_ERROR_PARSE);
    assert_contains(error->message, fx->main);
    g_clear_error(&error);

    /* A broken conf.d file fails the whole load and is named. */
    write_file(fx->main, "[server]\nhostname=x\n");
    g_autofree char *bad = write_confd(fx, "50-bad.conf", "key without group=1\n");
    g_assert_null(config_load(fx->main, &error));
    g_assert_error(error, PR_CONFIG_ERROR, PR_CONFIG_ERROR_PARSE);
    assert_contains(error->message, bad);
}

static void
test_unknown_group(Fixture *fx, gconstpointer data)
{
    g_autofree char *msg =
        load_invalid(fx, "[server]\nhostname=x\n\n[nosuch]\nkey=1\n", PR_CONFIG_ERROR_UNKNOWN);
    assert_names_line(msg, fx->main, 4);
    assert_contains(msg, "[nosuch]");
}

static void
test_unknown_key(Fixture *fx, gconstpointer data)
{
    g_autofree char *msg =
        load_invalid(fx, "# comment\n[server]\nhostname=x\nbogus = 1\n", PR_CONFIG_ERROR_UNKNOWN);
    assert_names_line(msg, fx->main, 4);
    assert_contains(msg, "bogus");
    assert_contains(msg, "[server]");
    assert_contains(msg, "host");

    /* In a module's group, the module is named as the owner. */
    g_autofree char *msg2 =
        load_invalid(fx, "[fxmod]\ncount=2\n\n[fxmod]\ncolor=red\n", PR_CONFIG_ERROR_UNKNOWN);
    assert_names_line(msg2, fx->main, 5);
    assert_contains(msg2, "color");
    assert_contains(msg2, "[fxmod]");
    assert_contains(msg2, "fxmod");

    /* A key that is a prefix of a valid key is still unknown. */
    g_autofree char *msg3 =
        load_invalid(fx, "[server]\nmax_connections_per=3\n", PR_CONFIG_ERROR_UNKNOWN);
    assert_names_line(msg3, fx->main, 2);
    assert_contains(msg3, "max_connections_per");
}

typedef struct {
    const char *group;
    const char *key;
    const char *value;
} BadValue;

static void
test_bad_values(Fixture *fx, gconstpointer data)
{
    static const BadValue bad[] = {
        { "fxmod", "count", "0" },
        { "fxmod", "count", "11" },
        { "fxmod", "count", "3x" },
        { "fxmod", "count", "" },
        { "fxmod", "signed", "-6" },
        { "fxmod", "signed", "+9" },
        { "fxmod", "flag", "maybe" },
        { "fxmod", "flag", "" },
        { "fxmod", "colour", "purple" },
        { "fxmod", "colour", "" },
        { "fxmod", "dir", "relative/path" },
        { "fxmod", "dir", "~/x" },
        { "fxmod", "limit", "10X" },
        { "fxmod", "limit", "-1" },
        { "fxmod", "limit", "1023" },
        { "fxmod", "limit", "M" },
        { "fxmod", "limit", "1.5M" },
        { "fxmod", "limit", "99999999999999G" },
        { "fxmod", "small", "5K" },
        { "fxmod", "timeout", "5w" },
        { "fxmod", "timeout", "0" },
        { "fxmod", "timeout", "2d" },
        { "fxmod", "timeout", "1h30m" },
        { "fxshared", "shared_key", "101" },
        { "server", "max_connections", "0" },
        { "server", "data_dir", "var/lib" },
        { "store", "provider", "MySQL" },
        { "log", "max_size", "1K" },
        { "fxsvc", "idle_timeout", "2d" },
        { "fxsvc", "require_tls_for_auth", "sometimes" },
    };

    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *text = g_strdup_printf("# line 1\n[%s]\n# line 3\n%s = %s\n", bad[i].group,
                                                bad[i].key, bad[i].value);
        g_autofree char *msg = load_invalid(fx, text, PR_CONFIG_ERROR_INVALID);
        g_autofree char *group = g_strdup_printf("[%s]", bad[i].group);
        assert_names_line(msg, fx->main, 4);
        assert_contains(msg, bad[i].key);
        assert_contains(msg, group);
        assert_contains(msg, bad[i].value);
        /* The owner of the key, not of the group, is named. */
        assert_contains(msg, g_str_equal(bad[i].group, "server") ||
                                     g_str_equal(bad[i].group, "store") ||
                                     g_str_equal(bad[i].group, "log")
                                 ? "host"
                                 : "fxmod");
    }
}

static void
test_good_values(Fixture *fx, gconstpointer data)
{
    g_autoptr(Config) config = load_valid(fx, "[fxmod]\n"
                                              "count = 10\n"
                                              "signed=-5\n"
                                              "flag=Yes\n"
                                              "colour=GREEN\n"
                                              "dir=/srv/mail\n"
                                              "limit=2k\n"
                                              "small=4096\n"
                                              "timeout=1d\n"
                                              "[fxshared]\n"
                                              "shared_key=0\n"
                                              "[server]\n"
                                              "fxmod_extra=off\n"
                                              "[log]\n"
                                              "max_size=1G\n");

    g_assert_cmpint(config_get_int(config, "fxmod", "count"), ==, 10);
    g_assert_cmpint(config_get_int(config, "fxmod", "signed"), ==, -5);
    g_assert_true(config_get_bool(config, "fxmod", "flag"));
    /* Enums come back in the schema's spelling. */
    g_assert_cmpstr(config_get_string(config, "fxmod", "colour"), ==, "green");
    g_assert_cmpstr(config_get_string(config, "fxmod", "dir"), ==, "/srv/mail");
    g_assert_cmpint(config_get_int(config, "fxmod", "limit"), ==, 2048);
    g_assert_cmpint(config_get_int(config, "fxmod", "small"), ==, 4096);
    g_assert_cmpint(config_get_int(config, "fxmod", "timeout"), ==, 86400);
    g_assert_cmpint(config_get_int(config, "fxshared", "shared_key"), ==, 0);
    g_assert_false(config_get_bool(config, "server", "fxmod_extra"));
    g_assert_cmpint(config_get_int(config, "log", "max_size"), ==, G_GINT64_CONSTANT(1) << 30);
}

static void
test_defaults(Fixture *fx, gconstpointer data)
{
    g_autoptr(Config) config = load_valid(fx, "[server]\nhostname=x\n");

    /* Host schema. */
    g_assert_cmpint(config_get_int(config, "server", "max_connections"), ==, 5000);
    g_assert_cmpint(config_get_int(config, "server", "max_connections_per_ip"), ==, 50);
    g_assert_cmpstr(config_get_string(config, "store", "provider"), ==, "SQLite");
    g_assert_cmpint(config_get_int(config, "store", "workers"), ==, 4);
    g_assert_cmpstr(config_get_string(config, "tls", "priority"), ==, "NORMAL");
    g_assert_cmpint(config_get_int(config, "auth", "lockout_attempts"), ==, 3);
    g_assert_cmpint(config_get_int(config, "auth", "lockout_minutes"), ==, 30);
    g_assert_cmpint(config_get_int(config, "auth", "audit_days"), ==, 30);
    g_assert_cmpstr(config_get_string(config, "auth", "password_scheme"), ==, "yescrypt");
    g_assert_cmpstr(config_get_string(config, "log", "level"), ==, "info");
    g_assert_cmpint(config_get_int(config, "log", "max_size"), ==, 10 * 1024 * 1024);
    g_assert_true(g_path_is_absolute(config_get_string(config, "server", "data_dir")));
    g_auto(GStrv) enabled = config_get_strv(config, "modules", "enabled");
    g_assert_cmpuint(g_strv_length(enabled), ==, 0);

    /* Module schema, own group and explicit groups. */
    g_assert_cmpstr(config_get_string(config, "fxmod", "text"), ==, "hello");
    g_assert_cmpint(config_get_int(config, "fxmod", "count"), ==, 3);
    g_assert_false(config_get_bool(config, "fxmod", "flag"));
    g_assert_cmpstr(config_get_string(config, "fxmod", "colour"), ==, "red");
    g_assert_cmpint(config_get_int(config, "fxmod", "limit"), ==, 1024 * 1024);
    g_assert_cmpint(config_get_int(config, "fxmod", "timeout"), ==, 300);
    g_assert_cmpint(config_get_int(config, "fxshared", "shared_key"), ==, 7);
    g_assert_true(config_get_bool(config, "server", "fxmod_extra"));
    /* No default: unset. */
    g_assert_null(config_get_string(config, "fxmod", "dir"));
    g_assert_cmpint(config_get_int(config, "fxmod", "signed"), ==, 0);

    /* Service keys in a declared service group. */
    g_assert_cmpint(config_get_int(config, "fxsvc", "idle_timeout"), ==, 0);
    g_assert_false(config_get_bool(config, "fxsvc", "require_tls_for_auth"));
    g_auto(GStrv) listen = config_get_strv(config, "fxsvc", "listen");
    g_assert_cmpuint(g_strv_length(listen), ==, 0);

    /* Keys nobody declared. */
    g_assert_null(config_get_string(config, "nosuch", "key"));
    g_assert_cmpint(config_get_int(config, "nosuch", "key"), ==, 0);
    g_assert_false(config_get_bool(config, "nosuch", "key"));
}

static void
test_explicit_group(Fixture *fx, gconstpointer data)
{
    g_autoptr(Config) config = load_valid(fx, "[fxshared]\nshared_key=42\n");
    g_assert_cmpint(config_get_int(config, "fxshared", "shared_key"), ==, 42);

    /* The key belongs to [fxshared], not to the module's own group... */
    g_autofree char *msg = load_invalid(fx, "[fxmod]\nshared_key=42\n", PR_CONFIG_ERROR_UNKNOWN);
    assert_names_line(msg, fx->main, 2);
    assert_contains(msg, "shared_key");
    /* ...and [fxshared] takes no other key, naming its owner. */
    g_autofree char *msg2 = load_invalid(fx, "[fxshared]\ncount=1\n", PR_CONFIG_ERROR_UNKNOWN);
    assert_contains(msg2, "count");
    assert_contains(msg2, "fxmod");
}

static void
test_service_keys(Fixture *fx, gconstpointer data)
{
    g_autoptr(Config) config = load_valid(fx, "[fxsvc]\n"
                                              "listen=127.0.0.1:1100; [::1]:1100 ;\n"
                                              "access=allow 127.0.0.0/8;deny any\n"
                                              "max_connections=7\n"
                                              "max_connections_per_ip=2\n"
                                              "idle_timeout=10m\n"
                                              "require_tls_for_auth=true\n");
    g_auto(GStrv) listen = config_get_strv(config, "fxsvc", "listen");
    g_assert_cmpuint(g_strv_length(listen), ==, 2);
    g_assert_cmpstr(listen[0], ==, "127.0.0.1:1100");
    g_assert_cmpstr(listen[1], ==, "[::1]:1100");
    g_assert_cmpint(config_get_int(config, "fxsvc", "idle_timeout"), ==, 600);
    g_assert_cmpint(config_get_int(config, "fxsvc", "max_connections"), ==, 7);
    g_assert_true(config_get_bool(config, "fxsvc", "require_tls_for_auth"));

    /* Not in the module's own group (not a service), nor in host groups. */
    static const char *const groups[] = { "fxmod", "server", "fxshared", NULL };
    for (int i = 0; groups[i] != NULL; i++) {
        g_autofree char *text = g_strdup_printf("[%s]\nlisten=127.0.0.1:25\n", groups[i]);
        g_autofree char *msg = load_invalid(fx, text, PR_CONFIG_ERROR_UNKNOWN);
        assert_names_line(msg, fx->main, 2);
        assert_contains(msg, "listen");
    }
    /* A service group of a module that is not installed is unknown. */
    g_autofree char *msg =
        load_invalid(fx, "[pop3]\nlisten=127.0.0.1:110\n", PR_CONFIG_ERROR_UNKNOWN);
    assert_contains(msg, "[pop3]");
}

static void
test_earlier_file_error(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    write_file(fx->main, "[server]\nhostname=x\nmax_connections=lots\n");
    g_autofree char *later = write_confd(fx, "10-fix.conf", "[server]\nmax_connections=100\n");
    g_autoptr(Config) config = config_load(fx->main, &error);
    g_assert_no_error(error);
    g_autoptr(GPtrArray) schemas = schemas_new(FALSE);

    g_assert_false(config_validate(config, schemas, &error));
    g_assert_error(error, PR_CONFIG_ERROR, PR_CONFIG_ERROR_INVALID);
    assert_names_line(error->message, fx->main, 3);
    assert_contains(error->message, "lots");

    /* And an error in a conf.d file names that file and its line. */
    g_clear_error(&error);
    write_file(fx->main, "[server]\nhostname=x\n");
    write_file(later, "\n\n[auth]\nlockout_attempts=100\n");
    g_autoptr(Config) config2 = config_load(fx->main, &error);
    g_assert_no_error(error);
    g_assert_false(config_validate(config2, schemas, &error));
    g_assert_error(error, PR_CONFIG_ERROR, PR_CONFIG_ERROR_INVALID);
    assert_names_line(error->message, later, 4);
}

static void
test_strv(Fixture *fx, gconstpointer data)
{
    g_autoptr(Config) config = load_valid(fx, "[modules]\n"
                                              "enabled= pop3 ;smtp;; ;\timap4\t;\n"
                                              "[access]\n"
                                              "rules=\n");
    g_auto(GStrv) enabled = config_get_strv(config, "modules", "enabled");
    g_assert_cmpuint(g_strv_length(enabled), ==, 3);
    g_assert_cmpstr(enabled[0], ==, "pop3");
    g_assert_cmpstr(enabled[1], ==, "smtp");
    g_assert_cmpstr(enabled[2], ==, "imap4");

    /* An empty value is an empty list, not one empty item. */
    g_auto(GStrv) rules = config_get_strv(config, "access", "rules");
    g_assert_nonnull(rules);
    g_assert_cmpuint(g_strv_length(rules), ==, 0);

    /* Defaults are split and trimmed the same way. */
    g_auto(GStrv) names = config_get_strv(config, "fxmod", "names");
    g_assert_cmpuint(g_strv_length(names), ==, 3);
    g_assert_cmpstr(names[0], ==, "x");
    g_assert_cmpstr(names[1], ==, "y");
    g_assert_cmpstr(names[2], ==, "z");

    /* Unknown: empty. */
    g_auto(GStrv) none = config_get_strv(config, "nosuch", "key");
    g_assert_nonnull(none);
    g_assert_cmpuint(g_strv_length(none), ==, 0);
}

static void
test_values_trimmed(Fixture *fx, gconstpointer data)
{
    g_autoptr(Config) config = load_valid(fx, "[server]\nhostname =  mail.example  \n"
                                              "max_connections =\t12 \n");
    g_assert_cmpstr(config_get_string(config, "server", "hostname"), ==, "mail.example");
    g_assert_cmpint(config_get_int(config, "server", "max_connections"), ==, 12);
}

static void
test_parse_helpers(void)
{
    static const struct {
        const char *text;
        gboolean ok;
        gint64 value;
    } sizes[] = {
        { "0", TRUE, 0 },
        { "17", TRUE, 17 },
        { "17B", TRUE, 17 },
        { "1k", TRUE, 1024 },
        { "1K", TRUE, 1024 },
        { "1KB", TRUE, 1024 },
        { "3M", TRUE, 3 * 1024 * 1024 },
        { "2G", TRUE, G_GINT64_CONSTANT(2) << 30 },
        { "8589934591G", TRUE, G_GINT64_CONSTANT(8589934591) << 30 },
        { "8589934592G", FALSE, 0 },
        { "99999999999999999999", FALSE, 0 },
        { "", FALSE, 0 },
        { "K", FALSE, 0 },
        { "-1", FALSE, 0 },
        { "+1", FALSE, 0 },
        { " 1", FALSE, 0 },
        { "1 K", FALSE, 0 },
        { "1T", FALSE, 0 },
        { "1KK", FALSE, 0 },
        { "1.5K", FALSE, 0 },
    };
    for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
        gint64 n = -1;
        g_test_message("size “%s”", sizes[i].text);
        g_assert_cmpint(config_parse_size(sizes[i].text, &n), ==, sizes[i].ok);
        if (sizes[i].ok)
            g_assert_cmpint(n, ==, sizes[i].value);
    }

    static const struct {
        const char *text;
        gboolean ok;
        gint64 value;
    } durations[] = {
        { "0", TRUE, 0 },
        { "45", TRUE, 45 },
        { "45s", TRUE, 45 },
        { "10m", TRUE, 600 },
        { "10M", TRUE, 600 },
        { "2h", TRUE, 7200 },
        { "3d", TRUE, 259200 },
        { "1w", FALSE, 0 },
        { "1ms", FALSE, 0 },
        { "m", FALSE, 0 },
        { "-5s", FALSE, 0 },
        { "", FALSE, 0 },
        { "5sB", FALSE, 0 },
        { "106751991167300d", TRUE, G_GINT64_CONSTANT(106751991167300) * 86400 },
        { "106751991167301d", FALSE, 0 },
    };
    for (guint i = 0; i < G_N_ELEMENTS(durations); i++) {
        gint64 n = -1;
        g_test_message("duration “%s”", durations[i].text);
        g_assert_cmpint(config_parse_duration(durations[i].text, &n), ==, durations[i].ok);
        if (durations[i].ok)
            g_assert_cmpint(n, ==, durations[i].value);
    }

    static const char *const yes[] = { "true", "TRUE", "yes", "on", "1", NULL };
    static const char *const no[] = { "false", "No", "off", "0", NULL };
    static const char *const neither[] = { "", "2", "y", "truth", " true", NULL };
    for (int i = 0; yes[i] != NULL; i++) {
        gboolean b = FALSE;
        g_assert_true(config_parse_bool(yes[i], &b));
        g_assert_true(b);
    }
    for (int i = 0; no[i] != NULL; i++) {
        gboolean b = TRUE;
        g_assert_true(config_parse_bool(no[i], &b));
        g_assert_false(b);
    }
    for (int i = 0; neither[i] != NULL; i++) {
        gboolean b = FALSE;
        g_assert_false(config_parse_bool(neither[i], &b));
    }
}

static void
test_ref(Fixture *fx, gconstpointer data)
{
    Config *config = load_valid(fx, "[server]\nhostname=ref\n");
    g_assert_true(config_ref(config) == config);
    config_unref(config);
    g_assert_cmpstr(config_get_string(config, "server", "hostname"), ==, "ref");
    config_unref(config);
    config_unref(NULL);
}

#define ADD(path, func) g_test_add(path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
    g_test_summary("Configuration files, conf.d, schemas and validation messages");

    ADD("/config/load/confd-order", test_confd_order);
    ADD("/config/load/no-confd", test_no_confd);
    ADD("/config/load/errors", test_io_and_parse_errors);
    ADD("/config/validate/unknown-group", test_unknown_group);
    ADD("/config/validate/unknown-key", test_unknown_key);
    ADD("/config/validate/bad-values", test_bad_values);
    ADD("/config/validate/good-values", test_good_values);
    ADD("/config/validate/explicit-group", test_explicit_group);
    ADD("/config/validate/service-keys", test_service_keys);
    ADD("/config/validate/earlier-file", test_earlier_file_error);
    ADD("/config/get/defaults", test_defaults);
    ADD("/config/get/strv", test_strv);
    ADD("/config/get/trimmed", test_values_trimmed);
    ADD("/config/ref", test_ref);
    g_test_add_func("/config/parse-helpers", test_parse_helpers);
    return g_test_run();
}
