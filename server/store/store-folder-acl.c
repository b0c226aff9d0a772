/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "store-folder-acl.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "store-folders.h"
#include "store-queries.h"

/* Rights live in folder_acl as canonical strings, one row per folder and
 * identifier (a user's name in lower case, or "anyone"); the owner has no
 * row and every right. A user's rights on another user's folder are the
 * union of their row and anyone's. */

#define SHARED_PREFIX_LEN (sizeof(PR_FOLDER_SHARED_PREFIX) - 1)

void
store_folder_ref_clear(StoreFolderRef *ref)
{
    g_clear_pointer(&ref->owner, g_free);
    g_clear_pointer(&ref->folder, g_free);
}

/* User names are stored in lower case (store-ops.c). */
static char *
user_key(const char *user)
{
    return g_utf8_validate(user, -1, NULL) ? g_utf8_strdown(user, -1) : g_strdup(user);
}

/* ---- rights as text ---- */

void
store_rights_canonical(const char *rights, char out[STORE_RIGHTS_SIZE])
{
    gsize n = 0;

    for (const char *r = PR_FOLDER_RIGHTS_ALL; *r != '\0'; r++) {
        if (rights != NULL && strchr(rights, *r) != NULL)
            out[n++] = *r;
    }
    out[n] = '\0';
}

gboolean
store_rights_have(const char *rights, const char *need)
{
    for (const char *n = need != NULL ? need : ""; *n != '\0'; n++) {
        if (rights == NULL || strchr(rights, *n) == NULL)
            return FALSE;
    }
    return TRUE;
}

gboolean
store_rights_modify(const char *current, const char *spec, char out[STORE_RIGHTS_SIZE],
                    GError **error)
{
    GString *letters = g_string_new(NULL);
    char mode = '=';

    if (*spec == '+' || *spec == '-')
        mode = *spec++;
    for (const char *p = spec; *p != '\0'; p++) {
        if (*p == 'c') {
            g_string_append_c(letters, 'k');
        } else if (*p == 'd') {
            g_string_append(letters, "xte");
        } else if (strchr(PR_FOLDER_RIGHTS_ALL, *p) != NULL) {
            g_string_append_c(letters, *p);
        } else {
            if (g_ascii_isprint(*p))
                g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                            _("Unknown right “%c”: rights are letters of “%s”."), *p,
                            PR_FOLDER_RIGHTS_ALL);
            else
                g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                            _("Rights are letters of “%s”."), PR_FOLDER_RIGHTS_ALL);
            g_string_free(letters, TRUE);
            return FALSE;
        }
    }
    char given[STORE_RIGHTS_SIZE];
    store_rights_canonical(letters->str, given);
    g_string_free(letters, TRUE);
    if (mode == '=') {
        memcpy(out, given, STORE_RIGHTS_SIZE);
        return TRUE;
    }
    gsize n = 0;
    for (const char *r = PR_FOLDER_RIGHTS_ALL; *r != '\0'; r++) {
        gboolean had = current != NULL && strchr(current, *r) != NULL;
        gboolean named = strchr(given, *r) != NULL;
        if (mode == '+' ? (had || named) : (had && !named))
            out[n++] = *r;
    }
    out[n] = '\0';
    return TRUE;
}

/* The right a flag needs (RFC 4314 §4). */
static char
flag_right(const char *flag)
{
    if (g_ascii_strcasecmp(flag, "\\Seen") == 0)
        return 's';
    if (g_ascii_strcasecmp(flag, "\\Deleted") == 0)
        return 't';
    return 'w';
}

static gboolean
flag_listed(GPtrArray *list, const char *flag)
{
    for (guint i = 0; i < list->len; i++) {
        if (g_ascii_strcasecmp(list->pdata[i], flag) == 0)
            return TRUE;
    }
    return FALSE;
}

