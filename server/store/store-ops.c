/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "store-ops.h"
#include "store-mail.h"
#include "store-folder-acl.h"
#include "store-queries.h"
#include "unix-time.h"

/* Longest name, pattern or key accepted; longer input is refused rather
 * than stored truncated. */
#define MAX_NAME_LEN 1024

/* Names are compared case-insensitively by storing them in lower case. */
static char *
canonical_name(const char *name, GError **error)
{
    if (name == NULL || name[0] == '\0' || strlen(name) > MAX_NAME_LEN ||
        !g_utf8_validate(name, -1, NULL)) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                    _("Invalid name: a name is 1 to %d bytes of UTF-8 text."), MAX_NAME_LEN);
        return NULL;
    }
    return g_utf8_strdown(name, -1);
}

static gboolean
check_text(const char *text, GError **error)
{
    if (text == NULL || strlen(text) > MAX_NAME_LEN * 4 || !g_utf8_validate(text, -1, NULL)) {
        g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                            _("Invalid text value (missing, too long or not UTF-8)."));
        return FALSE;
    }
    return TRUE;
}

/* -------------------------------------------------------------- users */

void
store_user_free(StoreUser *user)
{
    if (user == NULL)
        return;
    g_free(user->name);
    g_free(user->full_name);
    g_free(user->forward_to);
    g_free(user->assistants);
    if (user->pwhash != NULL) {
        explicit_bzero(user->pwhash, strlen(user->pwhash));
        g_free(user->pwhash);
    }
    g_free(user);
}

static StoreUser *
user_from_row(GdaDataModel *model, int row)
{
    StoreUser *user = g_new0(StoreUser, 1);

    user->id = store_model_int64(model, 0, row);
    user->name = store_model_string(model, 1, row);
    user->full_name = store_model_string(model, 2, row);
    if (user->full_name == NULL)
        user->full_name = g_strdup("");
    user->pwhash = store_model_string(model, 3, row);
    user->enabled = store_model_bool(model, 4, row);
    user->quota_bytes = store_model_int64(model, 5, row);
    user->created = store_model_int64(model, 6, row);
    user->used_bytes = store_model_int64(model, 7, row);
    user->forward_to = store_model_string(model, 8, row);
    user->forward_keep_copy = store_model_bool(model, 9, row);
    user->assistants = store_model_string(model, 10, row);
    user->assistant_only = store_model_bool(model, 11, row);
    user->in_everyone = store_model_bool(model, 12, row);
    user->max_outgoing_size = store_model_int64(model, 13, row);
    return user;
}

gint64
store_user_add(StoreConn *c, const char *name, const char *pwhash, const char *full_name,
               GError **error)
{
    g_autofree char *lname = canonical_name(name, error);
    g_autoptr(GdaDataModel) model = NULL;
    gint64 now = unix_now();
    gint64 id;
    gint rows;

    if (lname == NULL)
        return 0;
    if (!check_text(pwhash, error) || !check_text(full_name ? full_name : "", error))
        return 0;
    if (!store_begin(c, error))
        return 0;
    rows = store_conn_exec(c, Q_USER_ADD, error, "name", lname, "full_name",
                           full_name ? full_name : "", "pwhash", pwhash, "now", now, NULL);
    if (rows < 0)
        goto fail;
    if (rows == 0) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS, _("The user “%s” exists."),
                    lname);
        goto fail;
    }
    model = store_conn_select(c, Q_USER_ID, error, "name", lname, NULL);
    if (model == NULL)
        goto fail;
    if (gda_data_model_get_n_rows(model) != 1) {
        g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                            _("The new user could not be read back."));
        goto fail;
    }
    id = store_model_int64(model, 0, 0);
    /* UIDVALIDITY from the creation time, like other servers: a mailbox
     * re-created later gets a larger value. */
    if (store_conn_exec(c, Q_FOLDER_ADD, error, "user_id", id, "name", "INBOX", "uidvalidity", now,
                        "special_use", NULL, NULL) < 0)
        goto fail;
    /* The RFC 6154 folders IMAP clients look for (migration 008 made them
     * for the users that existed before). */
    static const char *const special[][2] = {
        { "Sent", "\\Sent" },
        { "Drafts", "\\Drafts" },
        { "Trash", "\\Trash" },
        { "Junk", "\\Junk" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(special); i++) {
        if (store_conn_exec(c, Q_FOLDER_ADD, error, "user_id", id, "name", special[i][0],
                            "uidvalidity", now, "special_use", special[i][1], NULL) < 0)
            goto fail;
    }
    if (!store_commit(c, error))
        return 0;
    return store_directory_bump(c, error) ? id : 0;

fail:
    store_rollback(c);
    return 0;
}

