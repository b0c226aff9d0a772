/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The module loader against the fixture modules of tests/modules: every
 * refusal with the error an administrator would read, scanning, ordering,
 * init with rollback and deinit in reverse order. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"
#include "module-loader.h"

#define ORDER_VAR "PR_TEST_ORDER"

/* The fixtures, copied to a private directory with mode 0644 so the file
 * checks do not depend on the build's umask. */
static char *fixtures;
static char *scratch;
static Config *test_config;

static void
copy_file(const char *from, const char *to, mode_t mode)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) error = NULL;

    g_assert_true(g_file_get_contents(from, &data, &len, &error));
    g_assert_no_error(error);
    g_assert_true(g_file_set_contents(to, data, (gssize)len, &error));
    g_assert_no_error(error);
    g_assert_cmpint(g_chmod(to, mode), ==, 0);
}

static void
setup_fixture_dir(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GDir) dir = g_dir_open(FIXTURE_DIR, 0, &error);
    g_assert_no_error(error);

    fixtures = g_dir_make_tmp("pr-loader-XXXXXX", &error);
    g_assert_no_error(error);
    const char *name;
    guint copied = 0;
    while ((name = g_dir_read_name(dir)) != NULL && copied < 1000) {
        if (!g_str_has_suffix(name, ".so"))
            continue;
        g_autofree char *from = g_build_filename(FIXTURE_DIR, name, NULL);
        g_autofree char *to = g_build_filename(fixtures, name, NULL);
        copy_file(from, to, 0644);
        copied++;
    }
    g_assert_cmpuint(copied, ==, 13);

    scratch = g_dir_make_tmp("pr-loader-scratch-XXXXXX", &error);
    g_assert_no_error(error);
    g_autofree char *conf = g_build_filename(scratch, "postroomd.conf", NULL);
    g_autofree char *text =
        g_strdup_printf("[server]\ndata_dir=%s\nhostname=loader.test\n", scratch);
    g_assert_true(g_file_set_contents(conf, text, -1, &error));
    g_assert_no_error(error);
    test_config = config_load(conf, &error);
    g_assert_no_error(error);
    g_autoptr(GPtrArray) schemas = g_ptr_array_new();
    ConfigSchema host_schema = { "host", "server", config_host_schema(), NULL };
    g_ptr_array_add(schemas, &host_schema);
    g_assert_true(config_validate(test_config, schemas, &error));
    g_assert_no_error(error);
}

/* rm -r for the few files the tests create. */
static void
remove_tree(const char *path)
{
    GStatBuf st;
    if (g_lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
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

static PrModule *
open_fixture(const char *name)
{
    g_autoptr(GError) error = NULL;
    PrModule *m = loader_open(fixtures, name, getuid(), &error);
    g_assert_no_error(error);
    g_assert_nonnull(m);
    return m;
}

/* Opens @name, expects the error @code, and returns its message. */
static char *
open_fails(const char *dir, const char *name, uid_t uid, int code)
{
    g_autoptr(GError) error = NULL;
    PrModule *m = loader_open(dir, name, uid, &error);
    g_assert_null(m);
    g_assert_error(error, PR_MODULE_ERROR, code);
    g_test_message("%s: %s", name, error->message);
    return g_strdup(error->message);
}

static void
assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL)
        g_error("“%s” does not contain “%s”", haystack, needle);
}

static void
test_open_good(void)
{
    PrModule *m = open_fixture("fx_good");
    gboolean seen[PR_SETTING_DURATION + 1] = { FALSE };

    g_assert_cmpstr(m->name, ==, "fx_good");
    g_assert_cmpstr(pr_module_get_name(m), ==, "fx_good");
    g_assert_cmpstr(m->desc->name, ==, "fx_good");
    g_assert_true(g_str_has_suffix(m->path, "/fx_good.so"));
    g_assert_nonnull(m->gmodule);
    g_assert_false(m->initialised);
    g_assert_true(g_strv_contains(m->desc->services, "fx_good_svc"));
    for (const PrSettingSpec *s = m->desc->settings; s->key != NULL; s++)
        seen[s->type] = TRUE;
    for (int t = PR_SETTING_STRING; t <= PR_SETTING_DURATION; t++)
        g_assert_true(seen[t]);

    /* A second open of the same file gives a second, independent handle. */
    PrModule *again = open_fixture("fx_good");
    g_assert_true(again->desc == m->desc);
    loader_module_free(again);
    loader_module_free(m);
}

static void
test_open_not_found(void)
{
    g_autofree char *msg = open_fails(fixtures, "fx_absent", getuid(), PR_MODULE_ERROR_NOT_FOUND);
    assert_contains(msg, "fx_absent");
    assert_contains(msg, "[modules] enabled=");
}