char *
store_rights_restrict_flags(const char *current, const char *wanted, const char *rights)
{
    if (store_rights_have(rights, "swt"))
        return g_strdup(wanted != NULL ? wanted : "");

    g_auto(GStrv) want = g_strsplit(wanted != NULL ? wanted : "", " ", -1);
    g_auto(GStrv) now = g_strsplit(current != NULL ? current : "", " ", -1);
    g_autoptr(GPtrArray) out = g_ptr_array_new();

    for (int i = 0; want[i] != NULL; i++) {
        char right[2] = { flag_right(want[i]), '\0' };
        if (*want[i] != '\0' && store_rights_have(rights, right) && !flag_listed(out, want[i]))
            g_ptr_array_add(out, want[i]);
    }
    /* What the user may not change stays as it was. */
    for (int i = 0; now[i] != NULL; i++) {
        char right[2] = { flag_right(now[i]), '\0' };
        if (*now[i] != '\0' && !store_rights_have(rights, right) && !flag_listed(out, now[i]))
            g_ptr_array_add(out, now[i]);
    }
    g_ptr_array_add(out, NULL);
    return g_strjoinv(" ", (char **)out->pdata);
}

/* ---- resolving names ---- */

static void
no_folder(const char *name, GError **error)
{
    g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND, _("There is no folder “%s”."),
                name);
}

static void
no_right(const char *name, char right, GError **error)
{
    g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_PERMISSION,
                _("You do not have the “%c” right on the folder “%s”."), right, name);
}

/* Splits @name into owner and folder. FALSE (NOT_FOUND) for "#users/x"
 * without a folder. */
static gboolean
parse_name(const char *actor, const char *name, StoreFolderRef *ref, GError **error)
{
    memset(ref, 0, sizeof(*ref));
    if (g_ascii_strncasecmp(name, PR_FOLDER_SHARED_PREFIX, SHARED_PREFIX_LEN) != 0) {
        ref->owner = user_key(actor);
        ref->folder = store_folder_canonical(name);
        memcpy(ref->rights, PR_FOLDER_RIGHTS_ALL, STORE_RIGHTS_SIZE);
        return TRUE;
    }
    const char *rest = name + SHARED_PREFIX_LEN;
    const char *slash = strchr(rest, PR_FOLDER_SEPARATOR);
    if (slash == NULL || slash == rest || slash[1] == '\0') {
        no_folder(name, error);
        return FALSE;
    }
    g_autofree char *owner = g_strndup(rest, slash - rest);
    g_autofree char *me = user_key(actor);
    ref->owner = user_key(owner);
    ref->folder = store_folder_canonical(slash + 1);
    ref->shared = strcmp(ref->owner, me) != 0;
    if (!ref->shared)
        memcpy(ref->rights, PR_FOLDER_RIGHTS_ALL, STORE_RIGHTS_SIZE);
    return TRUE;
}

/* Looks up @owner's @folder: FALSE on a database error; *folder_id 0 when
 * there is no such folder, *owner_id 0 when there is no such user. */
static gboolean
find_folder(StoreConn *c, const char *owner, const char *folder, gint64 *owner_id,
            gint64 *folder_id, GError **error)
{
    g_autoptr(GdaDataModel) m =
        store_conn_select(c, Q_ACL_FOLDER, error, "folder", folder, "name", owner, NULL);
    if (m == NULL)
        return FALSE;
    *owner_id = gda_data_model_get_n_rows(m) == 1 ? store_model_int64(m, 0, 0) : 0;
    *folder_id = gda_data_model_get_n_rows(m) == 1 ? store_model_int64(m, 1, 0) : 0;
    return TRUE;
}

