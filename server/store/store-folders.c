/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "store-folders.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "store-folder-acl.h"
#include "store-queries.h"
#include "store-quota.h"
#include "unix-time.h"

#define INBOX "INBOX"

/* User names are stored in lower case (store-ops.c). */
static char *
user_key(const char *user)
{
    return g_utf8_validate(user, -1, NULL) ? g_utf8_strdown(user, -1) : g_strdup(user);
}

/* ---- names and flags ---- */

static gboolean
is_inbox_level(const char *name, gsize len)
{
    return len == strlen(INBOX) && g_ascii_strncasecmp(name, INBOX, len) == 0;
}

char *
store_folder_canonical(const char *name)
{
    const char *slash = strchr(name, PR_FOLDER_SEPARATOR);
    gsize first = slash != NULL ? (gsize)(slash - name) : strlen(name);

    if (!is_inbox_level(name, first))
        return g_strdup(name);
    return g_strconcat(INBOX, name + first, NULL);
}

gboolean
store_folder_name_check(const char *name, GError **error)
{
    gsize len = strlen(name);
    const char *why = NULL;

    if (len == 0 || len > STORE_FOLDER_NAME_MAX)
        why = _("A folder name is 1 to 255 bytes long.");
    else if (!g_utf8_validate(name, len, NULL))
        why = _("A folder name must be UTF-8 text.");
    else if (name[0] == PR_FOLDER_SEPARATOR || name[len - 1] == PR_FOLDER_SEPARATOR ||
             strstr(name, "//") != NULL)
        why = _("A folder name cannot have an empty level.");
    else if (is_inbox_level(name, len))
        why = _("INBOX always exists.");
    for (gsize i = 0; why == NULL && i < len; i++) {
        guchar ch = (guchar)name[i];
        /* "*" and "%" are LIST's wildcards: such a folder could not be
         * listed on its own. */
        if (ch < 0x20 || ch == 0x7f || ch == '*' || ch == '%')
            why = _("A folder name cannot contain control characters, “*” or “%”.");
    }
    if (why != NULL) {
        g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED, why);
        return FALSE;
    }
    return TRUE;
}

char *
store_folder_flags_normalise(const char *flags)
{
    static const char *const system[] = { "\\Seen", "\\Answered", "\\Flagged", "\\Deleted",
                                          "\\Draft" };
    g_auto(GStrv) tokens = g_strsplit_set(flags != NULL ? flags : "", " \t", -1);
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GString *out = g_string_new(NULL);

    for (int i = 0; tokens[i] != NULL; i++) {
        const char *flag = tokens[i];
        if (*flag == '\0' || g_ascii_strcasecmp(flag, "\\Recent") == 0)
            continue;
        for (guint s = 0; s < G_N_ELEMENTS(system); s++) {
            if (g_ascii_strcasecmp(flag, system[s]) == 0)
                flag = system[s];
        }
        char *key = g_ascii_strdown(flag, -1);
        if (!g_hash_table_add(seen, key))
            continue;
        if (out->len > 0)
            g_string_append_c(out, ' ');
        g_string_append(out, flag);
    }
    return g_string_free(out, FALSE);
}

/* ---- listing ---- */

typedef struct {
    PrFolderInfo *info;
    gint64 id;
} ListRow;

static int
compare_rows(gconstpointer a, gconstpointer b)
{
    return strcmp(((const ListRow *)a)->info->name, ((const ListRow *)b)->info->name);
}

/* Sorted here, not by ORDER BY: the providers' collations differ. The
 * folders' ids go to @ids (if not NULL) in the same order. */
