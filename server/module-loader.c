/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "module-loader.h"

#include <glib/gi18n-lib.h>
#include <sys/stat.h>

#include "host.h"

G_DEFINE_QUARK(pr - module - error - quark, pr_module_error)

static gboolean
valid_name(const char *name)
{
    if (name == NULL || *name == '\0' || strlen(name) > 64)
        return FALSE;
    for (const char *p = name; *p != '\0'; p++) {
        if (!(g_ascii_islower(*p) || g_ascii_isdigit(*p) || *p == '_'))
            return FALSE;
    }
    return TRUE;
}

gboolean
loader_check_desc(const PrModuleDesc *desc, const char *expected_name, GError **error)
{
    if (desc->abi_major != PR_MODULE_ABI_MAJOR || desc->abi_minor > PR_MODULE_ABI_MINOR) {
        g_set_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_ABI,
                    _("module %s was built for plugin ABI %u.%u; this server provides %d.%d. "
                      "Rebuild the module against this server's SDK (postroom-plugin-%d), or "
                      "remove it from [modules] enabled="),
                    expected_name, desc->abi_major, desc->abi_minor, PR_MODULE_ABI_MAJOR,
                    PR_MODULE_ABI_MINOR, PR_MODULE_ABI_MAJOR);
        return FALSE;
    }

    const char *missing = NULL;
    if (desc->struct_size < G_STRUCT_OFFSET(PrModuleDesc, reserved))
        missing = "struct_size";
    else if (desc->name == NULL)
        missing = "name";
    else if (desc->description == NULL)
        missing = "description";
    else if (desc->version == NULL)
        missing = "version";
    else if (desc->license == NULL)
        missing = "license";
    else if (desc->init == NULL)
        missing = "init";
    if (missing != NULL) {
        g_set_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INVALID,
                    _("module %s has an invalid descriptor: field %s is missing"), expected_name,
                    missing);
        return FALSE;
    }
    if (!valid_name(desc->name) || strcmp(desc->name, expected_name) != 0) {
        g_set_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INVALID,
                    _("module file %s.so declares the name “%s”; the name must equal the file "
                      "name and use only a-z, 0-9 and _"),
                    expected_name, desc->name);
        return FALSE;
    }
    return TRUE;
}

/* NetworkManager's rule: only a regular file owned by root (or the service
 * user) and not writable by group or others may run inside the server. */
static gboolean
check_file(const char *path, const char *name, uid_t allowed_uid, GError **error)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        g_set_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_NOT_FOUND,
                    _("module %s not found: %s does not exist. Install it, fix [server] "
                      "module_dir=, or remove it from [modules] enabled="),
                    name, path);
        return FALSE;
    }
    const char *why = NULL;
    if (!S_ISREG(st.st_mode))
        why = _("it is not a regular file");
    else if (st.st_uid != 0 && st.st_uid != allowed_uid)
        why = _("it is not owned by root or the service user");
    else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        why = _("it is writable by group or others");
    if (why != NULL) {
        g_set_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_UNSAFE_FILE,
                    _("module %s refused: %s: %s. Fix the file (chown root, chmod 644) or "
                      "remove the module from [modules] enabled="),
                    name, path, why);
        return FALSE;
    }
    return TRUE;
}

static PrModule *
module_new(const char *name, const char *path, GModule *gmodule, const PrModuleDesc *desc)
{
    PrModule *module = g_new0(PrModule, 1);
    module->name = g_strdup(name);
    module->path = g_strdup(path);
    module->gmodule = gmodule;
    module->desc = desc;
    return module;
}

