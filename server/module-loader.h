/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Finding, checking, ordering, initialising and finalising modules. */

#include <postroom/pr-module.h>
#include "config.h"

#define PR_MODULE_ERROR (pr_module_error_quark())
GQuark pr_module_error_quark(void);

typedef enum {
    PR_MODULE_ERROR_NOT_FOUND,     /* no <name>.so in the module directory */
    PR_MODULE_ERROR_UNSAFE_FILE,   /* not regular, wrong owner, group/other-writable */
    PR_MODULE_ERROR_OPEN,          /* dlopen failed (missing symbol, bad ELF) */
    PR_MODULE_ERROR_NO_DESCRIPTOR, /* no pr_module_<name>_get_desc */
    PR_MODULE_ERROR_ABI,           /* ABI major differs or minor is newer */
    PR_MODULE_ERROR_INVALID,       /* descriptor fields missing or wrong */
    PR_MODULE_ERROR_DEPENDENCY,    /* a required module is not enabled */
    PR_MODULE_ERROR_CYCLE,         /* modules require each other */
    PR_MODULE_ERROR_INIT,          /* a module's init failed */
} PrModuleErrorCode;

struct _PrModule {
    char *name;
    char *path;
    GModule *gmodule; /* NULL for built-in descriptors (tests) */
    const PrModuleDesc *desc;
    PrHost *host;  /* set once initialised */
    gpointer data; /* pr_module_set_data() */
    GDestroyNotify data_destroy;
    gboolean initialised;
};

/* Opens @dir/@name.so after the file checks and validates its descriptor.
 * @allowed_uid is the service user's uid (root is always allowed). */
PrModule *loader_open(const char *dir, const char *name, uid_t allowed_uid, GError **error);
/* Wraps a descriptor that is linked in (tests); same validation. */
PrModule *loader_wrap(const PrModuleDesc *desc, GError **error);
void loader_module_free(PrModule *module);

/* Validates a descriptor against this host's ABI. */
gboolean loader_check_desc(const PrModuleDesc *desc, const char *expected_name, GError **error);

/* Opens every readable <name>.so in @dir that passes the checks, for
 * `postroomctl modules` and for validating settings of disabled modules.
 * Files that fail are reported in @problems (char*), not fatal. */
GPtrArray *loader_scan(const char *dir, uid_t allowed_uid, GPtrArray *problems);

/* The settings schemas (ConfigSchema*, owned by the array) of @modules;
 * they point into the modules' descriptors. */
GPtrArray *loader_schemas(GPtrArray *modules);

/* The modules named in [modules] enabled=, in dependency order, taken from
 * @available (a loader_scan() result) or opened again to report why one was
 * refused. The array borrows the modules; any opened here are appended to
 * @available, which owns them. */
GPtrArray *loader_open_enabled(Config *config, GPtrArray *available, uid_t allowed_uid,
                               GError **error);

/* Orders @modules (PrModule*) so that each follows what it requires. */
GPtrArray *loader_sort(GPtrArray *modules, GError **error);

/* Calls init in order; on failure calls deinit of those already done in
 * reverse order and returns FALSE. */
gboolean loader_init_all(GPtrArray *sorted, PrHost *host, GError **error);
void loader_deinit_all(GPtrArray *sorted, PrHost *host);