static GPtrArray *
list_folders(StoreConn *c, const char *lname, GArray *ids, GError **error)
{
    g_autoptr(GdaDataModel) m = store_conn_select(c, Q_FOLDERS_ALL, error, "name", lname, NULL);
    if (m == NULL)
        return NULL;
    int n = gda_data_model_get_n_rows(m);
    g_autoptr(GArray) rows = g_array_sized_new(FALSE, FALSE, sizeof(ListRow), n);
    for (int r = 0; r < n; r++) {
        ListRow row = { g_new0(PrFolderInfo, 1), store_model_int64(m, 0, r) };
        row.info->name = store_model_string(m, 1, r);
        row.info->special_use = store_model_string(m, 2, r);
        row.info->subscribed = store_model_bool(m, 3, r);
        g_array_append_val(rows, row);
    }
    g_array_sort(rows, compare_rows);
    GPtrArray *list = g_ptr_array_new_full(n, (GDestroyNotify)pr_folder_info_free);
    for (guint i = 0; i < rows->len; i++) {
        ListRow *row = &g_array_index(rows, ListRow, i);
        g_ptr_array_add(list, row->info);
        if (ids != NULL)
            g_array_append_val(ids, row->id);
    }
    return list;
}

static void
no_user(const char *lname, GError **error)
{
    g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND, _("The user “%s” does not exist."),
                lname);
}

static void
no_folder(const char *name, GError **error)
{
    g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND, _("There is no folder “%s”."),
                name);
}

GPtrArray *
store_folder_list(StoreConn *c, const char *user, GError **error)
{
    g_autofree char *lname = user_key(user);
    g_autoptr(GdaDataModel) u = store_conn_select(c, Q_USER_ID, error, "name", lname, NULL);

    if (u == NULL)
        return NULL;
    if (gda_data_model_get_n_rows(u) != 1) {
        no_user(lname, error);
        return NULL;
    }
    GPtrArray *list = list_folders(c, lname, NULL, error);
    if (list == NULL)
        return NULL;
    for (guint i = 0; i < list->len; i++)
        ((PrFolderInfo *)list->pdata[i])->rights = g_strdup(PR_FOLDER_RIGHTS_ALL);
    /* Then the folders other users share with this one. */
    if (!store_folder_list_shared(c, lname, list, error))
        g_clear_pointer(&list, g_ptr_array_unref);
    return list;
}

/* ---- creating ---- */

/* Locks @lname's row and reads what new folders need: the user's id and
 * the next UIDVALIDITY (now, but above every value the user ever had). */
static gboolean
user_begin_create(StoreConn *c, const char *lname, gint64 *user_id, gint64 *next_uidvalidity,
                  GError **error)
{
    gint rows = store_conn_exec(c, Q_FOLDERS_USER_LOCK, error, "name", lname, NULL);
    if (rows < 0)
        return FALSE;
    g_autoptr(GdaDataModel) m =
        store_conn_select(c, Q_FOLDERS_USER_STATE, error, "name", lname, NULL);
    if (m == NULL)
        return FALSE;
    if (rows == 0 || gda_data_model_get_n_rows(m) != 1) {
        no_user(lname, error);
        return FALSE;
    }
    *user_id = store_model_int64(m, 0, 0);
    gint64 v = unix_now();
    v = MAX(v, store_model_int64(m, 1, 0) + 1);
    v = MAX(v, store_model_int64(m, 2, 0) + 1);
    *next_uidvalidity = v;
    return TRUE;
}

/* Folders whose name is @parent's plus one level point to @parent again
 * (after it was deleted and is made anew). */
static gboolean
relink_children(StoreConn *c, const char *lname, const char *parent, GError **error)
{
    g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(gint64));
    g_autoptr(GPtrArray) all = list_folders(c, lname, ids, error);
    gsize plen = strlen(parent);

    if (all == NULL)
        return FALSE;
    for (guint i = 0; i < all->len; i++) {
        const char *n = ((PrFolderInfo *)all->pdata[i])->name;
        if (strncmp(n, parent, plen) != 0 || n[plen] != PR_FOLDER_SEPARATOR ||
            strchr(n + plen + 1, PR_FOLDER_SEPARATOR) != NULL)
            continue;
        if (store_conn_exec(c, Q_FOLDERS_SET_PARENT, error, "parent", parent, "id",
                            g_array_index(ids, gint64, i), NULL) < 0)
            return FALSE;
    }
    return TRUE;
}

