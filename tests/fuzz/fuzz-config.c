/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Configuration loading and validation. The input becomes postroomd.conf;
 * text after a line "#--conf.d--" becomes conf.d/10-fuzz.conf. It is
 * validated against the host schema and a module schema with every setting
 * type and a service; whatever validates is then read back. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static const char *const fz_choices[] = { "red", "green", NULL };
static const char *const fz_services[] = { "fzsvc", NULL };
static const PrSettingSpec fz_specs[] = {
    { NULL, "text", PR_SETTING_STRING, "x", 0, 0, NULL, "string" },
    { NULL, "count", PR_SETTING_INT, "3", -10, 10, NULL, "int" },
    { NULL, "flag", PR_SETTING_BOOL, "false", 0, 0, NULL, "bool" },
    { NULL, "colour", PR_SETTING_ENUM, "red", 0, 0, fz_choices, "enum" },
    { NULL, "names", PR_SETTING_STRING_LIST, "a;b", 0, 0, NULL, "list" },
    { NULL, "dir", PR_SETTING_PATH, NULL, 0, 0, NULL, "path" },
    { NULL, "limit", PR_SETTING_SIZE, "1M", 0, 0, NULL, "size" },
    { NULL, "timeout", PR_SETTING_DURATION, "5m", 1, 86400, NULL, "duration" },
    { "fzshared", "shared", PR_SETTING_INT, "1", 0, 0, NULL, "explicit group" },
    { NULL }
};

static char *dir;
static char *main_path;
static char *confd_path;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_make_warnings_fatal();
    dir = g_dir_make_tmp("pr-fuzz-config-XXXXXX", NULL);
    if (dir == NULL)
        g_error("cannot create a temporary directory");
    main_path = g_build_filename(dir, "postroomd.conf", NULL);
    g_autofree char *confd = g_build_filename(dir, "conf.d", NULL);
    g_mkdir(confd, 0700);
    confd_path = g_build_filename(confd, "10-fuzz.conf", NULL);
    return 0;
}

/* No fsync: the files are rewritten for every input. */
static gboolean
write_file(const char *path, const char *text, gsize len)
{
    return g_file_set_contents_full(path, text, (gssize)len, G_FILE_SET_CONTENTS_NONE, 0600, NULL);
}

static void
read_back(Config *config)
{
    g_auto(GStrv) groups = config_get_groups(config);
    for (int g = 0; groups[g] != NULL; g++) {
        for (const PrSettingSpec *s = config_host_schema(); s->key != NULL; s++) {
            if (g_strcmp0(s->group, groups[g]) != 0)
                continue;
            (void)config_get_string(config, s->group, s->key);
            (void)config_get_int(config, s->group, s->key);
            g_auto(GStrv) v = config_get_strv(config, s->group, s->key);
            for (int i = 0; v[i] != NULL; i++)
                FUZZ_CHECK(*v[i] != '\0' && !g_ascii_isspace(*v[i]));
        }
    }
    for (const PrSettingSpec *s = fz_specs; s->key != NULL; s++) {
        const char *group = s->group != NULL ? s->group : "fzmod";
        const char *text = config_get_string(config, group, s->key);
        gint64 n = config_get_int(config, group, s->key);
        (void)config_get_bool(config, group, s->key);
        g_auto(GStrv) v = config_get_strv(config, group, s->key);
        for (int i = 0; v[i] != NULL; i++)
            FUZZ_CHECK(*v[i] != '\0');
        /* Validated numbers are within their bounds. */
        if (text != NULL && *text != '\0' &&
            (s->type == PR_SETTING_INT || s->type == PR_SETTING_SIZE ||
             s->type == PR_SETTING_DURATION)) {
            FUZZ_CHECK(n >= s->min);
            FUZZ_CHECK(s->max == 0 || n <= s->max);
        }
        if (s->type == PR_SETTING_ENUM)
            FUZZ_CHECK(text != NULL && g_strv_contains(fz_choices, text));
        if (s->type == PR_SETTING_PATH && text != NULL && *text != '\0')
            FUZZ_CHECK(g_path_is_absolute(text));
    }
    for (const PrSettingSpec *s = config_service_schema(); s->key != NULL; s++) {
        (void)config_get_string(config, "fzsvc", s->key);
        (void)config_get_int(config, "fzsvc", s->key);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char marker[] = "\n#--conf.d--\n";
    const char *text = (const char *)data;
    gsize main_len = size;
    const char *split = size > 0 ? g_strstr_len(text, (gssize)size, marker) : NULL;

    /* g_strstr_len stops at NUL; a marker after a NUL byte is just text. */
    if (split != NULL)
        main_len = (gsize)(split - text);
    if (!write_file(main_path, text, main_len))
        g_error("cannot write %s", main_path);
    if (split != NULL) {
        gsize off = main_len + strlen(marker);
        if (!write_file(confd_path, text + off, size - off))
            g_error("cannot write %s", confd_path);
    } else {
        g_unlink(confd_path);
    }

    g_autoptr(GError) error = NULL;
    g_autoptr(Config) config = config_load(main_path, &error);
    if (config == NULL) {
        FUZZ_CHECK(error != NULL && error->domain == PR_CONFIG_ERROR);
        return 0;
    }
    FUZZ_CHECK(error == NULL);
    ConfigSchema host = { "host", "server", config_host_schema(), NULL };
    ConfigSchema module = { "fzmod", "fzmod", fz_specs, fz_services };
    g_autoptr(GPtrArray) schemas = g_ptr_array_new();
    g_ptr_array_add(schemas, &host);
    g_ptr_array_add(schemas, &module);
    if (!config_validate(config, schemas, &error)) {
        FUZZ_CHECK(error != NULL && error->domain == PR_CONFIG_ERROR);
        FUZZ_CHECK(g_utf8_validate(error->message, -1, NULL));
        return 0;
    }
    FUZZ_CHECK(error == NULL);
    read_back(config);
    return 0;
}