/* @actor's rights on folder @folder_id of another user. */
static gboolean
read_rights(StoreConn *c, gint64 folder_id, const char *actor, char out[STORE_RIGHTS_SIZE],
            GError **error)
{
    g_autofree char *me = user_key(actor);
    g_autoptr(GdaDataModel) m =
        store_conn_select(c, Q_ACL_RIGHTS, error, "id", folder_id, "who", me, NULL);
    if (m == NULL)
        return FALSE;
    GString *all = g_string_new(NULL);
    for (int r = 0; r < gda_data_model_get_n_rows(m); r++) {
        g_autofree char *rights = store_model_string(m, 0, r);
        if (rights != NULL)
            g_string_append(all, rights);
    }
    store_rights_canonical(all->str, out);
    g_string_free(all, TRUE);
    return TRUE;
}

gboolean
store_folder_ref_lookup(StoreConn *c, StoreFolderRef *ref, const char *name, GError **error)
{
    if (ref->folder_id != 0)
        return TRUE;
    if (!find_folder(c, ref->owner, ref->folder, &ref->owner_id, &ref->folder_id, error))
        return FALSE;
    if (ref->folder_id == 0) {
        no_folder(name, error);
        return FALSE;
    }
    return TRUE;
}

gboolean
store_folder_resolve(StoreConn *c, const char *actor, const char *name, const char *need,
                     StoreFolderRef *ref, GError **error)
{
    if (!parse_name(actor, name, ref, error))
        goto fail;
    if (!ref->shared)
        return TRUE;
    if (!store_folder_ref_lookup(c, ref, name, error) ||
        !read_rights(c, ref->folder_id, actor, ref->rights, error))
        goto fail;
    /* Not even its existence is told to a user who may not look it up. */
    if (strchr(ref->rights, 'l') == NULL && strchr(ref->rights, 'r') == NULL) {
        no_folder(name, error);
        goto fail;
    }
    for (const char *n = need != NULL ? need : ""; *n != '\0'; n++) {
        if (strchr(ref->rights, *n) == NULL) {
            no_right(name, *n, error);
            goto fail;
        }
    }
    return TRUE;

fail:
    store_folder_ref_clear(ref);
    return FALSE;
}

gboolean
store_folder_resolve_create(StoreConn *c, const char *actor, const char *name, StoreFolderRef *ref,
                            GError **error)
{
    g_autofree char *path = NULL;
    gint64 parent_id = 0;

    if (!parse_name(actor, name, ref, error))
        goto fail;
    if (!ref->shared)
        return TRUE;
    path = g_strdup(ref->folder);
    if (!find_folder(c, ref->owner, ref->folder, &ref->owner_id, &ref->folder_id, error))
        goto fail;
    if (ref->owner_id == 0) {
        no_folder(name, error);
        goto fail;
    }
    /* The nearest folder above that exists holds the "k" right. */
    for (char *slash = strrchr(path, PR_FOLDER_SEPARATOR); slash != NULL && parent_id == 0;
         slash = strrchr(path, PR_FOLDER_SEPARATOR)) {
        gint64 owner_id;
        *slash = '\0';
        if (!find_folder(c, ref->owner, path, &owner_id, &parent_id, error))
            goto fail;
    }
    if (parent_id == 0) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_PERMISSION,
                    _("Only %s can create folders at the top of “%s%s”."), ref->owner,
                    PR_FOLDER_SHARED_PREFIX, ref->owner);
        goto fail;
    }
    if (!read_rights(c, parent_id, actor, ref->rights, error))
        goto fail;
    if (strchr(ref->rights, 'k') == NULL) {
        g_autofree char *shown = g_strconcat(PR_FOLDER_SHARED_PREFIX, ref->owner, "/", path, NULL);
        no_right(shown, 'k', error);
        goto fail;
    }
    return TRUE;

fail:
    store_folder_ref_clear(ref);
    return FALSE;
}

/* ---- listing, subscriptions ---- */

typedef struct {
    gint64 id;
    char *owner;
    PrFolderInfo *info;
    char *folder;
    GString *rights;
} SharedRow;

