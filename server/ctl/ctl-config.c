/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "ctl.h"

#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "store/store-ops.h"

/* A module without settings still owns its service groups. */
static uid_t
service_uid(Config *config)
{
    const char *user = config_get_string(config, "server", "user");
    if (user != NULL && *user != '\0') {
        struct passwd *pw = getpwnam(user);
        if (pw != NULL)
            return pw->pw_uid;
    }
    return geteuid();
}

gboolean
ctl_load_config(Ctl *ctl, gboolean tolerate_invalid, GError **error)
{
    g_autoptr(GError) local = NULL;

    ctl->config = config_load(ctl->config_path, error);
    if (ctl->config == NULL)
        return FALSE;

    /* The module directory must be known before validation, which needs
     * the schemas of the modules found there; the raw value is used. */
    const char *dir = config_get_string(ctl->config, "server", "module_dir");
    if (dir == NULL || *dir == '\0')
        dir = MODULEDIR;
    ctl->problems = g_ptr_array_new_with_free_func(g_free);
    ctl->modules = loader_scan(dir, service_uid(ctl->config), ctl->problems);
    if (ctl->modules == NULL)
        ctl->modules = g_ptr_array_new();

    /* The schemas point into the modules' descriptors and names, which stay
     * loaded until ctl_clear(), after the configuration is released. */
    g_autoptr(GPtrArray) schemas = loader_schemas(ctl->modules);

    if (!config_validate(ctl->config, schemas, &local)) {
        if (!tolerate_invalid) {
            g_propagate_error(error, g_steal_pointer(&local));
            return FALSE;
        }
        ctl->config_problem = g_strdup(local->message);
    }
    return TRUE;
}

void
ctl_clear(Ctl *ctl)
{
    g_clear_pointer(&ctl->conn, store_conn_free);
    g_clear_pointer(&ctl->config, config_unref);
    /* loader_scan()'s array frees its modules. */
    g_clear_pointer(&ctl->modules, g_ptr_array_unref);
    g_clear_pointer(&ctl->problems, g_ptr_array_unref);
    g_clear_pointer(&ctl->config_problem, g_free);
}

static gboolean
uses_default_sqlite(Config *config)
{
    const char *provider = config_get_string(config, "store", "provider");
    const char *cnc = config_get_string(config, "store", "cnc");
    return (provider == NULL || g_ascii_strcasecmp(provider, "SQLite") == 0) &&
           (cnc == NULL || *cnc == '\0');
}

gboolean
ctl_open_store(Ctl *ctl, GError **error)
{
    StoreSettings settings = { 0 };
    g_autoptr(GError) local = NULL;

    if (!store_settings_from_config(&settings, ctl->config, error))
        return FALSE;

    /* Opening a missing SQLite database would create an empty one owned by
     * whoever runs this tool; only init may create it. */
    if (uses_default_sqlite(ctl->config)) {
        const char *data_dir = config_get_string(ctl->config, "server", "data_dir");
        g_autofree char *db = g_build_filename(data_dir, "postroom.db", NULL);
        if (!g_file_test(db, G_FILE_TEST_EXISTS)) {
            g_set_error(error, CTL_ERROR, CTL_ERROR_UNAVAILABLE,
                        _("The database %s does not exist; run 'postroomctl init' first."), db);
            store_settings_clear(&settings);
            return FALSE;
        }
    }

    ctl->conn = store_conn_open(&settings, &local);
    if (ctl->conn == NULL) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_UNAVAILABLE,
                    _("Cannot open the %s database: %s. Check [store] in %s."), settings.provider,
                    local->message, ctl->config_path);
        store_settings_clear(&settings);
        return FALSE;
    }
    store_settings_clear(&settings);

    int version = store_schema_version(ctl->conn, &local);
    if (version <= 0) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_UNAVAILABLE,
                    _("The database has no Postroom tables yet; run 'postroomctl init' first."));
        return FALSE;
    }
    return TRUE;
}

/* init ------------------------------------------------------------------ */

/* Creates @path with mode 0750 (parents 0755) unless it is a directory
 * already; says which. */
static gboolean
make_dir(const char *path, GError **error)
{
    GStatBuf st;

    if (g_lstat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            g_set_error(error, CTL_ERROR, CTL_ERROR_IO,
                        _("%s exists but is not a directory; move it away and run init again."),
                        path);
            return FALSE;
        }
        g_print(_("Directory %s exists already.\n"), path);
        return TRUE;
    }
    g_autofree char *parent = g_path_get_dirname(path);
    if (g_mkdir_with_parents(parent, 0755) != 0 || g_mkdir(path, 0750) != 0 ||
        g_chmod(path, 0750) != 0) {
        int saved = errno;
        g_set_error(error, CTL_ERROR, CTL_ERROR_IO, _("Cannot create the directory %s: %s."), path,
                    g_strerror(saved));
        return FALSE;
    }
    g_print(_("Created directory %s.\n"), path);
    return TRUE;
}

