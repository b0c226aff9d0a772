/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "ctl.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "store/store-queue.h"

/* queue list, show, hold, release, delete, flush: the outbound queue as
 * VPOP3's *OUTQUEUE shows it. A running server sees the changes at its
 * next poll of the queue. */

static const char *const queue_states[] = { "pending",   "sending", "deferred", "held",
                                            "delivered", "failed",  NULL };

typedef enum {
    QUEUE_HOLD,
    QUEUE_RELEASE,
    QUEUE_DELETE,
    QUEUE_FLUSH,
} QueueAction;

static gboolean
parse_id(const char *text, gint64 *id, GError **error)
{
    guint64 value = 0;
    if (!g_ascii_string_to_unsigned(text, 10, 1, G_MAXINT64, &value, NULL)) {
        g_autofree char *shown = ctl_printable(text);
        g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE,
                    _("Invalid queue entry “%s”: give the number 'postroomctl queue list' shows."),
                    shown);
        return FALSE;
    }
    *id = (gint64)value;
    return TRUE;
}

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

/* The entry, or NULL with EX_NOUSER when it does not exist. */
static StoreQueueEntry *
get_entry(Ctl *ctl, gint64 id, GError **error)
{
    g_autoptr(GError) local = NULL;
    StoreQueueEntry *e = store_queue_get(ctl->conn, id, &local);
    if (e != NULL)
        return e;
    if (g_error_matches(local, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND))
        g_set_error(error, CTL_ERROR, CTL_ERROR_NO_USER,
                    _("Queue entry %lld does not exist; see 'postroomctl queue list'."),
                    (long long)id);
    else
        set_store_error(error, local);
    return NULL;
}

static gboolean
is_waiting(const StoreQueueEntry *e)
{
    return g_strcmp0(e->state, "pending") == 0 || g_strcmp0(e->state, "deferred") == 0;
}

static gboolean
is_finished(const StoreQueueEntry *e)
{
    return g_strcmp0(e->state, "delivered") == 0 || g_strcmp0(e->state, "failed") == 0;
}

static void
entry_to_json(CtlJson *json, const StoreQueueEntry *e)
{
    ctl_json_begin_object(json);
    ctl_json_key(json, "id");
    ctl_json_int(json, e->id);
    ctl_json_key(json, "message_id");
    ctl_json_int(json, e->message_id);
    ctl_json_key(json, "state");
    ctl_json_string(json, e->state);
    ctl_json_key(json, "sender");
    ctl_json_string(json, e->sender);
    ctl_json_key(json, "recipient");
    ctl_json_string(json, e->recipient);
    ctl_json_key(json, "subject");
    ctl_json_string(json, e->subject);
    ctl_json_key(json, "size");
    ctl_json_int(json, e->size);
    ctl_json_key(json, "priority");
    ctl_json_int(json, e->priority);
    ctl_json_key(json, "created");
    ctl_json_int(json, e->created);
    /* For delivered and failed entries: when they finished. */
    ctl_json_key(json, "next_try");
    ctl_json_int(json, e->next_try);
    ctl_json_key(json, "attempts");
    ctl_json_int(json, e->attempts);
    ctl_json_key(json, "last_error");
    ctl_json_string(json, e->last_error);
    ctl_json_key(json, "notify");
    ctl_json_string(json, e->notify);
    ctl_json_key(json, "orcpt");
    ctl_json_string(json, e->orcpt);
    ctl_json_key(json, "ret");
    ctl_json_string(json, e->ret);
    ctl_json_key(json, "envid");
    ctl_json_string(json, e->envid);
    ctl_json_key(json, "warned");
    ctl_json_int(json, e->warned);
    ctl_json_key(json, "claimed_by");
    ctl_json_string(json, e->claimed_by);
    ctl_json_key(json, "claim_expires");
    ctl_json_int(json, e->claim_expires);
    ctl_json_key(json, "spool_path");
    ctl_json_string(json, e->spool_path);
    ctl_json_end_object(json);
}

