/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "store-mail.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

#include "store-collector.h"
#include "store-queries.h"
#include "unix-time.h"

/* ';'-separated lists as stored; empty items dropped. */
static char **
split_list(const char *text)
{
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    g_auto(GStrv) parts = g_strsplit(text != NULL ? text : "", ";", -1);
    for (int i = 0; parts[i] != NULL; i++) {
        g_strstrip(parts[i]);
        if (*parts[i] != '\0')
            g_strv_builder_add(b, parts[i]);
    }
    return g_strv_builder_end(b);
}

/* ---- directory ---- */

gint64
store_directory_version(StoreConn *c, GError **error)
{
    g_autoptr(GdaDataModel) m = store_conn_select(c, Q_DIRECTORY_VERSION, error, NULL);
    if (m == NULL)
        return -1;
    return gda_data_model_get_n_rows(m) > 0 ? store_model_int64(m, 0, 0) : 0;
}

gboolean
store_directory_bump(StoreConn *c, GError **error)
{
    return store_conn_exec(c, Q_DIRECTORY_BUMP, error, NULL) >= 0;
}

static RouterListKind
list_kind(const char *kind)
{
    if (g_strcmp0(kind, "forward") == 0)
        return ROUTER_LIST_FORWARD;
    if (g_strcmp0(kind, "group") == 0)
        return ROUTER_LIST_GROUP;
    return ROUTER_LIST_DISTRIBUTION;
}

gboolean
store_directory_load(StoreConn *c, RouterData *data, GError **error)
{
    g_autoptr(GdaDataModel) users = store_conn_select(c, Q_DIR_USERS, error, NULL);
    if (users == NULL)
        return FALSE;
    for (int r = 0; r < gda_data_model_get_n_rows(users); r++) {
        RouterUser *u = g_new0(RouterUser, 1);
        g_autofree char *forward = store_model_string(users, 1, r);
        g_autofree char *assistants = store_model_string(users, 3, r);
        u->name = store_model_string(users, 0, r);
        u->forward_to = split_list(forward);
        u->forward_keep_copy = store_model_bool(users, 2, r);
        u->assistants = split_list(assistants);
        u->assistant_only = store_model_bool(users, 4, r);
        u->in_everyone = store_model_bool(users, 5, r);
        u->full_name = store_model_string(users, 6, r);
        router_data_add_user(data, u);
    }

    g_autoptr(GdaDataModel) lists = store_conn_select(c, Q_DIR_LISTS, error, NULL);
    if (lists == NULL)
        return FALSE;
    RouterList *current = NULL;
    g_autoptr(GStrvBuilder) members = NULL;
    for (int r = 0; r <= gda_data_model_get_n_rows(lists); r++) {
        g_autofree char *name =
            r < gda_data_model_get_n_rows(lists) ? store_model_string(lists, 0, r) : NULL;
        if (current != NULL && g_strcmp0(name, current->name) != 0) {
            current->members = g_strv_builder_end(members);
            router_data_add_list(data, current);
            current = NULL;
        }
        if (name == NULL)
            break;
        if (current == NULL) {
            g_autofree char *kind = store_model_string(lists, 1, r);
            current = g_new0(RouterList, 1);
            current->name = g_strdup(name);
            current->kind = list_kind(kind);
            current->local_senders_only = store_model_bool(lists, 2, r);
            g_clear_pointer(&members, g_strv_builder_unref);
            members = g_strv_builder_new();
        }
        g_autofree char *member = store_model_string(lists, 3, r);
        if (member != NULL)
            g_strv_builder_add(members, member);
    }

    g_autoptr(GdaDataModel) mappings = store_conn_select(c, Q_MAPPING_LIST, error, NULL);
    if (mappings == NULL)
        return FALSE;
    for (int r = 0; r < gda_data_model_get_n_rows(mappings); r++) {
        g_autofree char *pattern = store_model_string(mappings, 1, r);
        g_autofree char *target = store_model_string(mappings, 2, r);
        router_data_add_mapping(data, pattern, target);
    }

    g_autoptr(GdaDataModel) domains = store_conn_select(c, Q_DOMAIN_LIST, error, NULL);
    if (domains == NULL)
        return FALSE;
    g_autoptr(GStrvBuilder) local = g_strv_builder_new();
    g_strv_builder_addv(local, (const char **)data->local_domains);
    for (int r = 0; r < gda_data_model_get_n_rows(domains); r++) {
        g_autofree char *domain = store_model_string(domains, 1, r);
        g_strv_builder_add(local, domain);
    }
    g_strfreev(data->local_domains);
    data->local_domains = g_strv_builder_end(local);
    return TRUE;
}