/* A statement that must change a row; none changed means NOT_FOUND with
 * the message @format. */
static gboolean G_GNUC_PRINTF(3, 4) changed_one(gint rows, GError **error, const char *format, ...)
{
    va_list ap;

    if (rows < 0)
        return FALSE;
    if (rows == 0) {
        va_start(ap, format);
        g_propagate_error(error,
                          g_error_new_valist(PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND, format, ap));
        va_end(ap);
        return FALSE;
    }
    return TRUE;
}

gboolean
store_user_delete(StoreConn *c, const char *name, GError **error)
{
    g_autofree char *lname = canonical_name(name, error);

    if (lname == NULL)
        return FALSE;
    /* Rights granted to the user go with it: a new user of that name
     * starts with none. */
    return changed_one(store_conn_exec(c, Q_USER_DELETE, error, "name", lname, NULL), error,
                       _("There is no user “%s”."), lname) &&
           store_folder_acl_forget_user(c, lname, error) && store_directory_bump(c, error);
}

gboolean
store_user_set_password(StoreConn *c, const char *name, const char *pwhash, GError **error)
{
    g_autofree char *lname = canonical_name(name, error);

    if (lname == NULL || !check_text(pwhash, error))
        return FALSE;
    return changed_one(
        store_conn_exec(c, Q_USER_SET_PASSWORD, error, "pwhash", pwhash, "name", lname, NULL),
        error, _("There is no user “%s”."), lname);
}

gboolean
store_user_set_enabled(StoreConn *c, const char *name, gboolean enabled, GError **error)
{
    g_autofree char *lname = canonical_name(name, error);

    if (lname == NULL)
        return FALSE;
    return changed_one(store_conn_exec(c, Q_USER_SET_ENABLED, error, "enabled", !!enabled, "name",
                                       lname, NULL),
                       error, _("There is no user “%s”."), lname) &&
           store_directory_bump(c, error);
}

gboolean
store_user_set_max_outgoing(StoreConn *c, const char *name, gint64 bytes, GError **error)
{
    g_autofree char *lname = canonical_name(name, error);

    if (lname == NULL)
        return FALSE;
    return changed_one(
        store_conn_exec(c, Q_USER_SET_MAX_OUTGOING, error, "size", bytes, "name", lname, NULL),
        error, _("There is no user “%s”."), lname);
}

StoreUser *
store_user_get(StoreConn *c, const char *name, GError **error)
{
    g_autofree char *lname = NULL;
    g_autoptr(GdaDataModel) model = NULL;

    /* Names that cannot exist are "not found", not a failure: login
     * attempts with garbage names must look like unknown users. */
    if (name == NULL || name[0] == '\0' || strlen(name) > MAX_NAME_LEN ||
        !g_utf8_validate(name, -1, NULL)) {
        g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND, _("No such user."));
        return NULL;
    }
    lname = g_utf8_strdown(name, -1);
    model = store_conn_select(c, Q_USER_GET, error, "name", lname, NULL);
    if (model == NULL)
        return NULL;
    if (gda_data_model_get_n_rows(model) < 1) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND, _("There is no user “%s”."),
                    lname);
        return NULL;
    }
    return user_from_row(model, 0);
}