static char *
format_size(const StoreQueueEntry *e)
{
    /* Finished entries may have outlived their message. */
    return e->size > 0 ? g_format_size(e->size) : g_strdup("-");
}

int
ctl_cmd_queue_list(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    const char *state = ctl_options.state;

    if (state != NULL && !g_strv_contains(queue_states, state)) {
        g_autofree char *shown = ctl_printable(state);
        g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE,
                    _("Invalid --state “%s”: use pending, sending, deferred, held, delivered or "
                      "failed."),
                    shown);
        return -1;
    }
    if (!ctl_open_store(ctl, error))
        return -1;
    g_autoptr(GPtrArray) entries = store_queue_list(ctl->conn, state, &local);
    if (entries == NULL) {
        set_store_error(error, local);
        return -1;
    }
    if (ctl->json) {
        g_autoptr(CtlJson) json = ctl_json_new();
        ctl_json_begin_array(json);
        for (guint i = 0; i < entries->len; i++)
            entry_to_json(json, entries->pdata[i]);
        ctl_json_end_array(json);
        return ctl_json_print(json, error) ? 0 : -1;
    }
    if (entries->len == 0) {
        if (state != NULL)
            g_print(_("No queue entries are in state %s.\n"), state);
        else
            g_print(_("The queue is empty.\n"));
        return 0;
    }
    /* States stay codes, as --state takes them. */
    g_autoptr(CtlTable) table =
        ctl_table_new(8, _("ID"), _("STATE"), _("RECIPIENT"), _("SENDER"), _("SIZE"), _("ATTEMPTS"),
                      _("NEXT TRY"), _("LAST ERROR"));
    for (guint i = 0; i < entries->len; i++) {
        StoreQueueEntry *e = entries->pdata[i];
        g_autofree char *id = g_strdup_printf("%" G_GINT64_FORMAT, e->id);
        g_autofree char *size = format_size(e);
        g_autofree char *attempts = g_strdup_printf("%d", e->attempts);
        g_autofree char *next = is_waiting(e) ? ctl_format_time(e->next_try) : g_strdup("-");
        ctl_table_add_row(table, id, e->state, e->recipient, *e->sender != '\0' ? e->sender : "<>",
                          size, attempts, next, e->last_error);
    }
    ctl_table_print(table);
    return 0;
}

int
ctl_cmd_queue_show(Ctl *ctl, char **args, GError **error)
{
    gint64 id = 0;
    if (!parse_id(args[0], &id, error) || !ctl_open_store(ctl, error))
        return -1;
    g_autoptr(StoreQueueEntry) e = get_entry(ctl, id, error);
    if (e == NULL)
        return -1;
    if (ctl->json) {
        g_autoptr(CtlJson) json = ctl_json_new();
        entry_to_json(json, e);
        return ctl_json_print(json, error) ? 0 : -1;
    }

    g_autofree char *id_text = g_strdup_printf("%" G_GINT64_FORMAT, e->id);
    g_autofree char *message = g_strdup_printf("%" G_GINT64_FORMAT, e->message_id);
    g_autofree char *size = format_size(e);
    g_autofree char *priority = g_strdup_printf("%d", e->priority);
    g_autofree char *created = ctl_format_time(e->created);
    g_autofree char *next =
        is_waiting(e) || is_finished(e) ? ctl_format_time(e->next_try) : g_strdup("-");
    g_autofree char *attempts = g_strdup_printf("%d", e->attempts);
    g_autofree char *warned = e->warned > 0 ? ctl_format_time(e->warned) : g_strdup(_("no"));
    g_autofree char *until = *e->claimed_by != '\0' ? ctl_format_time(e->claim_expires) : NULL;
    g_autofree char *claimed =
        until != NULL ? g_strdup_printf(_("%s until %s"), e->claimed_by, until) : g_strdup("-");
#define OR_DASH(s) (*(s) != '\0' ? (s) : "-")
    const char *labels[] = { _("ID:"),
                             _("Message:"),
                             _("State:"),
                             _("Sender:"),
                             _("Recipient:"),
                             _("Subject:"),
                             _("Size:"),
                             _("Priority:"),
                             _("Queued:"),
                             is_finished(e) ? _("Finished:") : _("Next try:"),
                             _("Attempts:"),
                             _("Last error:"),
                             _("Delay warning:"),
                             _("Claimed by:"),
                             _("DSN NOTIFY:"),
                             _("DSN ORCPT:"),
                             _("DSN RET:"),
                             _("DSN ENVID:"),
                             _("Spool file:") };
    const char *values[] = { id_text,
                             message,
                             e->state,
                             *e->sender != '\0' ? e->sender : "<>",
                             e->recipient,
                             OR_DASH(e->subject),
                             size,
                             priority,
                             created,
                             next,
                             attempts,
                             OR_DASH(e->last_error),
                             warned,
                             claimed,
                             OR_DASH(e->notify),
                             OR_DASH(e->orcpt),
                             OR_DASH(e->ret),
                             OR_DASH(e->envid),
                             OR_DASH(e->spool_path) };
#undef OR_DASH
    ctl_print_fields(labels, values, G_N_ELEMENTS(labels));
    return 0;
}