/* nftw() has no user data; the tool is single-threaded. */
static uid_t chown_uid;
static gid_t chown_gid;
static guint chown_count;
static int chown_errno;
static char *chown_failed;

static int
chown_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (flag == FTW_NS || flag == FTW_DNR) {
        chown_errno = EACCES;
        chown_failed = g_strdup(path);
        return 1;
    }
    if (st->st_uid == chown_uid && st->st_gid == chown_gid)
        return 0;
    /* lchown: a symbolic link planted in the tree must not give its target
     * to the service user. */
    if (lchown(path, chown_uid, chown_gid) != 0) {
        chown_errno = errno;
        chown_failed = g_strdup(path);
        return 1;
    }
    chown_count++;
    return 0;
}

static gboolean
chown_tree(const char *root, uid_t uid, gid_t gid, const char *owner, GError **error)
{
    chown_uid = uid;
    chown_gid = gid;
    chown_count = 0;
    chown_errno = 0;
    g_clear_pointer(&chown_failed, g_free);

    if (nftw(root, chown_entry, 32, FTW_PHYS) != 0) {
        int saved = chown_errno != 0 ? chown_errno : errno;
        g_set_error(error, CTL_ERROR, CTL_ERROR_IO, _("Cannot change the owner of %s: %s."),
                    chown_failed != NULL ? chown_failed : root, g_strerror(saved));
        g_clear_pointer(&chown_failed, g_free);
        return FALSE;
    }
    if (chown_count > 0)
        g_print(ngettext("Gave %u file under %s to %s.\n", "Gave %u files under %s to %s.\n",
                         chown_count),
                chown_count, root, owner);
    else
        g_print(_("Everything under %s belongs to %s already.\n"), root, owner);
    return TRUE;
}

typedef struct {
    gboolean change; /* running as root with a [server] user */
    uid_t uid;
    gid_t gid;
    char *name; /* "user:group" */
} Owner;

/* Resolved before anything is created, so a wrong user name leaves no
 * half-initialised directory behind. */
static gboolean
resolve_owner(Ctl *ctl, Owner *owner, GError **error)
{
    const char *user = config_get_string(ctl->config, "server", "user");
    const char *group = config_get_string(ctl->config, "server", "group");

    owner->change = FALSE;
    if (user == NULL || *user == '\0')
        return TRUE;
    struct passwd *pw = getpwnam(user);
    if (pw == NULL) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_CONFIG,
                    _("%s: [server] user %s does not exist; create the account (for example "
                      "with adduser --system) or change the setting."),
                    ctl->config_path, user);
        return FALSE;
    }
    owner->uid = pw->pw_uid;
    owner->gid = pw->pw_gid;
    if (group != NULL && *group != '\0') {
        struct group *gr = getgrnam(group);
        if (gr == NULL) {
            g_set_error(error, CTL_ERROR, CTL_ERROR_CONFIG,
                        _("%s: [server] group %s does not exist; create it or change the "
                          "setting."),
                        ctl->config_path, group);
            return FALSE;
        }
        owner->gid = gr->gr_gid;
    }
    struct group *gr = getgrgid(owner->gid);
    owner->name = gr != NULL ? g_strdup_printf("%s:%s", user, gr->gr_name) : g_strdup(user);
    owner->change = geteuid() == 0;
    if (!owner->change)
        g_print(_("Not running as root: leaving the owner of the data directory unchanged.\n"));
    return TRUE;
}

static int init_files(Ctl *ctl, const Owner *owner, GError **error);

int
ctl_cmd_init(Ctl *ctl, char **args, GError **error)
{
    if (!ctl_load_config(ctl, FALSE, error))
        return -1;
    g_print(_("Configuration %s is valid.\n"), ctl->config_path);
    Owner owner = { 0 };
    if (!resolve_owner(ctl, &owner, error))
        return -1;
    int rc = init_files(ctl, &owner, error);
    g_free(owner.name);
    return rc;
}