/* Creates @name and its missing parents, records the last UIDVALIDITY
 * given. Returns 1 when @name was created, 0 when it existed, -1. */
static int
create_path(StoreConn *c, const char *lname, gint64 user_id, const char *name,
            gint64 *next_uidvalidity, GError **error)
{
    gint created = 0;
    gint64 first = *next_uidvalidity;

    for (const char *p = name;; p++) {
        if (*p != PR_FOLDER_SEPARATOR && *p != '\0')
            continue;
        g_autofree char *path = g_strndup(name, p - name);
        const char *last = strrchr(path, PR_FOLDER_SEPARATOR);
        g_autofree char *parent = last != NULL ? g_strndup(path, last - path) : g_strdup("");
        created = store_conn_exec(c, Q_FOLDERS_ADD, error, "user_id", user_id, "folder", path,
                                  "parent", parent, "uidvalidity", *next_uidvalidity, NULL);
        if (created < 0)
            return -1;
        if (created > 0) {
            (*next_uidvalidity)++;
            if (!relink_children(c, lname, path, error) ||
                !store_folder_acl_inherit(c, user_id, path, error))
                return -1;
        }
        if (*p == '\0')
            break;
    }
    if (*next_uidvalidity != first &&
        store_conn_exec(c, Q_FOLDERS_USER_SET_UIDVALIDITY, error, "uidvalidity",
                        *next_uidvalidity - 1, "id", user_id, NULL) < 0)
        return -1;
    return created > 0 ? 1 : 0;
}

gboolean
store_folder_create(StoreConn *c, const char *user, const char *name, GError **error)
{
    g_auto(StoreFolderRef) ref = { 0 };
    gint64 user_id, next;

    /* Another user's folder needs "k" on its parent. */
    if (!store_folder_resolve_create(c, user, name, &ref, error))
        return FALSE;
    const char *lname = ref.owner, *folder = ref.folder;
    if (!store_folder_name_check(folder, error))
        return FALSE;
    if (!store_begin(c, error))
        return FALSE;
    if (!user_begin_create(c, lname, &user_id, &next, error))
        goto fail;
    int created = create_path(c, lname, user_id, folder, &next, error);
    if (created < 0)
        goto fail;
    if (created == 0) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS, _("The folder “%s” exists."),
                    folder);
        goto fail;
    }
    return store_commit(c, error);

fail:
    store_rollback(c);
    return FALSE;
}

/* ---- deleting ---- */

typedef struct {
    gint64 id;
    guint32 uidvalidity;
    gint64 uidnext;
    gint64 highestmodseq;
    char *special_use;
    gint64 user_id;
} FolderRow;

static void
folder_row_clear(FolderRow *f)
{
    g_clear_pointer(&f->special_use, g_free);
}

/* Locks @folder's row (the first write of a transaction) and reads it. */
static gboolean
lock_folder(StoreConn *c, const char *lname, const char *folder, FolderRow *out, GError **error)
{
    gint rows = store_conn_exec(c, Q_FOLDER_LOCK_SERIAL_BY_NAME, error, "folder", folder, "name",
                                lname, NULL);
    if (rows < 0)
        return FALSE;
    g_autoptr(GdaDataModel) m =
        store_conn_select(c, Q_FOLDERS_GET, error, "name", lname, "folder", folder, NULL);
    if (m == NULL)
        return FALSE;
    if (rows == 0 || gda_data_model_get_n_rows(m) != 1) {
        no_folder(folder, error);
        return FALSE;
    }
    out->id = store_model_int64(m, 0, 0);
    out->uidvalidity = (guint32)store_model_int64(m, 1, 0);
    out->uidnext = store_model_int64(m, 2, 0);
    out->highestmodseq = store_model_int64(m, 3, 0);
    out->special_use = store_model_string(m, 4, 0);
    out->user_id = store_model_int64(m, 5, 0);
    return TRUE;
}