GPtrArray *
store_user_list(StoreConn *c, GError **error)
{
    g_autoptr(GdaDataModel) model = store_conn_select(c, Q_USER_LIST, error, NULL);
    GPtrArray *users;
    int n;

    if (model == NULL)
        return NULL;
    n = gda_data_model_get_n_rows(model);
    users = g_ptr_array_new_full(MAX(n, 0), (GDestroyNotify)store_user_free);
    for (int row = 0; row < n; row++)
        g_ptr_array_add(users, user_from_row(model, row));
    return users;
}

/* ------------------------------------------------------------ domains */

void
store_domain_free(StoreDomain *d)
{
    if (d == NULL)
        return;
    g_free(d->name);
    g_free(d);
}

gboolean
store_domain_add(StoreConn *c, const char *name, GError **error)
{
    g_autofree char *lname = canonical_name(name, error);
    gint rows;

    if (lname == NULL)
        return FALSE;
    rows = store_conn_exec(c, Q_DOMAIN_ADD, error, "name", lname, NULL);
    if (rows < 0)
        return FALSE;
    if (rows == 0) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS, _("The domain “%s” exists."),
                    lname);
        return FALSE;
    }
    return store_directory_bump(c, error);
}

gboolean
store_domain_delete(StoreConn *c, const char *name, GError **error)
{
    g_autofree char *lname = canonical_name(name, error);

    if (lname == NULL)
        return FALSE;
    return changed_one(store_conn_exec(c, Q_DOMAIN_DELETE, error, "name", lname, NULL), error,
                       _("There is no domain “%s”."), lname) &&
           store_directory_bump(c, error);
}

GPtrArray *
store_domain_list(StoreConn *c, GError **error)
{
    g_autoptr(GdaDataModel) model = store_conn_select(c, Q_DOMAIN_LIST, error, NULL);
    GPtrArray *domains;
    int n;

    if (model == NULL)
        return NULL;
    n = gda_data_model_get_n_rows(model);
    domains = g_ptr_array_new_full(MAX(n, 0), (GDestroyNotify)store_domain_free);
    for (int row = 0; row < n; row++) {
        StoreDomain *d = g_new0(StoreDomain, 1);

        d->id = store_model_int64(model, 0, row);
        d->name = store_model_string(model, 1, row);
        g_ptr_array_add(domains, d);
    }
    return domains;
}

/* ----------------------------------------------------------- mappings */

void
store_mapping_free(StoreMapping *m)
{
    if (m == NULL)
        return;
    g_free(m->pattern);
    g_free(m->target);
    g_free(m);
}

gboolean
store_mapping_add(StoreConn *c, const char *pattern, const char *target, GError **error)
{
    g_autofree char *lpattern = canonical_name(pattern, error);
    gint rows;

    if (lpattern == NULL)
        return FALSE;
    if (target == NULL || target[0] == '\0') {
        g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                            _("A mapping needs a target."));
        return FALSE;
    }
    if (!check_text(target, error))
        return FALSE;
    rows = store_conn_exec(c, Q_MAPPING_ADD, error, "pattern", lpattern, "target", target, NULL);
    if (rows < 0)
        return FALSE;
    if (rows == 0) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS,
                    _("The mapping from “%s” to “%s” exists."), lpattern, target);
        return FALSE;
    }
    return store_directory_bump(c, error);
}

gboolean
store_mapping_delete(StoreConn *c, const char *pattern, const char *target, GError **error)
{
    g_autofree char *lpattern = canonical_name(pattern, error);
    gint rows;

    if (lpattern == NULL)
        return FALSE;
    if (target != NULL)
        rows = store_conn_exec(c, Q_MAPPING_DELETE_ONE, error, "pattern", lpattern, "target",
                               target, NULL);
    else
        rows = store_conn_exec(c, Q_MAPPING_DELETE_ALL, error, "pattern", lpattern, NULL);
    return changed_one(rows, error, _("There is no mapping for “%s”."), lpattern) &&
           store_directory_bump(c, error);
}