static int
init_files(Ctl *ctl, const Owner *owner, GError **error)
{
    g_autoptr(GError) local = NULL;
    StoreSettings settings = { 0 };

    const char *data_dir = config_get_string(ctl->config, "server", "data_dir");
    if (data_dir == NULL || *data_dir == '\0') {
        g_set_error(error, CTL_ERROR, CTL_ERROR_CONFIG,
                    _("%s: [server] data_dir is empty; set it to the directory for the database "
                      "and the spool."),
                    ctl->config_path);
        return -1;
    }
    const char *log_setting = config_get_string(ctl->config, "log", "dir");
    g_autofree char *spool_dir = g_build_filename(data_dir, "spool", NULL);
    g_autofree char *log_dir = log_setting != NULL && *log_setting != '\0'
                                   ? g_strdup(log_setting)
                                   : g_build_filename(data_dir, "logs", NULL);
    if (!make_dir(data_dir, error) || !make_dir(spool_dir, error) || !make_dir(log_dir, error))
        return -1;

    if (!store_settings_from_config(&settings, ctl->config, error))
        return -1;
    ctl->conn = store_conn_open(&settings, &local);
    if (ctl->conn == NULL) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_UNAVAILABLE,
                    _("Cannot open the %s database: %s. Check [store] in %s."), settings.provider,
                    local->message, ctl->config_path);
        store_settings_clear(&settings);
        return -1;
    }
    store_settings_clear(&settings);

    /* A new database has no schema_version table: that is version 0. */
    int before = store_schema_version(ctl->conn, NULL);
    before = MAX(before, 0);
    if (!store_migrate(ctl->conn, &local)) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_UNAVAILABLE,
                    _("Cannot create or update the database schema: %s"), local->message);
        return -1;
    }
    int after = store_schema_version(ctl->conn, &local);
    if (after < 0) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_UNAVAILABLE,
                    _("Cannot read the database schema version: %s"), local->message);
        return -1;
    }
    if (before == after)
        g_print(_("The database is up to date (schema version %d).\n"), after);
    else if (before == 0)
        g_print(_("Created the database (schema version %d).\n"), after);
    else
        g_print(_("Updated the database from schema version %d to %d.\n"), before, after);
    /* Close before changing owners, so the SQLite files are complete. */
    g_clear_pointer(&ctl->conn, store_conn_free);

    g_autofree char *data_prefix = g_strconcat(data_dir, G_DIR_SEPARATOR_S, NULL);
    const char *roots[3] = { data_dir, NULL, NULL };
    if (!g_str_has_prefix(log_dir, data_prefix))
        roots[1] = log_dir;
    for (int i = 0; owner->change && roots[i] != NULL; i++) {
        if (!chown_tree(roots[i], owner->uid, owner->gid, owner->name, error))
            return -1;
    }
    g_print(_("Postroom is initialised.\n"));
    return 0;
}

/* config check ---------------------------------------------------------- */

int
ctl_cmd_config_check(Ctl *ctl, char **args, GError **error)
{
    StoreSettings settings = { 0 };

    if (!ctl_load_config(ctl, FALSE, error))
        return -1;
    /* What postroomd checks before it binds anything. */
    g_autoptr(GPtrArray) enabled =
        loader_open_enabled(ctl->config, ctl->modules, service_uid(ctl->config), error);
    const char *cert = config_get_string(ctl->config, "tls", "certificate");
    if (enabled == NULL ||
        !listeners_check(ctl->config, enabled, cert != NULL && *cert != '\0', error))
        return -1;
    if (!store_settings_from_config(&settings, ctl->config, error))
        return -1;
    store_settings_clear(&settings);
    for (guint i = 0; i < ctl->problems->len; i++)
        ctl_warn(_("Module file refused: %s"), (const char *)ctl->problems->pdata[i]);
    g_print(_("configuration OK\n"));
    return 0;
}

/* modules --------------------------------------------------------------- */

static int
compare_modules(gconstpointer a, gconstpointer b)
{
    const PrModule *ma = *(PrModule *const *)a;
    const PrModule *mb = *(PrModule *const *)b;
    return g_strcmp0(ma->name, mb->name);
}