/* POP3 holds its folder exclusively: IMAP may not pull it away. */
static gboolean
check_not_locked(StoreConn *c, gint64 folder_id, const char *folder, GError **error)
{
    g_autoptr(GdaDataModel) m = store_conn_select(c, Q_FOLDERS_EXCLUSIVE_LOCKS, error, "id",
                                                  folder_id, "now", unix_now(), NULL);
    if (m == NULL)
        return FALSE;
    if (store_model_int64(m, 0, 0) > 0) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_LOCKED,
                    _("The folder “%s” is in use by another session."), folder);
        return FALSE;
    }
    return TRUE;
}

gboolean
store_folder_delete(StoreConn *c, const char *user, const char *name, GPtrArray *unlink_paths,
                    gint64 *folder_id, GError **error)
{
    g_auto(StoreFolderRef) ref = { 0 };
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) message_ids =
        g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    g_autoptr(GdaDataModel) entries = NULL;
    FolderRow f = { 0 };
    gint64 freed = 0;

    if (!store_folder_resolve(c, user, name, "x", &ref, error))
        return FALSE;
    const char *lname = ref.owner, *folder = ref.folder;
    if (strcmp(folder, INBOX) == 0) {
        g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                            _("INBOX cannot be deleted."));
        return FALSE;
    }
    if (!store_begin(c, error))
        return FALSE;
    if (!lock_folder(c, lname, folder, &f, error))
        goto fail;
    if (f.special_use != NULL) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                    _("The folder “%s” is a special-use folder (%s) and cannot be deleted."),
                    folder, f.special_use);
        goto fail;
    }
    if (!check_not_locked(c, f.id, folder, error))
        goto fail;
    entries = store_conn_select(c, Q_FOLDERS_MESSAGES, error, "id", f.id, NULL);
    if (entries == NULL)
        goto fail;
    for (int r = 0; r < gda_data_model_get_n_rows(entries); r++) {
        gint64 *id = g_new(gint64, 1);
        *id = store_model_int64(entries, 0, r);
        g_hash_table_add(message_ids, id);
        freed += store_model_int64(entries, 1, r);
    }
    if (store_conn_exec(c, Q_FOLDERS_DELETE_MESSAGES, error, "id", f.id, NULL) < 0)
        goto fail;
    /* Messages no other folder or queue entry uses go, as with an expunge
     * (store_mailbox_delete(), whose locking this follows). */
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, message_ids);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        gint64 message_id = *(gint64 *)key;
        if (store_conn_exec(c, Q_QUEUE_LOCK_MESSAGE, error, "id", message_id, NULL) < 0)
            goto fail;
        g_autoptr(GdaDataModel) refs =
            store_conn_select(c, Q_MESSAGE_REFS, error, "id", message_id, NULL);
        if (refs == NULL || gda_data_model_get_n_rows(refs) != 1)
            goto fail;
        if (store_model_int64(refs, 0, 0) == 0) {
            if (store_conn_exec(c, Q_MESSAGE_DELETE, error, "id", message_id, NULL) < 0)
                goto fail;
            g_ptr_array_add(paths, store_model_string(refs, 1, 0));
        }
    }
    if (store_conn_exec(c, Q_FOLDERS_ORPHAN_CHILDREN, error, "id", f.id, NULL) < 0 ||
        store_conn_exec(c, Q_FOLDERS_DELETE, error, "id", f.id, NULL) < 0)
        goto fail;
    if (freed > 0 &&
        store_conn_exec(c, Q_USER_USAGE_ADD, error, "delta", -freed, "id", f.user_id, NULL) < 0)
        goto fail;
    if (!store_commit(c, error)) {
        folder_row_clear(&f);
        return FALSE;
    }
    for (guint i = 0; unlink_paths != NULL && i < paths->len; i++) {
        if (paths->pdata[i] != NULL)
            g_ptr_array_add(unlink_paths, g_strdup(paths->pdata[i]));
    }
    if (folder_id != NULL)
        *folder_id = f.id;
    folder_row_clear(&f);
    return TRUE;

fail:
    if (error != NULL && *error == NULL)
        g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                            _("The folder changed while it was being deleted."));
    folder_row_clear(&f);
    store_rollback(c);
    return FALSE;
}

/* ---- renaming ---- */