PrModule *
loader_open(const char *dir, const char *name, uid_t allowed_uid, GError **error)
{
    if (!valid_name(name)) {
        g_set_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INVALID,
                    _("“%s” is not a valid module name (use a-z, 0-9 and _); fix [modules] "
                      "enabled="),
                    name);
        return NULL;
    }
    g_autofree char *file = g_strconcat(name, ".so", NULL);
    g_autofree char *path = g_build_filename(dir, file, NULL);
    if (!check_file(path, name, allowed_uid, error))
        return NULL;

    /* Not lazy: a module calling a function the SDK lacks fails here, at
     * start-up, not in the middle of a session. Local: modules talk through
     * the host, never through each other's symbols. */
    g_autoptr(GError) local = NULL;
    GModule *gmodule = g_module_open_full(path, G_MODULE_BIND_LOCAL, &local);
    if (gmodule == NULL) {
        g_set_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_OPEN,
                    _("module %s cannot be loaded: %s. Rebuild it against this server's SDK "
                      "or remove it from [modules] enabled="),
                    name, local->message);
        return NULL;
    }
    g_autofree char *symbol = g_strdup_printf("pr_module_%s_get_desc", name);
    PrModuleGetDescFunc get_desc = NULL;
    if (!g_module_symbol(gmodule, symbol, (gpointer *)&get_desc) || get_desc == NULL) {
        g_set_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_NO_DESCRIPTOR,
                    _("%s is not a Postroom module: it does not export %s (declare it with "
                      "PR_MODULE_DEFINE (%s, ...))"),
                    path, symbol, name);
        g_module_close(gmodule);
        return NULL;
    }
    const PrModuleDesc *desc = get_desc();
    if (desc == NULL || !loader_check_desc(desc, name, error)) {
        if (desc == NULL)
            g_set_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_NO_DESCRIPTOR,
                        _("module %s returned no descriptor"), name);
        g_module_close(gmodule);
        return NULL;
    }
    /* Modules register types, closures and hooks: never unload them. */
    g_module_make_resident(gmodule);
    return module_new(name, path, gmodule, desc);
}

PrModule *
loader_wrap(const PrModuleDesc *desc, GError **error)
{
    if (!loader_check_desc(desc, desc->name != NULL ? desc->name : "?", error))
        return NULL;
    return module_new(desc->name, NULL, NULL, desc);
}

void
pr_module_set_data(PrModule *self, gpointer data, GDestroyNotify destroy)
{
    g_return_if_fail(self != NULL);
    gpointer old = self->data;
    GDestroyNotify old_destroy = self->data_destroy;
    self->data = data;
    self->data_destroy = destroy;
    if (old != NULL && old_destroy != NULL)
        old_destroy(old);
}

gpointer
pr_module_get_data(PrModule *self)
{
    g_return_val_if_fail(self != NULL, NULL);
    return self->data;
}

void
loader_module_free(PrModule *module)
{
    if (module == NULL)
        return;
    pr_module_set_data(module, NULL, NULL);
    /* The GModule stays resident on purpose. */
    g_free(module->name);
    g_free(module->path);
    g_free(module);
}

static int
compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *
loader_scan(const char *dir, uid_t allowed_uid, GPtrArray *problems)
{
    GPtrArray *modules = g_ptr_array_new_with_free_func((GDestroyNotify)loader_module_free);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autoptr(GDir) d = g_dir_open(dir, 0, &error);

    if (d == NULL) {
        if (problems != NULL)
            g_ptr_array_add(problems, g_strdup_printf(_("cannot read the module directory %s: "
                                                        "%s"),
                                                      dir, error->message));
        return modules;
    }
    const char *file;
    while ((file = g_dir_read_name(d)) != NULL) {
        if (g_str_has_suffix(file, ".so") && file[0] != '.')
            g_ptr_array_add(names, g_strndup(file, strlen(file) - 3));
    }
    g_ptr_array_sort(names, compare_names);
    for (guint i = 0; i < names->len; i++) {
        g_autoptr(GError) local = NULL;
        PrModule *m = loader_open(dir, names->pdata[i], allowed_uid, &local);
        if (m != NULL)
            g_ptr_array_add(modules, m);
        else if (problems != NULL)
            g_ptr_array_add(problems, g_strdup(local->message));
    }
    return modules;
}

GPtrArray *
loader_schemas(GPtrArray *modules)
{
    GPtrArray *schemas = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < modules->len; i++) {
        PrModule *m = modules->pdata[i];
        ConfigSchema *schema = g_new0(ConfigSchema, 1);
        schema->owner = m->name;
        schema->owner_group = m->name;
        schema->specs = m->desc->settings;
        schema->services = m->desc->services;
        g_ptr_array_add(schemas, schema);
    }
    return schemas;
}

GPtrArray *
loader_open_enabled(Config *config, GPtrArray *available, uid_t allowed_uid, GError **error)
{
    const char *dir = config_get_string(config, "server", "module_dir");
    g_auto(GStrv) names = config_get_strv(config, "modules", "enabled");
    g_autoptr(GPtrArray) chosen = g_ptr_array_new();

    for (int i = 0; names[i] != NULL; i++) {
        PrModule *found = NULL;
        for (guint m = 0; m < available->len && found == NULL; m++) {
            PrModule *candidate = available->pdata[m];
            if (strcmp(candidate->name, names[i]) == 0)
                found = candidate;
        }
        if (found == NULL) {
            found = loader_open(dir, names[i], allowed_uid, error);
            if (found == NULL)
                return NULL;
            g_ptr_array_add(available, found);
        }
        if (!g_ptr_array_find(chosen, found, NULL))
            g_ptr_array_add(chosen, found);
    }
    return loader_sort(chosen, error);
}