GPtrArray *
store_mapping_list(StoreConn *c, GError **error)
{
    g_autoptr(GdaDataModel) model = store_conn_select(c, Q_MAPPING_LIST, error, NULL);
    GPtrArray *mappings;
    int n;

    if (model == NULL)
        return NULL;
    n = gda_data_model_get_n_rows(model);
    mappings = g_ptr_array_new_full(MAX(n, 0), (GDestroyNotify)store_mapping_free);
    for (int row = 0; row < n; row++) {
        StoreMapping *m = g_new0(StoreMapping, 1);

        m->id = store_model_int64(model, 0, row);
        m->pattern = store_model_string(model, 1, row);
        m->target = store_model_string(model, 2, row);
        g_ptr_array_add(mappings, m);
    }
    return mappings;
}

/* -------------------------------------------------------------- lists */

void
store_list_free(StoreList *l)
{
    if (l == NULL)
        return;
    g_free(l->name);
    g_free(l->kind);
    g_free(l->description);
    g_free(l);
}

gboolean
store_list_add(StoreConn *c, const char *name, const char *kind, const char *description,
               GError **error)
{
    g_autofree char *lname = canonical_name(name, error);
    gint rows;

    if (lname == NULL)
        return FALSE;
    if (g_strcmp0(kind, "distribution") != 0 && g_strcmp0(kind, "forward") != 0 &&
        g_strcmp0(kind, "group") != 0) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                    _("Unknown list kind “%s” (use distribution, forward or group)."),
                    kind ? kind : "");
        return FALSE;
    }
    if (!check_text(description ? description : "", error))
        return FALSE;
    rows = store_conn_exec(c, Q_LIST_ADD, error, "name", lname, "kind", kind, "description",
                           description ? description : "", NULL);
    if (rows < 0)
        return FALSE;
    if (rows == 0) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS, _("The list “%s” exists."),
                    lname);
        return FALSE;
    }
    return store_directory_bump(c, error);
}

gboolean
store_list_delete(StoreConn *c, const char *name, GError **error)
{
    g_autofree char *lname = canonical_name(name, error);

    if (lname == NULL)
        return FALSE;
    return changed_one(store_conn_exec(c, Q_LIST_DELETE, error, "name", lname, NULL), error,
                       _("There is no list “%s”."), lname) &&
           store_directory_bump(c, error);
}

GPtrArray *
store_list_list(StoreConn *c, GError **error)
{
    g_autoptr(GdaDataModel) model = store_conn_select(c, Q_LIST_LIST, error, NULL);
    GPtrArray *lists;
    int n;

    if (model == NULL)
        return NULL;
    n = gda_data_model_get_n_rows(model);
    lists = g_ptr_array_new_full(MAX(n, 0), (GDestroyNotify)store_list_free);
    for (int row = 0; row < n; row++) {
        StoreList *l = g_new0(StoreList, 1);

        l->id = store_model_int64(model, 0, row);
        l->name = store_model_string(model, 1, row);
        l->kind = store_model_string(model, 2, row);
        l->description = store_model_string(model, 3, row);
        if (l->description == NULL)
            l->description = g_strdup("");
        g_ptr_array_add(lists, l);
    }
    return lists;
}

/* The id of list @lname, or 0 with NOT_FOUND. */
static gint64
list_id(StoreConn *c, const char *lname, GError **error)
{
    g_autoptr(GdaDataModel) model = store_conn_select(c, Q_LIST_ID, error, "name", lname, NULL);

    if (model == NULL)
        return 0;
    if (gda_data_model_get_n_rows(model) < 1) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND, _("There is no list “%s”."),
                    lname);
        return 0;
    }
    return store_model_int64(model, 0, 0);
}

gboolean
store_list_member_add(StoreConn *c, const char *list, const char *member, GError **error)
{
    g_autofree char *lname = canonical_name(list, error);
    g_autofree char *lmember = NULL;
    gint64 id;
    gint rows;

    if (lname == NULL)
        return FALSE;
    lmember = canonical_name(member, error);
    if (lmember == NULL)
        return FALSE;
    id = list_id(c, lname, error);
    if (id == 0)
        return FALSE;
    rows = store_conn_exec(c, Q_LIST_MEMBER_ADD, error, "list_id", id, "member", lmember, NULL);
    if (rows < 0)
        return FALSE;
    if (rows == 0) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS,
                    _("“%s” is already a member of the list “%s”."), lmember, lname);
        return FALSE;
    }
    return store_directory_bump(c, error);
}