static gboolean
updated_one(gint rows, const char *what, const char *name, GError **error)
{
    if (rows < 0)
        return FALSE;
    if (rows == 0) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND,
                    what[0] == 'u' ? _("The user “%s” does not exist.")
                                   : _("The list “%s” does not exist."),
                    name);
        return FALSE;
    }
    return TRUE;
}

gboolean
store_user_set_routing(StoreConn *c, const char *name, const StoreUserRouting *r, GError **error)
{
    gint rows = store_conn_exec(c, Q_USER_SET_ROUTING, error, "forward_to", r->forward_to, "keep",
                                r->forward_keep_copy, "assistants", r->assistants, "assistant_only",
                                r->assistant_only, "everyone", r->in_everyone, "name", name, NULL);
    return updated_one(rows, "user", name, error) && store_directory_bump(c, error);
}

gboolean
store_user_set_quota(StoreConn *c, const char *name, gint64 quota_bytes, GError **error)
{
    gint rows =
        store_conn_exec(c, Q_USER_SET_QUOTA, error, "quota", quota_bytes, "name", name, NULL);
    return updated_one(rows, "user", name, error);
}

gboolean
store_list_set_local_only(StoreConn *c, const char *name, gboolean local_only, GError **error)
{
    gint rows = store_conn_exec(c, Q_LIST_SET_LOCAL_ONLY, error, "local_only", local_only, "name",
                                name, NULL);
    return updated_one(rows, "list", name, error) && store_directory_bump(c, error);
}

/* ---- delivery ---- */

void
store_quota_alert_free(StoreQuotaAlert *alert)
{
    if (alert == NULL)
        return;
    g_free(alert->user);
    g_free(alert);
}

static int
quota_level(gint64 used, gint64 quota)
{
    if (quota <= 0)
        return 0;
    gint64 percent = used * 100 / quota;
    return percent >= 120 ? 120 : percent >= 100 ? 100 : percent >= 80 ? 80 : 0;
}

/* Records the level now reached; returns it if it is newly higher. A
 * mailbox that shrank re-arms the lower alerts. */
static int
update_quota_level(StoreConn *c, gint64 user_id, StoreQuotaAlert *out, GError **error)
{
    g_autoptr(GdaDataModel) m =
        store_conn_select(c, Q_USER_QUOTA_STATE, error, "id", user_id, NULL);
    if (m == NULL || gda_data_model_get_n_rows(m) != 1)
        return -1;
    gint64 used = store_model_int64(m, 0, 0);
    gint64 quota = store_model_int64(m, 1, 0);
    int sent = (int)store_model_int64(m, 2, 0);
    int level = quota_level(used, quota);
    if (level != sent &&
        store_conn_exec(c, Q_USER_QUOTA_ALERT_SET, error, "level", level, "id", user_id, NULL) < 0)
        return -1;
    if (level <= sent)
        return 0;
    if (out != NULL) {
        out->user = store_model_string(m, 3, 0);
        out->level = level;
        out->used = used;
        out->quota = quota;
    }
    return level;
}

/* A mailbox user of a delivery batch: its INBOX and what the batch adds. */
typedef struct {
    const char *name;
    guint entries; /* messages the batch puts in the INBOX */
    gint64 bytes;  /* what they add to the usage */
    gint64 folder_id;
    gint64 user_id;
    gint64 next_uid; /* of the batch's next entry, in batch order */
    gint64 next_modseq;
    gint64 used; /* usage up to the entry being walked */
    gint64 quota;
    int level;        /* quota level announced */
    int stored_level; /* ... as the row says */
} BatchUser;

static int
compare_batch_users(gconstpointer a, gconstpointer b)
{
    return strcmp((*(BatchUser *const *)a)->name, (*(BatchUser *const *)b)->name);
}