/* Depth-first topological sort; "visiting" marks the current path so a
 * cycle can be reported with every module on it. */
typedef struct {
    GHashTable *by_name;
    GHashTable *mark; /* name -> 1 visiting, 2 done */
    GPtrArray *path;
    GPtrArray *out;
} SortState;

static gboolean
visit(SortState *st, PrModule *m, GError **error)
{
    int mark = GPOINTER_TO_INT(g_hash_table_lookup(st->mark, m->name));
    if (mark == 2)
        return TRUE;
    if (mark == 1) {
        g_autoptr(GString) cycle = g_string_new(NULL);
        gboolean on = FALSE;
        for (guint i = 0; i < st->path->len; i++) {
            PrModule *p = st->path->pdata[i];
            on = on || p == m;
            if (on)
                g_string_append_printf(cycle, "%s -> ", p->name);
        }
        g_string_append(cycle, m->name);
        g_set_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_CYCLE,
                    _("modules require each other in a cycle (%s); remove one of them from "
                      "[modules] enabled="),
                    cycle->str);
        return FALSE;
    }
    g_hash_table_insert(st->mark, m->name, GINT_TO_POINTER(1));
    g_ptr_array_add(st->path, m);
    for (int i = 0; m->desc->requires != NULL && m->desc->requires[i] != NULL; i++) {
        const char *dep = m->desc->requires[i];
        PrModule *d = g_hash_table_lookup(st->by_name, dep);
        if (d == NULL) {
            g_set_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_DEPENDENCY,
                        _("module %s requires module %s; add %s to [modules] enabled="), m->name,
                        dep, dep);
            return FALSE;
        }
        if (!visit(st, d, error))
            return FALSE;
    }
    g_ptr_array_remove_index(st->path, st->path->len - 1);
    g_hash_table_insert(st->mark, m->name, GINT_TO_POINTER(2));
    g_ptr_array_add(st->out, m);
    return TRUE;
}

GPtrArray *
loader_sort(GPtrArray *modules, GError **error)
{
    g_autoptr(GHashTable) by_name = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) mark = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GPtrArray) path = g_ptr_array_new();
    g_autoptr(GPtrArray) out = g_ptr_array_new();
    SortState st = { by_name, mark, path, out };

    for (guint i = 0; i < modules->len; i++) {
        PrModule *m = modules->pdata[i];
        g_hash_table_insert(by_name, m->name, m);
    }
    for (guint i = 0; i < modules->len; i++) {
        if (!visit(&st, modules->pdata[i], error))
            return NULL;
    }
    return g_steal_pointer(&out);
}

gboolean
loader_init_all(GPtrArray *sorted, PrHost *host, GError **error)
{
    for (guint i = 0; i < sorted->len; i++) {
        PrModule *m = sorted->pdata[i];
        g_autoptr(GError) local = NULL;
        m->host = host;
        if (!m->desc->init(m, host, &local)) {
            g_set_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INIT,
                        _("module %s failed to start: %s"), m->name,
                        local != NULL ? local->message : _("no reason given"));
            host_forget_module(host, m);
            pr_module_set_data(m, NULL, NULL);
            m->host = NULL;
            /* Roll back what started, newest first. */
            for (guint j = i; j > 0; j--) {
                PrModule *done = sorted->pdata[j - 1];
                if (done->desc->deinit != NULL)
                    done->desc->deinit(done, host);
                host_forget_module(host, done);
                pr_module_set_data(done, NULL, NULL);
                done->initialised = FALSE;
                g_ptr_array_remove(host->modules, done);
            }
            return FALSE;
        }
        m->initialised = TRUE;
        g_ptr_array_add(host->modules, m);
    }
    return TRUE;
}

void
loader_deinit_all(GPtrArray *sorted, PrHost *host)
{
    for (guint i = sorted->len; i > 0; i--) {
        PrModule *m = sorted->pdata[i - 1];
        if (!m->initialised)
            continue;
        if (m->desc->deinit != NULL)
            m->desc->deinit(m, host);
        host_forget_module(host, m);
        pr_module_set_data(m, NULL, NULL);
        m->initialised = FALSE;
    }
    g_ptr_array_set_size(host->modules, 0);
}