gboolean
store_list_member_remove(StoreConn *c, const char *list, const char *member, GError **error)
{
    g_autofree char *lname = canonical_name(list, error);
    g_autofree char *lmember = NULL;
    gint64 id;
    gint rows;

    if (lname == NULL)
        return FALSE;
    lmember = canonical_name(member, error);
    if (lmember == NULL)
        return FALSE;
    id = list_id(c, lname, error);
    if (id == 0)
        return FALSE;
    rows = store_conn_exec(c, Q_LIST_MEMBER_REMOVE, error, "list_id", id, "member", lmember, NULL);
    if (rows < 0)
        return FALSE;
    if (rows == 0) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND,
                    _("“%s” is not a member of the list “%s”."), lmember, lname);
        return FALSE;
    }
    return store_directory_bump(c, error);
}

GPtrArray *
store_list_members(StoreConn *c, const char *list, GError **error)
{
    g_autofree char *lname = canonical_name(list, error);
    g_autoptr(GdaDataModel) model = NULL;
    GPtrArray *members;
    gint64 id;
    int n;

    if (lname == NULL)
        return NULL;
    id = list_id(c, lname, error);
    if (id == 0)
        return NULL;
    model = store_conn_select(c, Q_LIST_MEMBERS, error, "list_id", id, NULL);
    if (model == NULL)
        return NULL;
    n = gda_data_model_get_n_rows(model);
    members = g_ptr_array_new_full(MAX(n, 0), g_free);
    for (int row = 0; row < n; row++)
        g_ptr_array_add(members, store_model_string(model, 0, row));
    return members;
}

/* --------------------------------------------------------- loginaudit */

void
store_login_audit_free(StoreLoginAudit *a)
{
    if (a == NULL)
        return;
    g_free(a->ip);
    g_free(a->username);
    g_free(a->service);
    g_free(a->mechanism);
    g_free(a->reason);
    g_free(a);
}

/* Audit rows record what clients sent: make it valid, bounded UTF-8. */
static char *
audit_text(const char *text)
{
    g_autofree char *valid = g_utf8_make_valid(text ? text : "", -1);

    if (g_utf8_strlen(valid, -1) > 256)
        return g_utf8_substring(valid, 0, 256);
    return g_steal_pointer(&valid);
}

gboolean
store_login_audit_add(StoreConn *c, gint64 time, const char *ip, const char *username,
                      const char *service, const char *mechanism, gboolean success,
                      const char *reason, GError **error)
{
    g_autofree char *a_ip = audit_text(ip);
    g_autofree char *a_user = audit_text(username);
    g_autofree char *a_service = audit_text(service);
    g_autofree char *a_mech = audit_text(mechanism);
    g_autofree char *a_reason = audit_text(reason);

    return store_conn_exec(c, Q_AUDIT_ADD, error, "time", time, "ip", a_ip, "username", a_user,
                           "service", a_service, "mechanism", a_mech, "success", !!success,
                           "reason", a_reason, NULL) >= 0;
}

GPtrArray *
store_login_audit_list(StoreConn *c, const char *ip_or_null, int limit, GError **error)
{
    g_autoptr(GdaDataModel) model = NULL;
    gint64 lim = limit > 0 ? limit : G_MAXINT32;
    GPtrArray *rows;
    int n;

    if (ip_or_null != NULL)
        model = store_conn_select(c, Q_AUDIT_LIST_IP, error, "ip", ip_or_null, "limit", lim, NULL);
    else
        model = store_conn_select(c, Q_AUDIT_LIST_ALL, error, "limit", lim, NULL);
    if (model == NULL)
        return NULL;
    n = gda_data_model_get_n_rows(model);
    rows = g_ptr_array_new_full(MAX(n, 0), (GDestroyNotify)store_login_audit_free);
    for (int row = 0; row < n; row++) {
        StoreLoginAudit *a = g_new0(StoreLoginAudit, 1);

        a->id = store_model_int64(model, 0, row);
        a->time = store_model_int64(model, 1, row);
        a->ip = store_model_string(model, 2, row);
        a->username = store_model_string(model, 3, row);
        a->service = store_model_string(model, 4, row);
        a->mechanism = store_model_string(model, 5, row);
        a->success = store_model_bool(model, 6, row);
        a->reason = store_model_string(model, 7, row);
        g_ptr_array_add(rows, a);
    }
    return rows;
}