static void
test_open_bad_name(void)
{
    static const char *const bad[] = { "", "Fx_good", "fx-good", "../fx_good", "fx good", NULL };
    for (int i = 0; bad[i] != NULL; i++) {
        g_autofree char *msg = open_fails(fixtures, bad[i], getuid(), PR_MODULE_ERROR_INVALID);
        assert_contains(msg, bad[i]);
    }
}

static void
test_open_abi_major(void)
{
    g_autofree char *host = g_strdup_printf("%d.%d", PR_MODULE_ABI_MAJOR, PR_MODULE_ABI_MINOR);
    g_autofree char *msg = open_fails(fixtures, "fx_abi2", getuid(), PR_MODULE_ERROR_ABI);
    assert_contains(msg, "fx_abi2");
    assert_contains(msg, "2.0");
    assert_contains(msg, host);
    assert_contains(msg, "1.0");
}

static void
test_open_abi_minor_newer(void)
{
    g_autofree char *host = g_strdup_printf("%d.%d", PR_MODULE_ABI_MAJOR, PR_MODULE_ABI_MINOR);
    g_autofree char *module =
        g_strdup_printf("%d.%d", PR_MODULE_ABI_MAJOR, PR_MODULE_ABI_MINOR + 1);
    g_autofree char *msg = open_fails(fixtures, "fx_minor_newer", getuid(), PR_MODULE_ERROR_ABI);
    assert_contains(msg, "fx_minor_newer");
    assert_contains(msg, module);
    assert_contains(msg, host);
}

static void
test_open_no_descriptor(void)
{
    g_autofree char *msg =
        open_fails(fixtures, "fx_nodesc", getuid(), PR_MODULE_ERROR_NO_DESCRIPTOR);
    assert_contains(msg, "fx_nodesc");
    assert_contains(msg, "pr_module_fx_nodesc_get_desc");
}

static void
test_open_wrong_name(void)
{
    g_autofree char *msg = open_fails(fixtures, "fx_wrongname", getuid(), PR_MODULE_ERROR_INVALID);
    assert_contains(msg, "fx_wrongname");
    assert_contains(msg, "fx_other");
}

static void
test_open_missing_field(void)
{
    g_autofree char *msg =
        open_fails(fixtures, "fx_missing_field", getuid(), PR_MODULE_ERROR_INVALID);
    assert_contains(msg, "fx_missing_field");
    assert_contains(msg, "license");
}

static void
test_open_undefined_symbol(void)
{
    g_autofree char *msg =
        open_fails(fixtures, "fx_undefined_symbol", getuid(), PR_MODULE_ERROR_OPEN);
    assert_contains(msg, "fx_undefined_symbol");
    /* dlerror() names the missing function: the admin sees what is wrong. */
    assert_contains(msg, "fx_function_nobody_defines");
}

/* A private directory holding one copy of fx_good.so with @mode. */
static char *
good_copy(mode_t mode)
{
    g_autoptr(GError) error = NULL;
    char *dir = g_dir_make_tmp("pr-loader-perm-XXXXXX", &error);
    g_assert_no_error(error);
    g_autofree char *from = g_build_filename(fixtures, "fx_good.so", NULL);
    g_autofree char *to = g_build_filename(dir, "fx_good.so", NULL);
    copy_file(from, to, mode);
    return dir;
}

static void
test_unsafe_writable(void)
{
    static const mode_t modes[] = { 0664, 0646, 0666, 0775 };
    for (guint i = 0; i < G_N_ELEMENTS(modes); i++) {
        g_autofree char *dir = good_copy(modes[i]);
        g_autofree char *msg = open_fails(dir, "fx_good", getuid(), PR_MODULE_ERROR_UNSAFE_FILE);
        assert_contains(msg, "fx_good");
        assert_contains(msg, dir);
        remove_tree(dir);
    }
    /* The same copy with safe permissions loads: the refusal was the mode. */
    g_autofree char *dir = good_copy(0755);
    g_autoptr(GError) error = NULL;
    PrModule *m = loader_open(dir, "fx_good", getuid(), &error);
    g_assert_no_error(error);
    loader_module_free(m);
    remove_tree(dir);
}

static void
test_unsafe_symlink(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("pr-loader-link-XXXXXX", &error);
    g_assert_no_error(error);
    g_autofree char *target = g_build_filename(fixtures, "fx_good.so", NULL);
    g_autofree char *link = g_build_filename(dir, "fx_good.so", NULL);
    g_assert_cmpint(symlink(target, link), ==, 0);

    g_autofree char *msg = open_fails(dir, "fx_good", getuid(), PR_MODULE_ERROR_UNSAFE_FILE);
    assert_contains(msg, "fx_good");
    remove_tree(dir);
}