static gint64
entry_bytes(const StoreMessage *msg, const StoreDeliveryTarget *t)
{
    return msg->size + (t->prefix != NULL ? (gint64)strlen(t->prefix) : 0);
}

/* The batch's message ids: the newest rows in one statement, any other
 * (another instance inserted in between, on PostgreSQL) by its path. */
static gboolean
batch_message_ids(StoreConn *c, StoreDelivery *d, guint n, GError **error)
{
    if (n > 1) {
        g_autoptr(GdaDataModel) m =
            store_conn_select(c, Q_MESSAGES_NEWEST, error, "n", (gint64)n, NULL);
        if (m == NULL)
            return FALSE;
        g_autoptr(GHashTable) by_path = g_hash_table_new(g_str_hash, g_str_equal);
        for (guint i = 0; i < n; i++)
            g_hash_table_insert(by_path, (gpointer)d[i].message->spool_path, &d[i]);
        for (int r = 0; r < gda_data_model_get_n_rows(m); r++) {
            g_autofree char *path = store_model_string(m, 1, r);
            StoreDelivery *one = path != NULL ? g_hash_table_lookup(by_path, path) : NULL;
            if (one != NULL)
                one->message_id = store_model_int64(m, 0, r);
        }
    }
    for (guint i = 0; i < n; i++) {
        if (d[i].message_id != 0)
            continue;
        g_autoptr(GdaDataModel) idm = store_conn_select(c, Q_MESSAGE_ID_BY_PATH, error, "path",
                                                        d[i].message->spool_path, NULL);
        if (idm == NULL)
            return FALSE;
        if (gda_data_model_get_n_rows(idm) != 1) {
            g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                                _("The new message could not be read back."));
            return FALSE;
        }
        d[i].message_id = store_model_int64(idm, 0, 0);
    }
    return TRUE;
}

/* Takes @u's UIDs and adds its usage; reads its INBOX and quota state. */
static gboolean
batch_user_begin(StoreConn *c, BatchUser *u, GError **error)
{
    gint rows = store_conn_exec(c, Q_INBOX_TAKE_UIDS, error, "n", (gint64)u->entries, "name",
                                u->name, NULL);
    if (rows < 0)
        return FALSE;
    if (rows == 0) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND,
                    _("The user “%s” does not exist."), u->name);
        return FALSE;
    }
    if (store_conn_exec(c, Q_USER_USAGE_ADD_BY_NAME, error, "delta", u->bytes, "name", u->name,
                        NULL) < 0)
        return FALSE;
    g_autoptr(GdaDataModel) m =
        store_conn_select(c, Q_INBOX_DELIVERY_STATE, error, "name", u->name, NULL);
    if (m == NULL)
        return FALSE;
    if (gda_data_model_get_n_rows(m) != 1) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND,
                    _("The user “%s” does not exist."), u->name);
        return FALSE;
    }
    u->folder_id = store_model_int64(m, 0, 0);
    /* The batch took the last u->entries UIDs and modseqs. */
    u->next_uid = store_model_int64(m, 1, 0) - u->entries;
    u->next_modseq = store_model_int64(m, 2, 0) - u->entries + 1;
    u->user_id = store_model_int64(m, 3, 0);
    u->used = store_model_int64(m, 4, 0) - u->bytes;
    u->quota = store_model_int64(m, 5, 0);
    u->level = u->stored_level = (int)store_model_int64(m, 6, 0);
    return TRUE;
}