gint64
store_login_audit_purge(StoreConn *c, gint64 older_than, GError **error)
{
    return store_conn_exec(c, Q_AUDIT_PURGE, error, "before", older_than, NULL);
}

/* ----------------------------------------------------------- lockouts */

gboolean
store_lockout_is_locked(StoreConn *c, const char *ip, gint64 now, GError **error)
{
    g_autoptr(GdaDataModel) model = NULL;

    model = store_conn_select(c, Q_LOCKOUT_LOCKED_UNTIL, error, "ip", ip, NULL);
    if (model == NULL)
        return FALSE;
    if (gda_data_model_get_n_rows(model) < 1)
        return FALSE;
    return store_model_int64(model, 0, 0) > now;
}

gboolean
store_lockout_fail(StoreConn *c, const char *ip, gint64 now, int attempts, gint64 window,
                   gboolean *now_locked, GError **error)
{
    g_autoptr(GdaDataModel) model = NULL;
    /* No limit configured: count, never lock. */
    gint64 limit = attempts > 0 ? attempts : G_MAXINT32;

    if (now_locked != NULL)
        *now_locked = FALSE;
    /* The update and the read of its result form one transaction, so the
     * row read is the one this failure wrote. */
    if (!store_begin(c, error))
        return FALSE;
    if (store_conn_exec(c, Q_LOCKOUT_FAIL, error, "ip", ip, "now", now, "attempts", limit, "window",
                        window, NULL) < 0)
        goto fail;
    model = store_conn_select(c, Q_LOCKOUT_STATE, error, "ip", ip, NULL);
    if (model == NULL)
        goto fail;
    if (!store_commit(c, error))
        return FALSE;
    /* Only the failure that reaches the limit reports the lock, so the
     * event is logged once. */
    if (now_locked != NULL && gda_data_model_get_n_rows(model) == 1)
        *now_locked =
            store_model_int64(model, 0, 0) == limit && store_model_int64(model, 1, 0) > now;
    return TRUE;

fail:
    store_rollback(c);
    return FALSE;
}

gboolean
store_lockout_clear(StoreConn *c, const char *ip, GError **error)
{
    return store_conn_exec(c, Q_LOCKOUT_CLEAR, error, "ip", ip, NULL) >= 0;
}

/* --------------------------------------------------------- module kv */

char *
store_module_get(StoreConn *c, const char *module, const char *key, GError **error)
{
    g_autoptr(GdaDataModel) model = NULL;

    if (!check_text(module, error) || !check_text(key, error))
        return NULL;
    model = store_conn_select(c, Q_MODULE_GET, error, "module", module, "key", key, NULL);
    if (model == NULL)
        return NULL;
    if (gda_data_model_get_n_rows(model) < 1) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND,
                    _("The module %s has no value for “%s”."), module, key);
        return NULL;
    }
    return store_model_string(model, 0, 0);
}

gboolean
store_module_set(StoreConn *c, const char *module, const char *key, const char *value,
                 GError **error)
{
    if (!check_text(module, error) || !check_text(key, error))
        return FALSE;
    if (value == NULL)
        return store_conn_exec(c, Q_MODULE_DELETE, error, "module", module, "key", key, NULL) >= 0;
    if (!g_utf8_validate(value, -1, NULL)) {
        g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                            _("Module values must be UTF-8 text."));
        return FALSE;
    }
    return store_conn_exec(c, Q_MODULE_SET, error, "module", module, "key", key, "value", value,
                           NULL) >= 0;
}