int
ctl_cmd_modules(Ctl *ctl, char **args, GError **error)
{
    if (!ctl_load_config(ctl, TRUE, error))
        return -1;
    if (ctl->config_problem != NULL)
        ctl_warn(_("The configuration is not valid (%s); showing the modules anyway."),
                 ctl->config_problem);

    g_auto(GStrv) enabled = config_get_strv(ctl->config, "modules", "enabled");
    const char *dir = config_get_string(ctl->config, "server", "module_dir");
    if (dir == NULL || *dir == '\0')
        dir = MODULEDIR;
    g_ptr_array_sort(ctl->modules, compare_modules);

    /* Enabled but not found (or refused): the daemon would not start. */
    g_autoptr(GPtrArray) missing = g_ptr_array_new();
    for (int i = 0; enabled[i] != NULL; i++) {
        gboolean found = FALSE;
        for (guint m = 0; m < ctl->modules->len && !found; m++)
            found = g_strcmp0(((PrModule *)ctl->modules->pdata[m])->name, enabled[i]) == 0;
        if (!found)
            g_ptr_array_add(missing, enabled[i]);
    }

    if (ctl->json) {
        g_autoptr(CtlJson) json = ctl_json_new();
        ctl_json_begin_object(json);
        ctl_json_key(json, "module_dir");
        ctl_json_string(json, dir);
        ctl_json_key(json, "modules");
        ctl_json_begin_array(json);
        for (guint i = 0; i < ctl->modules->len; i++) {
            PrModule *module = ctl->modules->pdata[i];
            const PrModuleDesc *desc = module->desc;
            g_autofree char *abi = g_strdup_printf("%u.%u", desc->abi_major, desc->abi_minor);
            ctl_json_begin_object(json);
            ctl_json_key(json, "name");
            ctl_json_string(json, module->name);
            ctl_json_key(json, "version");
            ctl_json_string(json, desc->version);
            ctl_json_key(json, "abi");
            ctl_json_string(json, abi);
            ctl_json_key(json, "license");
            ctl_json_string(json, desc->license);
            ctl_json_key(json, "enabled");
            ctl_json_bool(json, g_strv_contains((const char *const *)enabled, module->name));
            ctl_json_key(json, "description");
            ctl_json_string(json, desc->description);
            ctl_json_key(json, "path");
            ctl_json_string(json, module->path);
            ctl_json_end_object(json);
        }
        ctl_json_end_array(json);
        ctl_json_key(json, "refused");
        ctl_json_begin_array(json);
        for (guint i = 0; i < ctl->problems->len; i++)
            ctl_json_string(json, ctl->problems->pdata[i]);
        ctl_json_end_array(json);
        ctl_json_key(json, "missing");
        ctl_json_begin_array(json);
        for (guint i = 0; i < missing->len; i++)
            ctl_json_string(json, missing->pdata[i]);
        ctl_json_end_array(json);
        ctl_json_end_object(json);
        return ctl_json_print(json, error) ? 0 : -1;
    }

    if (ctl->modules->len == 0) {
        g_print(_("No modules in %s.\n"), dir);
    } else {
        g_autoptr(CtlTable) table = ctl_table_new(6, _("NAME"), _("VERSION"), _("ABI"),
                                                  _("LICENCE"), _("ENABLED"), _("DESCRIPTION"));
        for (guint i = 0; i < ctl->modules->len; i++) {
            PrModule *module = ctl->modules->pdata[i];
            const PrModuleDesc *desc = module->desc;
            const char *domain =
                desc->gettext_domain != NULL ? desc->gettext_domain : GETTEXT_PACKAGE;
            g_autofree char *abi = g_strdup_printf("%u.%u", desc->abi_major, desc->abi_minor);
            gboolean on = g_strv_contains((const char *const *)enabled, module->name);
            ctl_table_add_row(
                table, module->name, desc->version, abi, desc->license, on ? _("yes") : _("no"),
                desc->description != NULL ? g_dgettext(domain, desc->description) : "");
        }
        ctl_table_print(table);
    }
    if (ctl->problems->len > 0) {
        g_print("\n");
        g_print(_("Problems in the module directory:\n"));
        for (guint i = 0; i < ctl->problems->len; i++) {
            g_autofree char *text = ctl_printable(ctl->problems->pdata[i]);
            g_print("  %s\n", text);
        }
    }
    for (guint i = 0; i < missing->len; i++)
        ctl_warn(_("Module %s is enabled in [modules] but %s has no usable %s.so; the server "
                   "will not start."),
                 (const char *)missing->pdata[i], dir, (const char *)missing->pdata[i]);
    return 0;
}

/* version --------------------------------------------------------------- */

int
ctl_cmd_version(Ctl *ctl, char **args, GError **error)
{
    if (ctl->json) {
        g_autoptr(CtlJson) json = ctl_json_new();
        g_autofree char *abi = g_strdup_printf("%d.%d", PR_MODULE_ABI_MAJOR, PR_MODULE_ABI_MINOR);
        ctl_json_begin_object(json);
        ctl_json_key(json, "version");
        ctl_json_string(json, PACKAGE_VERSION);
        ctl_json_key(json, "abi");
        ctl_json_string(json, abi);
        ctl_json_end_object(json);
        return ctl_json_print(json, error) ? 0 : -1;
    }
    g_print(_("postroomctl %s (module ABI %d.%d)\n"), PACKAGE_VERSION, PR_MODULE_ABI_MAJOR,
            PR_MODULE_ABI_MINOR);
    return 0;
}