gboolean
store_deliver_batch(StoreConn *c, StoreDelivery *d, guint n, GError **error)
{
    g_autoptr(GHashTable) by_name = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    g_autoptr(GPtrArray) users = g_ptr_array_new();
    g_autofree guint *n_alerts = g_new0(guint, n + 1);
    gint64 now = unix_now();

    for (guint i = 0; i < n; i++) {
        n_alerts[i] = d[i].alerts != NULL ? d[i].alerts->len : 0;
        d[i].message_id = 0;
    }
    /* The message rows first: on SQLite a transaction that starts with a
     * write holds the write lock from its first statement, where one that
     * read first would fail to upgrade when another writer came in between. */
    for (guint i = 0; i < n; i++) {
        const StoreMessage *msg = d[i].message;
        if (store_conn_exec(c, Q_MESSAGE_ADD, error, "path", msg->spool_path, "size", msg->size,
                            "received", msg->received, "sender", msg->sender, "subject",
                            msg->subject, "from", msg->from, "date", msg->date, "message_id",
                            msg->message_id, NULL) < 0)
            goto fail;
    }
    if (!batch_message_ids(c, d, n, error))
        goto fail;
    /* What IMAP FETCH needs, made at delivery (delivery.c) so that no
     * FETCH parses the message. */
    for (guint i = 0; i < n; i++) {
        if (d[i].message->mime == NULL)
            continue;
        StoreMime row = *d[i].message->mime;
        row.message_id = d[i].message_id;
        if (!store_mime_put(c, &row, error))
            goto fail;
    }

    /* Each user's statements once per batch, users in name order so that
     * concurrent batches (other instances, PostgreSQL) lock their rows in
     * the same order. */
    for (guint i = 0; i < n; i++) {
        for (guint t = 0; t < d[i].n_targets; t++) {
            const StoreDeliveryTarget *target = &d[i].targets[t];
            BatchUser *u = g_hash_table_lookup(by_name, target->user);
            if (u == NULL) {
                u = g_new0(BatchUser, 1);
                u->name = target->user;
                g_hash_table_insert(by_name, (gpointer)u->name, u);
                g_ptr_array_add(users, u);
            }
            u->entries++;
            u->bytes += entry_bytes(d[i].message, target);
        }
    }
    g_ptr_array_sort(users, compare_batch_users);
    for (guint k = 0; k < users->len; k++) {
        if (!batch_user_begin(c, users->pdata[k], error))
            goto fail;
    }

    /* The mailbox entries in batch order: UIDs, usage and quota levels come
     * out as if each message had been delivered alone, one after another. */
    for (guint i = 0; i < n; i++) {
        const StoreMessage *msg = d[i].message;
        for (guint t = 0; t < d[i].n_targets; t++) {
            const StoreDeliveryTarget *target = &d[i].targets[t];
            BatchUser *u = g_hash_table_lookup(by_name, target->user);
            if (store_conn_exec(c, Q_FOLDER_MESSAGE_ADD, error, "folder", u->folder_id, "message",
                                d[i].message_id, "uid", u->next_uid++, "modseq", u->next_modseq++,
                                "date", msg->received, "prefix",
                                target->prefix != NULL ? target->prefix : "", NULL) < 0)
                goto fail;
            u->used += entry_bytes(msg, target);
            /* A level newly reached is announced; one below the last
             * announced (the mailbox shrank) re-arms the alerts above it. */
            int level = quota_level(u->used, u->quota);
            if (level > u->level && d[i].alerts != NULL) {
                StoreQuotaAlert *alert = g_new0(StoreQuotaAlert, 1);
                alert->user = g_strdup(u->name);
                alert->level = level;
                alert->used = u->used;
                alert->quota = u->quota;
                g_ptr_array_add(d[i].alerts, alert);
            }
            u->level = level;
        }
        /* A collected message's remote UID counts as downloaded exactly
         * when the message is stored. */
        if (msg->collector_uid != NULL &&
            !store_collector_uid_downloaded(c, msg->collector_id, msg->collector_uid, now, error))
            goto fail;
        for (guint q = 0; q < d[i].n_remote; q++) {
            const StoreQueueTarget *r = &d[i].remote[q];
            if (store_conn_exec(c, Q_QUEUE_ADD, error, "message", d[i].message_id, "sender",
                                msg->sender, "recipient", r->recipient, "now", now, "notify",
                                r->notify != NULL ? r->notify : "", "orcpt",
                                r->orcpt != NULL ? r->orcpt : "", "ret",
                                msg->dsn_ret != NULL ? msg->dsn_ret : "", "envid",
                                msg->dsn_envid != NULL ? msg->dsn_envid : "", NULL) < 0)
                goto fail;
        }
    }
    for (guint k = 0; k < users->len; k++) {
        BatchUser *u = users->pdata[k];
        if (u->level != u->stored_level &&
            store_conn_exec(c, Q_USER_QUOTA_ALERT_SET, error, "level", u->level, "id", u->user_id,
                            NULL) < 0)
            goto fail;
    }
    return TRUE;

fail:
    /* The caller rolls back: alerts of rows that will not exist must not be
     * sent. */
    for (guint i = 0; i < n; i++) {
        if (d[i].alerts != NULL)
            g_ptr_array_set_size(d[i].alerts, n_alerts[i]);
        d[i].message_id = 0;
    }
    return FALSE;
}