static char *
parent_of(const char *name)
{
    const char *last = strrchr(name, PR_FOLDER_SEPARATOR);
    return last != NULL ? g_strndup(name, last - name) : g_strdup("");
}

/* RFC 3501 §6.3.5: INBOX's messages move to a new folder, INBOX stays
 * (empty but for held messages) and its children are unaffected. */
static gboolean
rename_inbox(StoreConn *c, const char *lname, const char *target, gint64 *changed_id,
             GError **error)
{
    FolderRow inbox = { 0 };
    g_autoptr(GdaDataModel) m = NULL;
    gint64 user_id, next;
    gboolean ok = FALSE;

    if (!lock_folder(c, lname, INBOX, &inbox, error) ||
        !check_not_locked(c, inbox.id, INBOX, error) ||
        !user_begin_create(c, lname, &user_id, &next, error))
        goto out;
    int created = create_path(c, lname, user_id, target, &next, error);
    if (created < 0)
        goto out;
    if (created == 0) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS, _("The folder “%s” exists."),
                    target);
        goto out;
    }
    m = store_conn_select(c, Q_FOLDERS_GET, error, "name", lname, "folder", target, NULL);
    if (m == NULL || gda_data_model_get_n_rows(m) != 1)
        goto out;
    gint64 to = store_model_int64(m, 0, 0);
    gint64 base = store_model_int64(m, 2, 0);
    gint64 modseq = store_model_int64(m, 3, 0) + 1;
    gint moved = store_conn_exec(c, Q_FOLDERS_MOVE_MESSAGES, error, "to", to, "base", base,
                                 "modseq", modseq, "from", inbox.id, NULL);
    if (moved < 0 ||
        store_conn_exec(c, Q_FOLDERS_DELETE_MOVED, error, "id", inbox.id, NULL) != moved ||
        store_conn_exec(c, Q_FOLDERS_SET_COUNTERS, error, "uidnext", base + moved, "modseq", modseq,
                        "id", to, NULL) < 0 ||
        store_conn_exec(c, Q_FOLDERS_BUMP_MODSEQ, error, "id", inbox.id, NULL) < 0)
        goto out;
    *changed_id = moved > 0 ? inbox.id : 0;
    ok = TRUE;
out:
    folder_row_clear(&inbox);
    return ok;
}

static gboolean
rename_tree(StoreConn *c, const char *lname, const char *from, const char *to, GError **error)
{
    FolderRow top = { 0 };
    g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(gint64));
    g_autoptr(GPtrArray) all = NULL;
    g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GPtrArray) moving = g_ptr_array_new(); /* indexes into all */
    g_autofree char *parent = NULL;
    gsize from_len = strlen(from);
    gint64 user_id, next;
    gboolean ok = FALSE;

    if (!lock_folder(c, lname, from, &top, error))
        goto out;
    all = list_folders(c, lname, ids, error);
    if (all == NULL)
        goto out;
    for (guint i = 0; i < all->len; i++) {
        const char *n = ((PrFolderInfo *)all->pdata[i])->name;
        g_hash_table_add(names, (gpointer)n);
        if (strcmp(n, from) == 0 ||
            (strncmp(n, from, from_len) == 0 && n[from_len] == PR_FOLDER_SEPARATOR))
            g_ptr_array_add(moving, GUINT_TO_POINTER(i));
    }
    /* Every new name must be free; the folders' rows are locked as they
     * are renamed, before the user's row (the order of the header). */
    for (guint k = 0; k < moving->len; k++) {
        guint i = GPOINTER_TO_UINT(moving->pdata[k]);
        const char *n = ((PrFolderInfo *)all->pdata[i])->name;
        g_autofree char *new_name = g_strconcat(to, n + from_len, NULL);
        if (g_hash_table_contains(names, new_name)) {
            g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS, _("The folder “%s” exists."),
                        new_name);
            goto out;
        }
        if (strlen(new_name) > STORE_FOLDER_NAME_MAX) {
            g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                                _("A folder name is 1 to 255 bytes long."));
            goto out;
        }
        gint64 id = g_array_index(ids, gint64, i);
        if (!check_not_locked(c, id, n, error) ||
            store_conn_exec(c, Q_FOLDERS_RENAME, error, "folder", new_name, "id", id, NULL) < 0)
            goto out;
    }
    /* The new name's missing parents, then its link to its parent. */
    parent = parent_of(to);
    if (*parent != '\0') {
        if (!user_begin_create(c, lname, &user_id, &next, error) ||
            create_path(c, lname, user_id, parent, &next, error) < 0)
            goto out;
    }
    if (store_conn_exec(c, Q_FOLDERS_SET_PARENT, error, "parent", parent, "id", top.id, NULL) < 0 ||
        !relink_children(c, lname, to, error))
        goto out;
    ok = TRUE;