static void
test_unsafe_directory(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("pr-loader-dir-XXXXXX", &error);
    g_assert_no_error(error);
    g_autofree char *sub = g_build_filename(dir, "fx_good.so", NULL);
    g_assert_cmpint(g_mkdir(sub, 0755), ==, 0);

    g_autofree char *msg = open_fails(dir, "fx_good", getuid(), PR_MODULE_ERROR_UNSAFE_FILE);
    assert_contains(msg, "fx_good");
    remove_tree(dir);
}

static void
test_unsafe_owner(void)
{
    if (getuid() != 0) {
        g_test_skip("changing a file's owner needs root");
        return;
    }
    g_autofree char *dir = good_copy(0644);
    g_autofree char *path = g_build_filename(dir, "fx_good.so", NULL);
    g_assert_cmpint(chown(path, 65534, 65534), ==, 0);

    /* Neither root nor the service user (here uid 1234) owns it. */
    g_autofree char *msg = open_fails(dir, "fx_good", 1234, PR_MODULE_ERROR_UNSAFE_FILE);
    assert_contains(msg, "fx_good");
    assert_contains(msg, path);

    /* Owned by the service user itself is fine. */
    g_autoptr(GError) error = NULL;
    PrModule *m = loader_open(dir, "fx_good", 65534, &error);
    g_assert_no_error(error);
    g_assert_nonnull(m);
    loader_module_free(m);
    remove_tree(dir);
}

static gboolean
problems_mention(GPtrArray *problems, const char *name)
{
    for (guint i = 0; i < problems->len; i++) {
        if (strstr(problems->pdata[i], name) != NULL)
            return TRUE;
    }
    return FALSE;
}

static void
test_scan(void)
{
    static const char *const good[] = { "fx_cycle_a",       "fx_cycle_b", "fx_dep_base",
                                        "fx_dep_user",      "fx_good",    "fx_init_fails",
                                        "fx_needs_missing", NULL };
    static const char *const bad[] = {
        "fx_abi2",      "fx_minor_newer",      "fx_nodesc", "fx_missing_field",
        "fx_wrongname", "fx_undefined_symbol", NULL
    };
    g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);

    /* A stray non-module file and a hidden one are not modules at all. */
    g_autofree char *readme = g_build_filename(fixtures, "README", NULL);
    g_assert_true(g_file_set_contents(readme, "not a module", -1, NULL));

    g_autoptr(GPtrArray) modules = loader_scan(fixtures, getuid(), problems);
    g_assert_nonnull(modules);
    for (guint i = 0; i < problems->len; i++)
        g_test_message("problem: %s", (char *)problems->pdata[i]);

    /* Sorted by name, every loadable fixture, nothing else. */
    g_assert_cmpuint(modules->len, ==, g_strv_length((char **)good));
    for (guint i = 0; i < modules->len; i++)
        g_assert_cmpstr(((PrModule *)modules->pdata[i])->name, ==, good[i]);
    g_assert_cmpuint(problems->len, ==, g_strv_length((char **)bad));
    for (int i = 0; bad[i] != NULL; i++)
        g_assert_true(problems_mention(problems, bad[i]));
    g_unlink(readme);
}

static void
test_scan_missing_dir(void)
{
    g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *dir = g_build_filename(scratch, "no-such-dir", NULL);
    g_autoptr(GPtrArray) modules = loader_scan(dir, getuid(), problems);

    g_assert_nonnull(modules);
    g_assert_cmpuint(modules->len, ==, 0);
    g_assert_cmpuint(problems->len, ==, 1);
    assert_contains(problems->pdata[0], dir);

    /* Problems are optional. */
    g_autoptr(GPtrArray) again = loader_scan(dir, getuid(), NULL);
    g_assert_cmpuint(again->len, ==, 0);
}

static GPtrArray *
open_list(const char *const *names)
{
    GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)loader_module_free);
    for (int i = 0; names[i] != NULL; i++)
        g_ptr_array_add(list, open_fixture(names[i]));
    return list;
}

static void
assert_order(GPtrArray *sorted, const char *const *names)
{
    g_assert_cmpuint(sorted->len, ==, g_strv_length((char **)names));
    for (guint i = 0; i < sorted->len; i++)
        g_assert_cmpstr(((PrModule *)sorted->pdata[i])->name, ==, names[i]);
}

