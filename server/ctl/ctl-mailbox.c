/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "ctl.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>

#include "store/store-mailbox-admin.h"
#include "unix-time.h"

/* mailbox list, held, release, purge, unlock: what POP3 leaves in the
 * store for the administrator. Messages a POP3 client deleted while the
 * pop3 module's hold_deleted is on stay "held": invisible to every client,
 * kept in the store (VPOP3's "hold messages instead of deleting them"), until
 * released (visible again, msgaudit "U") or purged (deleted for good,
 * msgaudit "P"). Mailbox locks are the database rows that keep a second
 * POP3 session out ([IN-USE]); a live holder renews its lock every minute,
 * one that died leaves it until it expires. */

/* As server/mailbox.c: a lock this tool takes expires by itself if the
 * tool dies. */
#define LOCK_TTL_SECONDS 300

typedef enum {
    LOCK_LIVE,    /* not expired, and its holder may be running */
    LOCK_EXPIRED, /* ignored by the next session that opens the mailbox */
    LOCK_DEAD,    /* not expired, but its process on this host is gone */
} LockState;

static void
set_store_error(GError **error, const GError *local)
{
    int code = ctl_exit_code(local);
    CtlError ctl_code = code == EX_NOUSER        ? CTL_ERROR_NO_USER
                        : code == EX_IOERR       ? CTL_ERROR_IO
                        : code == EX_UNAVAILABLE ? CTL_ERROR_UNAVAILABLE
                                                 : CTL_ERROR_SOFTWARE;
    g_set_error(error, CTL_ERROR, ctl_code, _("Database error: %s"), local->message);
}

/* The instance name postroomd uses for its locks ([server] hostname). */
static const char *
instance_name(Ctl *ctl)
{
    const char *name = config_get_string(ctl->config, "server", "hostname");
    return name != NULL && *name != '\0' ? name : g_get_host_name();
}

/* Holders end in " [HOST:PID:SERIAL]" (server/mailbox.c). A lock taken on
 * this host by a process that no longer exists is dead; anything else that
 * has not expired may be live. */
static LockState
lock_state(Ctl *ctl, const StoreMailboxLock *lock, gint64 now)
{
    if (lock->expires < now)
        return LOCK_EXPIRED;
    if (strcmp(lock->instance, instance_name(ctl)) != 0)
        return LOCK_LIVE;
    const char *open = strrchr(lock->holder, '[');
    const char *close = open != NULL ? strchr(open, ']') : NULL;
    if (close == NULL)
        return LOCK_LIVE;
    g_autofree char *inner = g_strndup(open + 1, close - open - 1);
    char *serial = strrchr(inner, ':');
    if (serial == NULL)
        return LOCK_LIVE;
    *serial = '\0';
    char *pid_text = strrchr(inner, ':');
    guint64 pid = 0;
    if (pid_text == NULL)
        return LOCK_LIVE;
    *pid_text++ = '\0';
    if (strcmp(inner, instance_name(ctl)) != 0 ||
        !g_ascii_string_to_unsigned(pid_text, 10, 1, G_MAXINT, &pid, NULL))
        return LOCK_LIVE;
    /* EPERM: it exists under another user (postroomd's service user). */
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return LOCK_DEAD;
    return LOCK_LIVE;
}

static const char *
lock_state_name(LockState state)
{
    return state == LOCK_EXPIRED ? "expired" : state == LOCK_DEAD ? "dead" : "live";
}

/* @user's INBOX summary; EX_NOUSER when there is no such user. */
static StoreMailboxSummary *
get_summary(Ctl *ctl, const char *user, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(GPtrArray) all = store_mailbox_summaries(ctl->conn, user, &local);
    if (all == NULL) {
        set_store_error(error, local);
        return NULL;
    }
    if (all->len != 1) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_NO_USER,
                    _("The user “%s” does not exist; see 'postroomctl user list'."), user);
        return NULL;
    }
    return g_ptr_array_steal_index(all, 0);
}

static char *
user_argument(Ctl *ctl, const char *arg, GError **error)
{
    g_autofree char *name = ctl_check_user_name(arg, error);
    if (name == NULL || !ctl_open_store(ctl, error))
        return NULL;
    return g_steal_pointer(&name);
}

/* ---- list ---- */