out:
    folder_row_clear(&top);
    return ok;
}

gboolean
store_folder_rename(StoreConn *c, const char *user, const char *name, const char *new_name,
                    gint64 *changed_id, GError **error)
{
    g_auto(StoreFolderRef) old_ref = { 0 };
    g_auto(StoreFolderRef) new_ref = { 0 };
    gboolean ok;

    *changed_id = 0;
    /* "x" on the folder, "k" on the new parent: within one owner. */
    if (!store_folder_resolve(c, user, name, "x", &old_ref, error) ||
        !store_folder_resolve_create(c, user, new_name, &new_ref, error))
        return FALSE;
    if (strcmp(old_ref.owner, new_ref.owner) != 0) {
        g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                            _("A folder cannot be moved to another user."));
        return FALSE;
    }
    const char *lname = old_ref.owner, *from = old_ref.folder, *to = new_ref.folder;
    gsize from_len = strlen(from);
    if (!store_folder_name_check(to, error))
        return FALSE;
    if (strcmp(from, to) == 0) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS, _("The folder “%s” exists."), to);
        return FALSE;
    }
    /* INBOX's children stay where they are when it is renamed. */
    if (strcmp(from, INBOX) != 0 && strncmp(to, from, from_len) == 0 &&
        to[from_len] == PR_FOLDER_SEPARATOR) {
        g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                            _("A folder cannot be moved into itself."));
        return FALSE;
    }
    if (!store_begin(c, error))
        return FALSE;
    if (strcmp(from, INBOX) == 0)
        ok = rename_inbox(c, lname, to, changed_id, error);
    else
        ok = rename_tree(c, lname, from, to, error);
    if (!ok) {
        if (error != NULL && *error == NULL)
            g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                                _("The folder changed while it was being renamed."));
        store_rollback(c);
        *changed_id = 0;
        return FALSE;
    }
    if (!store_commit(c, error)) {
        *changed_id = 0;
        return FALSE;
    }
    return TRUE;
}

/* ---- subscriptions and status ---- */

gboolean
store_folder_subscribe(StoreConn *c, const char *user, const char *name, gboolean subscribed,
                       GError **error)
{
    g_auto(StoreFolderRef) ref = { 0 };

    if (!store_folder_resolve(c, user, name, "l", &ref, error))
        return FALSE;
    /* The owner's folders.subscribed is theirs: others have their own. */
    if (ref.shared)
        return store_folder_subscribe_shared(c, user, &ref, subscribed, error);
    const char *lname = ref.owner, *folder = ref.folder;
    gint rows = store_conn_exec(c, Q_FOLDERS_SUBSCRIBE, error, "subscribed", !!subscribed, "folder",
                                folder, "name", lname, NULL);

    if (rows < 0)
        return FALSE;
    if (rows == 0) {
        no_folder(folder, error);
        return FALSE;
    }
    return TRUE;
}