gint64
store_deliver_rows(StoreConn *c, const StoreMessage *msg, const StoreDeliveryTarget *targets,
                   guint n_targets, const StoreQueueTarget *remote, guint n_remote,
                   GPtrArray *alerts, GError **error)
{
    StoreDelivery d = { msg, targets, n_targets, remote, n_remote, alerts, 0 };
    return store_deliver_batch(c, &d, 1, error) ? d.message_id : 0;
}

gint64
store_deliver(StoreConn *c, const StoreMessage *msg, const StoreDeliveryTarget *targets,
              guint n_targets, const StoreQueueTarget *remote, guint n_remote, GPtrArray *alerts,
              GError **error)
{
    guint n_alerts = alerts != NULL ? alerts->len : 0;

    if (!store_begin(c, error))
        return 0;
    gint64 message_id =
        store_deliver_rows(c, msg, targets, n_targets, remote, n_remote, alerts, error);
    if (message_id == 0) {
        store_rollback(c);
        return 0;
    }
    if (!store_commit(c, error)) {
        if (alerts != NULL)
            g_ptr_array_set_size(alerts, n_alerts);
        return 0;
    }
    return message_id;
}

gint64
store_spool_sweep(StoreConn *c, const char *spool_dir, gint64 older_than, GError **error)
{
    g_autoptr(GDir) top = g_dir_open(spool_dir, 0, NULL);
    const char *bucket;
    gint64 removed = 0;

    while (top != NULL && (bucket = g_dir_read_name(top)) != NULL) {
        g_autofree char *bucket_path = g_build_filename(spool_dir, bucket, NULL);
        g_autoptr(GDir) d = g_dir_open(bucket_path, 0, NULL);
        const char *name;
        while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
            g_autofree char *path = g_build_filename(bucket_path, name, NULL);
            g_autofree char *relative = g_build_filename(bucket, name, NULL);
            GStatBuf st;
            if (name[0] == '.' || g_stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
                st.st_mtime >= older_than)
                continue; /* temporary files are spool_cleanup()'s */
            g_autoptr(GdaDataModel) m =
                store_conn_select(c, Q_MESSAGE_ID_BY_PATH, error, "path", relative, NULL);
            if (m == NULL)
                return -1;
            if (gda_data_model_get_n_rows(m) == 0 && g_unlink(path) == 0)
                removed++;
        }
    }
    return removed;
}

gboolean
store_msgaudit_add(StoreConn *c, const char *component, const char *owner, const char *actor,
                   const char *cmd, const char *ip, const char *folder, const char *subject,
                   const char *sender, const char *msgdate, GError **error)
{
#define S(x) ((x) != NULL ? (x) : "")
    return store_conn_exec(c, Q_MSGAUDIT_ADD, error, "now", unix_now(), "component", component,
                           "owner", S(owner), "actor", S(actor), "cmd", cmd, "ip", S(ip), "folder",
                           S(folder), "subject", S(subject), "sender", S(sender), "msgdate",
                           S(msgdate), NULL) >= 0;
#undef S
}

/* ---- mailboxes ---- */

void
store_mail_item_clear(StoreMailItem *item)
{
    g_clear_pointer(&item->spool_path, g_free);
    g_clear_pointer(&item->prefix, g_free);
    g_clear_pointer(&item->flags, g_free);
}