static void
summary_to_json(CtlJson *json, Ctl *ctl, const StoreMailboxSummary *s, GPtrArray *locks, gint64 now)
{
    ctl_json_begin_object(json);
    ctl_json_key(json, "user");
    ctl_json_string(json, s->user);
    ctl_json_key(json, "messages");
    ctl_json_int(json, s->messages);
    ctl_json_key(json, "octets");
    ctl_json_int(json, s->octets);
    ctl_json_key(json, "held");
    ctl_json_int(json, s->held);
    ctl_json_key(json, "held_octets");
    ctl_json_int(json, s->held_octets);
    ctl_json_key(json, "locks");
    ctl_json_begin_array(json);
    for (guint i = 0; i < locks->len; i++) {
        StoreMailboxLock *l = locks->pdata[i];
        if (strcmp(l->user, s->user) != 0)
            continue;
        ctl_json_begin_object(json);
        ctl_json_key(json, "folder");
        ctl_json_string(json, l->folder);
        ctl_json_key(json, "holder");
        ctl_json_string(json, l->holder);
        ctl_json_key(json, "instance");
        ctl_json_string(json, l->instance);
        ctl_json_key(json, "exclusive");
        ctl_json_bool(json, l->exclusive);
        ctl_json_key(json, "expires");
        ctl_json_int(json, l->expires);
        ctl_json_key(json, "state");
        ctl_json_string(json, lock_state_name(lock_state(ctl, l, now)));
        ctl_json_end_object(json);
    }
    ctl_json_end_array(json);
    ctl_json_end_object(json);
}

int
ctl_cmd_mailbox_list(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *user = NULL;
    gint64 now = unix_now();

    if (args[0] != NULL) {
        if ((user = user_argument(ctl, args[0], error)) == NULL)
            return -1;
    } else if (!ctl_open_store(ctl, error)) {
        return -1;
    }
    g_autoptr(GPtrArray) summaries = store_mailbox_summaries(ctl->conn, user, &local);
    g_autoptr(GPtrArray) locks =
        summaries != NULL ? store_mailbox_locks(ctl->conn, user, &local) : NULL;
    if (locks == NULL) {
        set_store_error(error, local);
        return -1;
    }
    if (user != NULL && summaries->len == 0) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_NO_USER,
                    _("The user “%s” does not exist; see 'postroomctl user list'."), user);
        return -1;
    }
    if (ctl->json) {
        g_autoptr(CtlJson) json = ctl_json_new();
        ctl_json_begin_array(json);
        for (guint i = 0; i < summaries->len; i++)
            summary_to_json(json, ctl, summaries->pdata[i], locks, now);
        ctl_json_end_array(json);
        return ctl_json_print(json, error) ? 0 : -1;
    }
    if (summaries->len == 0) {
        g_print(_("There are no users.\n"));
        return 0;
    }
    g_autoptr(CtlTable) table = ctl_table_new(7, _("USER"), _("MESSAGES"), _("SIZE"), _("HELD"),
                                              _("HELD SIZE"), _("LOCKED BY"), _("UNTIL"));
    for (guint i = 0; i < summaries->len; i++) {
        StoreMailboxSummary *s = summaries->pdata[i];
        g_autofree char *messages = g_strdup_printf("%" G_GINT64_FORMAT, s->messages);
        g_autofree char *size = g_format_size(s->octets);
        g_autofree char *held = g_strdup_printf("%" G_GINT64_FORMAT, s->held);
        g_autofree char *held_size = g_format_size(s->held_octets);
        g_autofree char *holder = NULL;
        g_autofree char *until = NULL;
        guint n_locks = 0;
        for (guint k = 0; k < locks->len; k++) {
            StoreMailboxLock *l = locks->pdata[k];
            if (strcmp(l->user, s->user) != 0)
                continue;
            if (n_locks++ == 0) {
                LockState state = lock_state(ctl, l, now);
                g_autofree char *time = ctl_format_time(l->expires);
                holder = g_strdup(l->holder);
                until = state == LOCK_LIVE      ? g_strdup(time)
                        : state == LOCK_EXPIRED ? g_strdup_printf(_("%s (expired)"), time)
                                                : g_strdup_printf(_("%s (holder gone)"), time);
            }
        }
        if (n_locks > 1) {
            char *more = g_strdup_printf(_("%s (and %u more)"), holder, n_locks - 1);
            g_free(holder);
            holder = more;
        }
        ctl_table_add_row(table, s->user, messages, size, held, held_size,
                          holder != NULL ? holder : "-", until != NULL ? until : "-");
    }
    ctl_table_print(table);
    return 0;
}

/* ---- held ---- */