gboolean
store_folder_status(StoreConn *c, const char *user, const char *name, PrFolderStatus *status,
                    GError **error)
{
    g_auto(StoreFolderRef) ref = { 0 };

    if (!store_folder_resolve(c, user, name, "r", &ref, error))
        return FALSE;
    const char *lname = ref.owner, *folder = ref.folder;
    /* Lower case, as the query compares LOWER(flags). */
    g_autoptr(GdaDataModel) m = store_conn_select(c, Q_FOLDERS_STATUS, error, "seen", "% \\seen %",
                                                  "name", lname, "folder", folder, NULL);

    if (m == NULL)
        return FALSE;
    if (gda_data_model_get_n_rows(m) != 1) {
        no_folder(folder, error);
        return FALSE;
    }
    memset(status, 0, sizeof(*status));
    status->uidnext = (guint32)store_model_int64(m, 0, 0);
    status->uidvalidity = (guint32)store_model_int64(m, 1, 0);
    status->highest_modseq = (guint64)store_model_int64(m, 2, 0);
    status->messages = (guint32)store_model_int64(m, 3, 0);
    status->recent = (guint32)store_model_int64(m, 4, 0);
    status->unseen = (guint32)store_model_int64(m, 5, 0);
    status->size = store_model_int64(m, 6, 0);
    return TRUE;
}

/* ---- appending ---- */

gint64
store_folder_append(StoreConn *c, const char *user, const char *name, const StoreAppend *message,
                    guint32 *uidvalidity, guint32 *uid, GError **error)
{
    g_auto(StoreFolderRef) ref = { 0 };
    g_autofree char *flags = NULL;
    g_autoptr(GdaDataModel) f = NULL;
    g_autoptr(GdaDataModel) idm = NULL;
    gint64 now = unix_now();

    if (!store_folder_resolve(c, user, name, "i", &ref, error))
        return 0;
    const char *lname = ref.owner, *folder = ref.folder;
    /* Flags the user may not set are left off (RFC 4314 §4). */
    g_autofree char *given = store_folder_flags_normalise(message->flags);
    flags = store_rights_restrict_flags("", given, ref.rights);
    if (!store_begin(c, error))
        return 0;
    /* The folder's row first, as delivery takes its INBOX's. */
    gint rows =
        store_conn_exec(c, Q_FOLDERS_TAKE_UID, error, "folder", folder, "name", lname, NULL);
    if (rows < 0)
        goto fail;
    f = store_conn_select(c, Q_FOLDERS_GET, error, "name", lname, "folder", folder, NULL);
    if (f == NULL)
        goto fail;
    if (rows == 0 || gda_data_model_get_n_rows(f) != 1) {
        no_folder(folder, error);
        goto fail;
    }
    gint64 folder_id = store_model_int64(f, 0, 0);
    gint64 new_uid = store_model_int64(f, 2, 0) - 1;
    gint64 modseq = store_model_int64(f, 3, 0);
    gint64 user_id = store_model_int64(f, 5, 0);
    if (store_conn_exec(c, Q_MESSAGE_ADD, error, "path", message->spool_path, "size", message->size,
                        "received", now, "sender", "", "subject", NULL, "from", NULL, "date", NULL,
                        "message_id", NULL, NULL) < 0)
        goto fail;
    idm = store_conn_select(c, Q_MESSAGE_ID_BY_PATH, error, "path", message->spool_path, NULL);
    if (idm == NULL)
        goto fail;
    if (gda_data_model_get_n_rows(idm) != 1) {
        g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                            _("The new message could not be read back."));
        goto fail;
    }
    if (store_conn_exec(c, Q_FOLDERS_APPEND_ENTRY, error, "folder", folder_id, "message",
                        store_model_int64(idm, 0, 0), "uid", new_uid, "flags", flags, "modseq",
                        modseq, "date", message->internal_date > 0 ? message->internal_date : now,
                        NULL) < 0 ||
        store_conn_exec(c, Q_USER_USAGE_ADD, error, "delta", message->size, "id", user_id, NULL) <
            0 ||
        !store_quota_check(c, user_id, message->size, error))
        goto fail;
    if (!store_commit(c, error))
        return 0;
    if (uidvalidity != NULL)
        *uidvalidity = (guint32)store_model_int64(f, 1, 0);
    if (uid != NULL)
        *uid = (guint32)new_uid;
    return folder_id;

fail:
    store_rollback(c);
    return 0;
}