/* Why @action changed nothing for the single entry @e: FALSE with an
 * error, or TRUE with a note when the entry already is where the action
 * would put it. */
static gboolean
explain_unchanged(QueueAction action, const StoreQueueEntry *e, GError **error)
{
    long long id = (long long)e->id;
    gboolean sending = g_strcmp0(e->state, "sending") == 0;
    gboolean held = g_strcmp0(e->state, "held") == 0;

    switch (action) {
    case QUEUE_HOLD:
        if (held) {
            g_print(_("Queue entry %lld is held already.\n"), id);
            return TRUE;
        }
        if (sending) {
            g_set_error(error, CTL_ERROR, CTL_ERROR_TEMPFAIL,
                        _("Queue entry %lld is being sent; try again when the attempt is over."),
                        id);
            return FALSE;
        }
        g_set_error(error, CTL_ERROR, CTL_ERROR_DATA,
                    _("Queue entry %lld is %s; only pending and deferred entries can be held."), id,
                    e->state);
        return FALSE;
    case QUEUE_RELEASE:
        if (!is_finished(e)) {
            g_print(_("Queue entry %lld is not held.\n"), id);
            return TRUE;
        }
        g_set_error(error, CTL_ERROR, CTL_ERROR_DATA,
                    _("Queue entry %lld is %s; only held entries can be released."), id, e->state);
        return FALSE;
    case QUEUE_FLUSH:
        if (sending) {
            g_print(_("Queue entry %lld is being sent now.\n"), id);
            return TRUE;
        }
        if (held) {
            g_set_error(error, CTL_ERROR, CTL_ERROR_DATA,
                        _("Queue entry %lld is held; release it with 'postroomctl queue release "
                          "%lld'."),
                        id, id);
            return FALSE;
        }
        g_set_error(error, CTL_ERROR, CTL_ERROR_DATA,
                    _("Queue entry %lld is %s; it will not be sent again."), id, e->state);
        return FALSE;
    case QUEUE_DELETE:
        if (sending) {
            g_set_error(error, CTL_ERROR, CTL_ERROR_TEMPFAIL,
                        _("Queue entry %lld is being sent; try again when the attempt is over."),
                        id);
            return FALSE;
        }
        g_set_error(error, CTL_ERROR, CTL_ERROR_DATA,
                    _("Queue entry %lld is %s; finished entries are removed by the server after "
                      "7 days."),
                    id, e->state);
        return FALSE;
    }
    return FALSE;
}