int
ctl_cmd_mailbox_held(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *user = user_argument(ctl, args[0], error);
    if (user == NULL)
        return -1;
    g_autoptr(StoreMailboxSummary) s = get_summary(ctl, user, error);
    if (s == NULL)
        return -1;
    g_autoptr(GPtrArray) held = store_mailbox_held(ctl->conn, s->folder_id, &local);
    if (held == NULL) {
        set_store_error(error, local);
        return -1;
    }
    if (ctl->json) {
        g_autoptr(CtlJson) json = ctl_json_new();
        ctl_json_begin_array(json);
        for (guint i = 0; i < held->len; i++) {
            StoreHeldMessage *h = held->pdata[i];
            ctl_json_begin_object(json);
            ctl_json_key(json, "uid");
            ctl_json_int(json, h->uid);
            ctl_json_key(json, "size");
            ctl_json_int(json, h->size);
            ctl_json_key(json, "received");
            ctl_json_int(json, h->received);
            ctl_json_key(json, "sender");
            ctl_json_string(json, h->sender);
            ctl_json_key(json, "from");
            ctl_json_string(json, h->from);
            ctl_json_key(json, "subject");
            ctl_json_string(json, h->subject);
            ctl_json_key(json, "date");
            ctl_json_string(json, h->date);
            ctl_json_key(json, "message_id");
            ctl_json_string(json, h->message_id);
            ctl_json_end_object(json);
        }
        ctl_json_end_array(json);
        return ctl_json_print(json, error) ? 0 : -1;
    }
    if (held->len == 0) {
        g_print(_("The mailbox of %s has no held messages.\n"), user);
        return 0;
    }
    g_autoptr(CtlTable) table =
        ctl_table_new(5, _("UID"), _("SIZE"), _("RECEIVED"), _("SENDER"), _("SUBJECT"));
    for (guint i = 0; i < held->len; i++) {
        StoreHeldMessage *h = held->pdata[i];
        g_autofree char *uid = g_strdup_printf("%u", h->uid);
        g_autofree char *size = g_format_size(h->size);
        g_autofree char *received = ctl_format_time(h->received);
        ctl_table_add_row(table, uid, size, received, *h->sender != '\0' ? h->sender : "<>",
                          h->subject);
    }
    ctl_table_print(table);
    return 0;
}

/* ---- release and purge ---- */

typedef enum {
    HELD_RELEASE,
    HELD_PURGE,
} HeldAction;

/* The mailbox is changed under its exclusive lock, as a POP3 session
 * would: VPOP3 allows no administrator access while POP3 holds it, and a
 * session that opened meanwhile would count the messages wrong. */
static gboolean
take_lock(Ctl *ctl, const char *user, const char *holder, GError **error)
{
    g_autoptr(GError) local = NULL;
    if (store_mailbox_lock(ctl->conn, user, "INBOX", holder, instance_name(ctl), TRUE,
                           unix_now() + LOCK_TTL_SECONDS, NULL, &local) != 0)
        return TRUE;
    if (!g_error_matches(local, PR_STORE_ERROR, PR_STORE_ERROR_LOCKED)) {
        set_store_error(error, local);
        return FALSE;
    }
    g_autoptr(GPtrArray) locks = store_mailbox_locks(ctl->conn, user, NULL);
    g_autofree char *by = ctl_printable(
        locks != NULL && locks->len > 0 ? ((StoreMailboxLock *)locks->pdata[0])->holder : "?");
    g_set_error(error, CTL_ERROR, CTL_ERROR_TEMPFAIL,
                _("The mailbox of %s is in use by %s; try again when that session is over (see "
                  "'postroomctl mailbox unlock' for a lock left behind)."),
                user, by);
    return FALSE;
}