static void
shared_row_free(gpointer p)
{
    SharedRow *row = p;
    g_free(row->owner);
    g_free(row->folder);
    g_string_free(row->rights, TRUE);
    pr_folder_info_free(row->info);
    g_free(row);
}

static int
compare_shared(gconstpointer a, gconstpointer b)
{
    const SharedRow *x = *(SharedRow *const *)a, *y = *(SharedRow *const *)b;
    int by_owner = strcmp(x->owner, y->owner);
    return by_owner != 0 ? by_owner : strcmp(x->folder, y->folder);
}

gboolean
store_folder_list_shared(StoreConn *c, const char *actor, GPtrArray *list, GError **error)
{
    g_autofree char *me = user_key(actor);
    g_autoptr(GdaDataModel) m = store_conn_select(c, Q_ACL_SHARED, error, "name", me, NULL);
    if (m == NULL)
        return FALSE;
    g_autoptr(GHashTable) by_id = g_hash_table_new(g_int64_hash, g_int64_equal);
    g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func(shared_row_free);
    for (int r = 0; r < gda_data_model_get_n_rows(m); r++) {
        gint64 id = store_model_int64(m, 0, r);
        g_autofree char *rights = store_model_string(m, 4, r);
        SharedRow *row = g_hash_table_lookup(by_id, &id);
        if (row == NULL) {
            row = g_new0(SharedRow, 1);
            row->id = id;
            row->owner = store_model_string(m, 1, r);
            row->folder = store_model_string(m, 2, r);
            row->rights = g_string_new(NULL);
            row->info = g_new0(PrFolderInfo, 1);
            /* No special use: bob's client must not take alice's Trash
             * for its own (RFC 6154 attributes are the user's). */
            row->info->subscribed = store_model_int64(m, 5, r) > 0;
            g_ptr_array_add(rows, row);
            g_hash_table_insert(by_id, &row->id, row);
        }
        if (rights != NULL)
            g_string_append(row->rights, rights);
    }
    g_ptr_array_sort(rows, compare_shared);
    for (guint i = 0; i < rows->len; i++) {
        SharedRow *row = rows->pdata[i];
        char rights[STORE_RIGHTS_SIZE];
        store_rights_canonical(row->rights->str, rights);
        if (strchr(rights, 'l') == NULL)
            continue;
        PrFolderInfo *info = g_steal_pointer(&row->info);
        info->name = g_strconcat(PR_FOLDER_SHARED_PREFIX, row->owner, "/", row->folder, NULL);
        info->rights = g_strdup(rights);
        g_ptr_array_add(list, info);
    }
    return TRUE;
}

gboolean
store_folder_subscribe_shared(StoreConn *c, const char *actor, const StoreFolderRef *ref,
                              gboolean subscribed, GError **error)
{
    g_autofree char *me = user_key(actor);
    return store_conn_exec(c, subscribed ? Q_ACL_SUBSCRIBE : Q_ACL_UNSUBSCRIBE, error, "id",
                           ref->folder_id, "name", me, NULL) >= 0;
}

gboolean
store_folder_acl_inherit(StoreConn *c, gint64 user_id, const char *folder, GError **error)
{
    return store_conn_exec(c, Q_ACL_INHERIT, error, "user_id", user_id, "folder", folder, NULL) >=
           0;
}

gboolean
store_folder_acl_forget_user(StoreConn *c, const char *name, GError **error)
{
    g_autofree char *lname = user_key(name);
    return store_conn_exec(c, Q_ACL_FORGET_USER, error, "name", lname, NULL) >= 0;
}

/* ---- the ACL operations ---- */

char *
store_folder_rights(StoreConn *c, const char *actor, const char *name, GError **error)
{
    g_auto(StoreFolderRef) ref = { 0 };

    if (!store_folder_resolve(c, actor, name, NULL, &ref, error))
        return NULL;
    /* The owner's folder must exist too. */
    if (!ref.shared && !store_folder_ref_lookup(c, &ref, name, error))
        return NULL;
    return g_strdup(ref.rights);
}