static void
test_sort_order(void)
{
    static const char *const given[] = { "fx_dep_user", "fx_good", "fx_dep_base", NULL };
    static const char *const expected[] = { "fx_dep_base", "fx_dep_user", "fx_good", NULL };
    g_autoptr(GPtrArray) modules = open_list(given);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) sorted = loader_sort(modules, &error);

    g_assert_no_error(error);
    assert_order(sorted, expected);
}

static void
test_sort_missing(void)
{
    static const char *const given[] = { "fx_good", "fx_needs_missing", NULL };
    g_autoptr(GPtrArray) modules = open_list(given);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) sorted = loader_sort(modules, &error);

    g_assert_null(sorted);
    g_assert_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_DEPENDENCY);
    g_test_message("%s", error->message);
    assert_contains(error->message, "fx_needs_missing");
    assert_contains(error->message, "fx_absent");
    assert_contains(error->message, "[modules] enabled=");
}

static void
test_sort_cycle(void)
{
    static const char *const given[] = { "fx_good", "fx_cycle_a", "fx_cycle_b", NULL };
    g_autoptr(GPtrArray) modules = open_list(given);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) sorted = loader_sort(modules, &error);

    g_assert_null(sorted);
    g_assert_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_CYCLE);
    g_test_message("%s", error->message);
    assert_contains(error->message, "fx_cycle_a");
    assert_contains(error->message, "fx_cycle_b");
    assert_contains(error->message, "[modules] enabled=");
    /* fx_good is not part of the cycle. */
    g_assert_null(strstr(error->message, "fx_good"));
}

static PrHost *
new_host(void)
{
    return host_new(test_config);
}

static void
test_init_deinit_order(void)
{
    static const char *const given[] = { "fx_dep_user", "fx_dep_base", NULL };
    g_autoptr(GPtrArray) modules = open_list(given);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) sorted = loader_sort(modules, &error);
    g_assert_no_error(error);
    PrHost *host = new_host();

    g_unsetenv(ORDER_VAR);
    g_assert_true(loader_init_all(sorted, host, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(g_getenv(ORDER_VAR), ==, "init:fx_dep_base;init:fx_dep_user;");
    g_assert_cmpuint(host->modules->len, ==, 2);
    g_assert_true(host->modules->pdata[0] == sorted->pdata[0]);
    for (guint i = 0; i < sorted->len; i++) {
        PrModule *m = sorted->pdata[i];
        g_assert_true(m->initialised);
        g_assert_true(m->host == host);
    }

    loader_deinit_all(sorted, host);
    g_assert_cmpstr(g_getenv(ORDER_VAR), ==,
                    "init:fx_dep_base;init:fx_dep_user;deinit:fx_dep_user;deinit:fx_dep_base;");
    g_assert_cmpuint(host->modules->len, ==, 0);
    for (guint i = 0; i < sorted->len; i++)
        g_assert_false(((PrModule *)sorted->pdata[i])->initialised);

    /* A second deinit does nothing: each deinit runs once. */
    loader_deinit_all(sorted, host);
    g_assert_cmpstr(g_getenv(ORDER_VAR), ==,
                    "init:fx_dep_base;init:fx_dep_user;deinit:fx_dep_user;deinit:fx_dep_base;");
    host_free(host);
}

static void
test_init_rollback(void)
{
    static const char *const given[] = { "fx_dep_base", "fx_dep_user", "fx_init_fails", NULL };
    g_autoptr(GPtrArray) modules = open_list(given);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) sorted = loader_sort(modules, &error);
    g_assert_no_error(error);
    assert_order(sorted, given);
    PrHost *host = new_host();

    g_unsetenv(ORDER_VAR);
    g_assert_false(loader_init_all(sorted, host, &error));
    g_assert_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INIT);
    g_test_message("%s", error->message);
    assert_contains(error->message, "fx_init_fails");
    assert_contains(error->message, "fixture refuses to start");
    /* Those that started are stopped, newest first; the failed one's
     * deinit never runs. */
    g_assert_cmpstr(g_getenv(ORDER_VAR), ==,
                    "init:fx_dep_base;init:fx_dep_user;init:fx_init_fails;"
                    "deinit:fx_dep_user;deinit:fx_dep_base;");
    for (guint i = 0; i < sorted->len; i++)
        g_assert_false(((PrModule *)sorted->pdata[i])->initialised);

    /* Nothing is left for a later deinit_all to stop twice. */
    loader_deinit_all(sorted, host);
    g_assert_cmpstr(g_getenv(ORDER_VAR), ==,
                    "init:fx_dep_base;init:fx_dep_user;init:fx_init_fails;"
                    "deinit:fx_dep_user;deinit:fx_dep_base;");
    host_free(host);
}