static int
held_action(Ctl *ctl, char **args, HeldAction action, GError **error)
{
    g_autoptr(GError) local = NULL;
    guint64 uid = 0;

    /* A UID or --all, never neither: a forgotten argument must not act on
     * every held message. */
    if ((args[1] != NULL) == ctl_options.all) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE, _("Give a message UID or --all."));
        return -1;
    }
    if (args[1] != NULL && !g_ascii_string_to_unsigned(args[1], 10, 1, G_MAXUINT32, &uid, NULL)) {
        g_autofree char *shown = ctl_printable(args[1]);
        g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE,
                    _("Invalid message UID “%s”: give the number 'postroomctl mailbox held' "
                      "shows."),
                    shown);
        return -1;
    }
    g_autofree char *user = user_argument(ctl, args[0], error);
    if (user == NULL)
        return -1;
    g_autoptr(StoreMailboxSummary) s = get_summary(ctl, user, error);
    if (s == NULL)
        return -1;

    g_autofree char *holder =
        g_strdup_printf("postroomctl [%s:%d:0]", instance_name(ctl), (int)getpid());
    if (!take_lock(ctl, user, holder, error))
        return -1;
    StoreMailAudit audit = { "W",  action == HELD_RELEASE ? "U" : "P",
                             user, g_get_user_name(),
                             NULL, "INBOX" };
    const StoreMailAudit *a = config_get_bool(ctl->config, "delivery", "msgaudit") ? &audit : NULL;
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    gint64 n = action == HELD_RELEASE
                   ? store_mailbox_release(ctl->conn, s->folder_id, (guint32)uid, a, &local)
                   : store_mailbox_purge(ctl->conn, s->folder_id, (guint32)uid, a, paths, &local);
    g_autoptr(GError) unlock_error = NULL;
    if (!store_mailbox_unlock(ctl->conn, s->folder_id, holder, &unlock_error))
        ctl_warn(_("The mailbox lock was not removed (it expires in %d minutes): %s"),
                 LOCK_TTL_SECONDS / 60, unlock_error->message);
    ctl_unlink_spool_files(ctl, paths);
    if (n < 0) {
        if (g_error_matches(local, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND))
            g_set_error(error, CTL_ERROR, CTL_ERROR_NO_USER,
                        _("The mailbox of %s has no held message with UID %u; see 'postroomctl "
                          "mailbox held %s'."),
                        user, (guint)uid, user);
        else
            set_store_error(error, local);
        return -1;
    }
    gulong count = (gulong)n;
    if (count == 0)
        g_print(_("The mailbox of %s has no held messages.\n"), user);
    else if (action == HELD_RELEASE)
        g_print(ngettext("Released %lu held message of %s.\n",
                         "Released %lu held messages of %s.\n", count),
                count, user);
    else
        g_print(ngettext("Purged %lu held message of %s.\n", "Purged %lu held messages of %s.\n",
                         count),
                count, user);
    return 0;
}

int
ctl_cmd_mailbox_release(Ctl *ctl, char **args, GError **error)
{
    return held_action(ctl, args, HELD_RELEASE, error);
}

int
ctl_cmd_mailbox_purge(Ctl *ctl, char **args, GError **error)
{
    return held_action(ctl, args, HELD_PURGE, error);
}

/* ---- unlock ---- */

int
ctl_cmd_mailbox_unlock(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *user = user_argument(ctl, args[0], error);
    gint64 now = unix_now();
    guint refused = 0;
    const StoreMailboxLock *first_refused = NULL;

    if (user == NULL)
        return -1;
    g_autoptr(StoreMailboxSummary) s = get_summary(ctl, user, error);
    if (s == NULL)
        return -1;
    g_autoptr(GPtrArray) locks = store_mailbox_locks(ctl->conn, user, &local);
    if (locks == NULL) {
        set_store_error(error, local);
        return -1;
    }
    if (locks->len == 0) {
        g_print(_("The mailbox of %s is not locked.\n"), user);
        return 0;
    }
    for (guint i = 0; i < locks->len; i++) {
        StoreMailboxLock *l = locks->pdata[i];
        LockState state = lock_state(ctl, l, now);
        g_autofree char *holder = ctl_printable(l->holder);

        if (state == LOCK_LIVE && !ctl_options.force) {
            if (refused++ == 0)
                first_refused = l;
            continue;
        }
        gint64 n = store_mailbox_lock_remove(ctl->conn, user, l->folder, l->holder, &local);
        if (n < 0) {
            set_store_error(error, local);
            return -1;
        }
        if (n == 0)
            g_print(_("The lock held by %s is gone already.\n"), holder);
        else if (state == LOCK_EXPIRED)
            g_print(_("Removed the expired lock held by %s.\n"), holder);
        else if (state == LOCK_DEAD)
            g_print(_("Removed the lock held by %s: that process no longer runs.\n"), holder);
        else
            ctl_warn(_("Removed the lock held by %s, which may still be running: another session "
                       "can now open the mailbox of %s at the same time."),
                     holder, user);
    }
    if (refused > 0) {
        g_autofree char *holder = ctl_printable(first_refused->holder);
        g_autofree char *until = ctl_format_time(first_refused->expires);
        g_set_error(error, CTL_ERROR, CTL_ERROR_TEMPFAIL,
                    _("The mailbox of %s is locked by %s until %s, and that session may still be "
                      "running (a live session renews its lock every minute). Use --force to "
                      "remove the lock anyway."),
                    user, holder, until);
        return -1;
    }
    return 0;
}