/* Removes spool files the store no longer refers to (after its commit). */
void
ctl_unlink_spool_files(Ctl *ctl, GPtrArray *paths)
{
    const char *data_dir = config_get_string(ctl->config, "server", "data_dir");
    g_autofree char *spool = g_build_filename(data_dir, "spool", NULL);
    for (guint i = 0; i < paths->len; i++) {
        g_autofree char *path = g_build_filename(spool, paths->pdata[i], NULL);
        if (g_unlink(path) != 0 && errno != ENOENT) {
            int saved = errno;
            g_autofree char *shown = ctl_printable(path);
            ctl_warn(_("Cannot remove the spool file %s: %s"), shown, g_strerror(saved));
        }
    }
}

static void
print_changed(QueueAction action, gint64 n)
{
    gulong count = (gulong)n;
    switch (action) {
    case QUEUE_HOLD:
        g_print(ngettext("Held %lu queue entry.\n", "Held %lu queue entries.\n", count), count);
        break;
    case QUEUE_RELEASE:
        g_print(ngettext("Released %lu queue entry.\n", "Released %lu queue entries.\n", count),
                count);
        break;
    case QUEUE_DELETE:
        g_print(ngettext("Deleted %lu queue entry.\n", "Deleted %lu queue entries.\n", count),
                count);
        break;
    case QUEUE_FLUSH:
        g_print(
            ngettext("%lu queue entry is due now.\n", "%lu queue entries are due now.\n", count),
            count);
        break;
    }
}

static int
queue_action(Ctl *ctl, char **args, QueueAction action, GError **error)
{
    g_autoptr(GError) local = NULL;
    gint64 id = 0;

    /* flush without an ID flushes everything; the others need one or --all,
     * so that a forgotten argument never acts on the whole queue. */
    if (action != QUEUE_FLUSH && (args[0] != NULL) == ctl_options.all) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE, _("Give a queue entry ID or --all."));
        return -1;
    }
    if (args[0] != NULL && !parse_id(args[0], &id, error))
        return -1;
    if (!ctl_open_store(ctl, error))
        return -1;
    if (id != 0) {
        g_autoptr(StoreQueueEntry) e = get_entry(ctl, id, error);
        if (e == NULL)
            return -1;
    }

    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    gint64 n = -1;
    switch (action) {
    case QUEUE_HOLD:
        n = store_queue_hold(ctl->conn, id, &local);
        break;
    case QUEUE_RELEASE:
        n = store_queue_release(ctl->conn, id, &local);
        break;
    case QUEUE_DELETE:
        n = store_queue_delete(ctl->conn, id, paths, &local);
        /* Also after an error: earlier batches were committed. */
        ctl_unlink_spool_files(ctl, paths);
        break;
    case QUEUE_FLUSH:
        n = store_queue_flush(ctl->conn, id, &local);
        break;
    }
    if (n < 0) {
        set_store_error(error, local);
        return -1;
    }
    /* Like every change, reported as text also with --json. */
    if (n == 0 && id != 0) {
        /* Read again: its state may have changed since the check. */
        g_autoptr(StoreQueueEntry) now = get_entry(ctl, id, error);
        return now != NULL && explain_unchanged(action, now, error) ? 0 : -1;
    }
    print_changed(action, n);
    return 0;
}

int
ctl_cmd_queue_hold(Ctl *ctl, char **args, GError **error)
{
    return queue_action(ctl, args, QUEUE_HOLD, error);
}

int
ctl_cmd_queue_release(Ctl *ctl, char **args, GError **error)
{
    return queue_action(ctl, args, QUEUE_RELEASE, error);
}

int
ctl_cmd_queue_delete(Ctl *ctl, char **args, GError **error)
{
    return queue_action(ctl, args, QUEUE_DELETE, error);
}

int
ctl_cmd_queue_flush(Ctl *ctl, char **args, GError **error)
{
    return queue_action(ctl, args, QUEUE_FLUSH, error);
}