gint64
store_mailbox_lock(StoreConn *c, const char *user, const char *folder, const char *holder,
                   const char *instance, gboolean exclusive, gint64 expires, guint32 *uidvalidity,
                   GError **error)
{
    g_autoptr(GdaDataModel) f = NULL;
    g_autoptr(GdaDataModel) holders = NULL;
    gint64 folder_id;

    /* Relaxed: a lock row lost to a power loss belonged to a session the
     * restart ended (and releases, mailbox_release_stale), and a lock that
     * comes back expires. */
    if (!store_begin_relaxed(c, error))
        return 0;
    /* A write first: the row lock it takes serialises this check between
     * instances sharing a PostgreSQL database, and SQLite then holds its
     * write lock from the start (a read that later turns into a write fails
     * at once, without waiting, when another writer came in between). */
    gint rows = store_conn_exec(c, Q_FOLDER_LOCK_SERIAL_BY_NAME, error, "folder", folder, "name",
                                user, NULL);
    if (rows < 0)
        goto fail;
    f = store_conn_select(c, Q_FOLDER_OF_USER, error, "name", user, "folder", folder, NULL);
    if (f == NULL)
        goto fail;
    if (rows == 0 || gda_data_model_get_n_rows(f) != 1) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND,
                    _("The user “%s” has no folder “%s”."), user, folder);
        goto fail;
    }
    folder_id = store_model_int64(f, 0, 0);
    if (uidvalidity != NULL)
        *uidvalidity = (guint32)store_model_int64(f, 1, 0);
    if (store_conn_exec(c, Q_LOCK_PURGE_EXPIRED, error, "id", folder_id, "now", unix_now(), NULL) <
        0)
        goto fail;
    holders = store_conn_select(c, Q_LOCK_HOLDERS, error, "id", folder_id, NULL);
    if (holders == NULL)
        goto fail;
    for (int r = 0; r < gda_data_model_get_n_rows(holders); r++) {
        if (exclusive || store_model_bool(holders, 1, r)) {
            g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_LOCKED,
                        _("The mailbox of %s is in use by another session."), user);
            goto fail;
        }
    }
    if (store_conn_exec(c, Q_LOCK_ADD, error, "id", folder_id, "holder", holder, "instance",
                        instance, "exclusive", exclusive, "expires", expires, NULL) < 0)
        goto fail;
    if (!store_commit(c, error))
        return 0;
    return folder_id;

fail:
    store_rollback(c);
    return 0;
}

/* A lock row changes in a relaxed transaction (see store_mailbox_lock()). */
static gboolean
lock_row_update(StoreConn *c, StoreQuery query, gint64 folder_id, const char *holder,
                gint64 expires, GError **error)
{
    if (!store_begin_relaxed(c, error))
        return FALSE;
    gint rows = query == Q_LOCK_REFRESH
                    ? store_conn_exec(c, query, error, "expires", expires, "id", folder_id,
                                      "holder", holder, NULL)
                    : store_conn_exec(c, query, error, "id", folder_id, "holder", holder, NULL);
    if (rows < 0) {
        store_rollback(c);
        return FALSE;
    }
    return store_commit(c, error);
}

gboolean
store_mailbox_refresh(StoreConn *c, gint64 folder_id, const char *holder, gint64 expires,
                      GError **error)
{
    return lock_row_update(c, Q_LOCK_REFRESH, folder_id, holder, expires, error);
}

gboolean
store_mailbox_unlock(StoreConn *c, gint64 folder_id, const char *holder, GError **error)
{
    return lock_row_update(c, Q_LOCK_RELEASE, folder_id, holder, 0, error);
}

gint64
store_mailbox_unlock_instance(StoreConn *c, const char *instance, GError **error)
{
    return store_conn_exec(c, Q_LOCK_RELEASE_INSTANCE, error, "instance", instance, NULL);
}

static GArray *
mail_items(GdaDataModel *m)
{
    int n = gda_data_model_get_n_rows(m);
    GArray *items = g_array_sized_new(FALSE, TRUE, sizeof(StoreMailItem), n);
    g_array_set_clear_func(items, (GDestroyNotify)store_mail_item_clear);
    for (int r = 0; r < n; r++) {
        StoreMailItem item = { 0 };
        item.uid = (guint32)store_model_int64(m, 0, r);
        item.message_id = store_model_int64(m, 1, r);
        item.spool_path = store_model_string(m, 3, r);
        item.prefix = store_model_string(m, 4, r);
        if (item.prefix == NULL)
            item.prefix = g_strdup("");
        item.size = store_model_int64(m, 2, r) + (gint64)strlen(item.prefix);
        item.flags = store_model_string(m, 5, r);
        if (item.flags == NULL)
            item.flags = g_strdup("");
        item.modseq = store_model_int64(m, 6, r);
        item.internaldate = store_model_int64(m, 7, r);
        g_array_append_val(items, item);
    }
    return items;
}