static PrFolderAclEntry *
acl_entry_new(const char *identifier, const char *rights)
{
    PrFolderAclEntry *e = g_new0(PrFolderAclEntry, 1);
    e->identifier = g_strdup(identifier);
    e->rights = g_strdup(rights);
    return e;
}

static int
compare_entries(gconstpointer a, gconstpointer b)
{
    const PrFolderAclEntry *x = *(PrFolderAclEntry *const *)a;
    const PrFolderAclEntry *y = *(PrFolderAclEntry *const *)b;
    return strcmp(x->identifier, y->identifier);
}

GPtrArray *
store_folder_get_acl(StoreConn *c, const char *actor, const char *name, GError **error)
{
    g_auto(StoreFolderRef) ref = { 0 };

    if (!store_folder_resolve(c, actor, name, "a", &ref, error) ||
        !store_folder_ref_lookup(c, &ref, name, error))
        return NULL;
    g_autoptr(GdaDataModel) m =
        store_conn_select(c, Q_ACL_ENTRIES, error, "id", ref.folder_id, NULL);
    if (m == NULL)
        return NULL;
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)pr_folder_acl_entry_free);
    for (int r = 0; r < gda_data_model_get_n_rows(m); r++) {
        g_autofree char *who = store_model_string(m, 0, r);
        g_autofree char *rights = store_model_string(m, 1, r);
        char canonical[STORE_RIGHTS_SIZE];
        store_rights_canonical(rights, canonical);
        if (who != NULL && strcmp(who, ref.owner) != 0)
            g_ptr_array_add(out, acl_entry_new(who, canonical));
    }
    g_ptr_array_sort(out, compare_entries);
    g_ptr_array_insert(out, 0, acl_entry_new(ref.owner, PR_FOLDER_RIGHTS_ALL));
    return out;
}

gboolean
store_folder_set_acl(StoreConn *c, const char *actor, const char *name, const char *identifier,
                     const char *rights, GError **error)
{
    g_auto(StoreFolderRef) ref = { 0 };
    g_autofree char *who = user_key(identifier);

    if (!store_folder_resolve(c, actor, name, "a", &ref, error) ||
        !store_folder_ref_lookup(c, &ref, name, error))
        return FALSE;
    if (strcmp(who, ref.owner) == 0) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                    _("The rights of %s, the owner of “%s”, cannot be changed."), ref.owner, name);
        return FALSE;
    }
    if (strcmp(who, PR_FOLDER_ACL_ANYONE) != 0) {
        g_autoptr(GdaDataModel) u = store_conn_select(c, Q_USER_ID, error, "name", who, NULL);
        if (u == NULL)
            return FALSE;
        if (gda_data_model_get_n_rows(u) != 1) {
            g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED, _("There is no user “%s”."),
                        identifier);
            return FALSE;
        }
    }
    char now[STORE_RIGHTS_SIZE] = "";
    if (rights != NULL) {
        g_autoptr(GdaDataModel) m =
            store_conn_select(c, Q_ACL_ENTRIES, error, "id", ref.folder_id, NULL);
        if (m == NULL)
            return FALSE;
        g_autofree char *current = NULL;
        for (int r = 0; r < gda_data_model_get_n_rows(m) && current == NULL; r++) {
            g_autofree char *id = store_model_string(m, 0, r);
            if (g_strcmp0(id, who) == 0)
                current = store_model_string(m, 1, r);
        }
        if (!store_rights_modify(current, rights, now, error))
            return FALSE;
    }
    if (*now == '\0')
        return store_conn_exec(c, Q_ACL_DELETE, error, "id", ref.folder_id, "who", who, NULL) >= 0;
    return store_conn_exec(c, Q_ACL_SET, error, "id", ref.folder_id, "who", who, "rights", now,
                           NULL) >= 0;
}