static void
test_init_rollback_host_modules(void)
{
    static const char *const given[] = { "fx_dep_base", "fx_init_fails", NULL };
    g_autoptr(GPtrArray) modules = open_list(given);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) sorted = loader_sort(modules, &error);
    g_assert_no_error(error);
    PrHost *host = new_host();

    g_assert_false(loader_init_all(sorted, host, &error));
    g_assert_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INIT);
    /* host->modules lists the initialised modules: after the rollback, none.
     * Not g_assert: a failure here must not hide the remaining tests. */
    if (host->modules->len != 0)
        g_test_fail_printf("loader_init_all() left %u rolled-back module(s) in host->modules",
                           host->modules->len);
    host_free(host);
}

static gboolean
static_init(PrModule *self, PrHost *host, GError **error)
{
    return TRUE;
}

static void
test_wrap(void)
{
    static const PrModuleDesc good = { PR_MODULE_ABI_MAJOR,
                                       PR_MODULE_ABI_MINOR,
                                       sizeof(PrModuleDesc),
                                       "fx_static",
                                       "static",
                                       "1.0",
                                       "MIT",
                                       .init = static_init };
    static const PrModuleDesc no_init = { PR_MODULE_ABI_MAJOR,
                                          PR_MODULE_ABI_MINOR,
                                          sizeof(PrModuleDesc),
                                          "fx_static",
                                          "static",
                                          "1.0",
                                          "MIT" };
    static const PrModuleDesc bad_name = { PR_MODULE_ABI_MAJOR,
                                           PR_MODULE_ABI_MINOR,
                                           sizeof(PrModuleDesc),
                                           "Fx-Static",
                                           "static",
                                           "1.0",
                                           "MIT",
                                           .init = static_init };
    static const PrModuleDesc small = {
        PR_MODULE_ABI_MAJOR, PR_MODULE_ABI_MINOR, 8, "fx_static", "static", "1.0", "MIT",
        .init = static_init
    };
    g_autoptr(GError) error = NULL;

    PrModule *m = loader_wrap(&good, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(m->name, ==, "fx_static");
    g_assert_null(m->gmodule);
    loader_module_free(m);

    g_assert_null(loader_wrap(&no_init, &error));
    g_assert_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INVALID);
    assert_contains(error->message, "init");
    g_clear_error(&error);
    g_assert_null(loader_wrap(&bad_name, &error));
    g_assert_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_null(loader_wrap(&small, &error));
    g_assert_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INVALID);
    assert_contains(error->message, "struct_size");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
    g_test_summary("Module loader: file checks, descriptors, ABI, order, init and rollback");
    setup_fixture_dir();

    g_test_add_func("/loader/open/good", test_open_good);
    g_test_add_func("/loader/open/not-found", test_open_not_found);
    g_test_add_func("/loader/open/bad-name", test_open_bad_name);
    g_test_add_func("/loader/open/abi-major", test_open_abi_major);
    g_test_add_func("/loader/open/abi-minor-newer", test_open_abi_minor_newer);
    g_test_add_func("/loader/open/no-descriptor", test_open_no_descriptor);
    g_test_add_func("/loader/open/wrong-name", test_open_wrong_name);
    g_test_add_func("/loader/open/missing-field", test_open_missing_field);
    g_test_add_func("/loader/open/undefined-symbol", test_open_undefined_symbol);
    g_test_add_func("/loader/unsafe/writable", test_unsafe_writable);
    g_test_add_func("/loader/unsafe/symlink", test_unsafe_symlink);
    g_test_add_func("/loader/unsafe/directory", test_unsafe_directory);
    g_test_add_func("/loader/unsafe/owner", test_unsafe_owner);
    g_test_add_func("/loader/scan/fixtures", test_scan);
    g_test_add_func("/loader/scan/missing-dir", test_scan_missing_dir);
    g_test_add_func("/loader/sort/order", test_sort_order);
    g_test_add_func("/loader/sort/missing-dependency", test_sort_missing);
    g_test_add_func("/loader/sort/cycle", test_sort_cycle);
    g_test_add_func("/loader/init/order", test_init_deinit_order);
    g_test_add_func("/loader/init/rollback", test_init_rollback);
    g_test_add_func("/loader/init/rollback-host-modules", test_init_rollback_host_modules);
    g_test_add_func("/loader/wrap", test_wrap);

    int ret = g_test_run();
    config_unref(test_config);
    remove_tree(fixtures);
    remove_tree(scratch);
    g_free(fixtures);
    g_free(scratch);
    return ret;
}