GArray *
store_mailbox_list(StoreConn *c, gint64 folder_id, GError **error)
{
    g_autoptr(GdaDataModel) m =
        store_conn_select(c, Q_MAILBOX_LIST, error, "id", folder_id, "held", FALSE, NULL);
    return m != NULL ? mail_items(m) : NULL;
}

GArray *
store_mailbox_list_since(StoreConn *c, gint64 folder_id, gint64 modseq, GError **error)
{
    g_autoptr(GdaDataModel) m = store_conn_select(c, Q_MAILBOX_IMAP_LIST_SINCE, error, "id",
                                                  folder_id, "held", FALSE, "modseq", modseq, NULL);
    return m != NULL ? mail_items(m) : NULL;
}

/* The msgaudit row of one message of a Q_MAILBOX_ENTRY result. */
static gboolean
entry_audit(StoreConn *c, const StoreMailAudit *audit, GdaDataModel *entry, GError **error)
{
    g_autofree char *subject = store_model_string(entry, 3, 0);
    g_autofree char *sender = store_model_string(entry, 4, 0);
    g_autofree char *date = store_model_string(entry, 5, 0);
    return store_msgaudit_add(c, audit->component, audit->owner, audit->actor, audit->cmd,
                              audit->ip, audit->folder, subject, sender, date, error);
}

gboolean
store_mailbox_delete(StoreConn *c, gint64 folder_id, const guint32 *uids, guint n, gboolean hold,
                     const StoreMailAudit *audit, GPtrArray *unlink_paths, GError **error)
{
    g_autoptr(GdaDataModel) owner = NULL;
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    gint64 freed = 0;

    if (n == 0)
        return TRUE;
    /* A write first, for the reason given in store_mailbox_lock(). */
    if (!store_begin(c, error))
        return FALSE;
    /* The same statement bumps HIGHESTMODSEQ: an expunge is a change
     * (RFC 7162 §3.1.8). */
    if (store_conn_exec(c, Q_MAILBOX_IMAP_EXPUNGE_TOUCH, error, "id", folder_id, NULL) < 0)
        goto fail;
    owner = store_conn_select(c, Q_FOLDER_USER, error, "id", folder_id, NULL);
    if (owner == NULL || gda_data_model_get_n_rows(owner) != 1)
        goto fail;
    for (guint i = 0; i < n; i++) {
        g_autoptr(GdaDataModel) entry = store_conn_select(c, Q_MAILBOX_ENTRY, error, "id",
                                                          folder_id, "uid", (gint64)uids[i], NULL);
        if (entry == NULL)
            goto fail;
        if (gda_data_model_get_n_rows(entry) == 0)
            continue; /* already gone: deleting twice is not an error */
        if (audit != NULL && !entry_audit(c, audit, entry, error))
            goto fail;
        gint64 message_id = store_model_int64(entry, 0, 0);
        if (hold) {
            if (store_conn_exec(c, Q_MAILBOX_HOLD, error, "held", TRUE, "id", folder_id, "uid",
                                (gint64)uids[i], NULL) < 0)
                goto fail;
            continue;
        }
        g_autofree char *prefix = store_model_string(entry, 2, 0);
        freed += store_model_int64(entry, 1, 0) + (prefix != NULL ? (gint64)strlen(prefix) : 0);
        if (store_conn_exec(c, Q_MAILBOX_DELETE, error, "id", folder_id, "uid", (gint64)uids[i],
                            NULL) < 0)
            goto fail;
        /* The message row's lock orders us with a queue entry of the same
         * message finishing on another instance: the later transaction sees
         * the earlier one's change, so one of them removes the message. */
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
    if (freed > 0) {
        gint64 user_id = store_model_int64(owner, 0, 0);
        if (store_conn_exec(c, Q_USER_USAGE_ADD, error, "delta", -freed, "id", user_id, NULL) < 0 ||
            update_quota_level(c, user_id, NULL, error) < 0)
            goto fail;
    }
    if (!store_commit(c, error))
        return FALSE;
    for (guint i = 0; unlink_paths != NULL && i < paths->len; i++)
        g_ptr_array_add(unlink_paths, g_strdup(paths->pdata[i]));
    return TRUE;

fail:
    if (error != NULL && *error == NULL)
        g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                            _("The folder changed while messages were being deleted."));
    store_rollback(c);
    return FALSE;
}
