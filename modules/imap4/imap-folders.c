/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The folder commands of the authenticated state: LIST and LSUB with "*"
 * and "%" (CHILDREN, RFC 3348; SPECIAL-USE, RFC 6154), CREATE, DELETE,
 * RENAME, SUBSCRIBE, UNSUBSCRIBE and STATUS. The store keeps names in
 * UTF-8 with "/" between levels; the wire carries modified UTF-7. A folder
 * whose parent does not exist has the parent listed as \Noselect. */

#include "postroom-config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "imap-list-match.h"
#include "imap-utf7.h"
#include "imap-write.h"
#include "imap.h"

char *
imap_mailbox_arg(const ImapArg *arg)
{
    const char *wire = imap_arg_astring(arg);
    char *name;

    if (wire == NULL || strlen(wire) != arg->len)
        return NULL;
    /* RFC 3501 §5.1: INBOX in any case is the inbox. */
    if (g_ascii_strcasecmp(wire, "INBOX") == 0)
        return g_strdup("INBOX");
    name = imap_utf7_to_utf8(wire);
    if (name != NULL && g_ascii_strncasecmp(name, "INBOX/", 6) == 0)
        memcpy(name, "INBOX", 5);
    return name;
}

void
imap_append_mailbox(GString *out, const char *name)
{
    g_autofree char *wire = imap_utf8_to_utf7(name);

    imap_append_astring(out, wire != NULL ? wire : name);
}

void
imap_folder_failed(PrConnection *conn, ImapSession *s, const GError *error)
{
    g_autofree char *text = NULL;

    if (g_error_matches(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND)) {
        imap_command_done(conn, s, "NO", "[NONEXISTENT] No such mailbox");
    } else if (g_error_matches(error, PR_STORE_ERROR, PR_STORE_ERROR_PERMISSION)) {
        imap_command_done(conn, s, "NO", "[NOPERM] Permission denied");
    } else if (g_error_matches(error, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS)) {
        imap_command_done(conn, s, "NO", "[ALREADYEXISTS] Mailbox already exists");
    } else if (g_error_matches(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED)) {
        text = g_strdup_printf("[CANNOT] %s", error->message);
        imap_command_done(conn, s, "NO", text);
    } else {
        g_warning(_("IMAP user %s: folder operation failed: %s"), s->login, error->message);
        imap_command_done(conn, s, "NO", "[UNAVAILABLE] Temporary failure, try again later");
    }
}

/* ---- LIST, LSUB ---- */

typedef struct {
    char *name;
    const char *special_use; /* owned by the folder list */
    gboolean exists;
    gboolean subscribed;
    gboolean children; /* any folder below it */
    gboolean subscribed_below;
} ListEntry;

typedef struct {
    PrConnection *conn;
    char *pattern; /* reference and mailbox joined, modified UTF-7 */
    gboolean lsub;
} ListData;

static void
list_entry_free(gpointer p)
{
    ListEntry *e = p;

    g_free(e->name);
    g_free(e);
}

static ListEntry *
list_entry(GHashTable *entries, const char *name)
{
    ListEntry *e = g_hash_table_lookup(entries, name);

    if (e == NULL) {
        e = g_new0(ListEntry, 1);
        e->name = g_strdup(name);
        g_hash_table_insert(entries, e->name, e);
    }
    return e;
}

static int
compare_entries(gconstpointer a, gconstpointer b)
{
    const ListEntry *x = *(ListEntry *const *)a;
    const ListEntry *y = *(ListEntry *const *)b;

    return strcmp(x->name, y->name);
}

/* Every folder, with the parents that do not exist themselves. */
static GHashTable *
list_entries(GPtrArray *folders)
{
    GHashTable *entries = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, list_entry_free);

    for (guint i = 0; i < folders->len; i++) {
        const PrFolderInfo *info = g_ptr_array_index(folders, i);
        ListEntry *e = list_entry(entries, info->name);
        g_autofree char *parent = g_strdup(info->name);
        char *slash;

        e->exists = TRUE;
        e->special_use = info->special_use;
        e->subscribed = info->subscribed;
        while ((slash = strrchr(parent, PR_FOLDER_SEPARATOR)) != NULL) {
            ListEntry *p;

            *slash = '\0';
            if (*parent == '\0')
                break;
            p = list_entry(entries, parent);
            p->children = TRUE;
            if (info->subscribed)
                p->subscribed_below = TRUE;
        }
    }
    return entries;
}

static void
append_list_line(GString *out, const char *verb, const ListEntry *e, gboolean lsub)
{
    gboolean first = TRUE;

    g_string_append_printf(out, "* %s (", verb);
#define ATTR(text)                                                                                 \
    do {                                                                                           \
        if (!first)                                                                                \
            g_string_append_c(out, ' ');                                                           \
        g_string_append(out, text);                                                                \
        first = FALSE;                                                                             \
    } while (0)
    if (!e->exists || (lsub && !e->subscribed))
        ATTR("\\Noselect");
    if (!lsub) {
        ATTR(e->children ? "\\HasChildren" : "\\HasNoChildren");
        if (e->special_use != NULL)
            ATTR(e->special_use);
    }
#undef ATTR
    g_string_append(out, ") \"/\" ");
    imap_append_mailbox(out, e->name);
    g_string_append(out, "\r\n");
}

static void
list_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    ListData *data = user_data;
    PrConnection *conn = data->conn;
    ImapSession *s = pr_connection_get_session(conn);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) folders = NULL;
    g_autoptr(GHashTable) entries = NULL;
    g_autoptr(GPtrArray) sorted = NULL;
    g_autoptr(GString) out = g_string_new(NULL);
    const char *verb = data->lsub ? "LSUB" : "LIST";
    GHashTableIter iter;
    gpointer value;

    folders = pr_folder_list_finish(pr_connection_get_host(conn), result, &error);
    if (pr_connection_is_closed(conn))
        goto out;
    if (folders == NULL) {
        imap_folder_failed(conn, s, error);
        goto out;
    }
    entries = list_entries(folders);
    sorted = g_ptr_array_sized_new(g_hash_table_size(entries));
    g_hash_table_iter_init(&iter, entries);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        g_ptr_array_add(sorted, value);
    g_ptr_array_sort(sorted, compare_entries);
    for (guint i = 0; i < sorted->len; i++) {
        const ListEntry *e = g_ptr_array_index(sorted, i);
        g_autofree char *wire = imap_utf8_to_utf7(e->name);

        if (wire == NULL || !imap_list_match(data->pattern, wire, PR_FOLDER_SEPARATOR))
            continue;
        /* LSUB: subscribed folders, and (RFC 3501 §6.3.9) a parent whose
         * subscribed children "%" stopped at, as \Noselect. */
        if (data->lsub && !e->subscribed && !e->subscribed_below)
            continue;
        if (data->lsub && !e->subscribed) {
            g_autofree char *below = g_strconcat(wire, "/", NULL);
            gboolean child_matches = FALSE;

            for (guint j = 0; j < sorted->len && !child_matches; j++) {
                const ListEntry *c = g_ptr_array_index(sorted, j);
                g_autofree char *cw = NULL;

                if (!c->subscribed || !g_str_has_prefix(c->name, e->name) ||
                    c->name[strlen(e->name)] != PR_FOLDER_SEPARATOR)
                    continue;
                cw = imap_utf8_to_utf7(c->name);
                child_matches =
                    cw != NULL && imap_list_match(data->pattern, cw, PR_FOLDER_SEPARATOR);
            }
            if (child_matches)
                continue;
        }
        append_list_line(out, verb, e, data->lsub);
    }
    if (out->len > 0)
        pr_connection_write(conn, out->str, out->len);
    imap_command_done(conn, s, "OK", data->lsub ? "LSUB completed" : "LIST completed");
out:
    pr_connection_unref(conn);
    g_free(data->pattern);
    g_free(data);
}

static PrCommandResult
list_common(PrConnection *conn, ImapSession *s, ImapCommand *cmd, gboolean lsub)
{
    const char *reference, *mailbox;
    ListData *data;

    if (cmd->args->len != 2)
        return imap_command_bad(conn, s, "Expected a reference and a mailbox pattern");
    reference = imap_arg_astring(g_ptr_array_index(cmd->args, 0));
    mailbox = imap_arg_astring(g_ptr_array_index(cmd->args, 1));
    if (reference == NULL || mailbox == NULL)
        return imap_command_bad(conn, s, "Invalid LIST arguments (LIST-EXTENDED is not supported)");
    if (*mailbox == '\0' && !lsub) {
        /* §6.3.8: the hierarchy delimiter and the root of the reference. */
        pr_connection_reply(conn, "* LIST (\\Noselect) \"/\" \"\"");
        return imap_command_reply(conn, s, "OK", "LIST completed");
    }
    data = g_new0(ListData, 1);
    data->conn = pr_connection_ref(conn);
    data->pattern = imap_list_pattern(reference, mailbox, PR_FOLDER_SEPARATOR);
    data->lsub = lsub;
    pr_folder_list_async(pr_connection_get_host(conn), s->login, list_done, data);
    return PR_COMMAND_ASYNC;
}

PrCommandResult
imap_cmd_list(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    return list_common(conn, s, cmd, FALSE);
}

PrCommandResult
imap_cmd_lsub(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    return list_common(conn, s, cmd, TRUE);
}

/* ---- CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE ---- */

static void
change_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    g_autoptr(PrConnection) conn = user_data;
    g_autoptr(GError) error = NULL;
    ImapSession *s = pr_connection_get_session(conn);
    g_autofree char *text = NULL;

    if (!pr_folder_change_finish(pr_connection_get_host(conn), result, &error)) {
        if (!pr_connection_is_closed(conn))
            imap_folder_failed(conn, s, error);
        return;
    }
    if (pr_connection_is_closed(conn) || s->current == NULL)
        return;
    text = g_strdup_printf("%s completed", s->current->name);
    imap_command_done(conn, s, "OK", text);
}

static PrCommandResult
folder_change(PrConnection *conn, ImapSession *s, ImapCommand *cmd, PrFolderOp op)
{
    guint want = op == PR_FOLDER_RENAME ? 2 : 1;
    g_autofree char *name = NULL;
    g_autofree char *new_name = NULL;

    if (cmd->args->len != want)
        return imap_command_bad(
            conn, s, want == 2 ? "Expected two mailbox names" : "Expected a mailbox name");
    name = imap_mailbox_arg(g_ptr_array_index(cmd->args, 0));
    if (want == 2)
        new_name = imap_mailbox_arg(g_ptr_array_index(cmd->args, 1));
    if (name == NULL || (want == 2 && new_name == NULL))
        return imap_command_bad(conn, s, "Invalid mailbox name");
    if (op == PR_FOLDER_CREATE || op == PR_FOLDER_RENAME) {
        char *target = op == PR_FOLDER_CREATE ? name : new_name;
        gsize len = strlen(target);

        /* §6.3.3: a trailing delimiter says the name will have children. */
        while (len > 0 && target[len - 1] == PR_FOLDER_SEPARATOR)
            target[--len] = '\0';
        if (len == 0 || strstr(target, "//") != NULL || target[0] == PR_FOLDER_SEPARATOR)
            return imap_command_reply(conn, s, "NO", "[CANNOT] Invalid mailbox name");
        if (g_ascii_strcasecmp(target, "INBOX") == 0)
            return imap_command_reply(conn, s, "NO", "[ALREADYEXISTS] INBOX always exists");
    }
    if (op == PR_FOLDER_DELETE && strcmp(name, "INBOX") == 0)
        return imap_command_reply(conn, s, "NO", "[CANNOT] INBOX cannot be deleted");
    if (op == PR_FOLDER_DELETE && s->mailbox_name != NULL && strcmp(name, s->mailbox_name) == 0)
        return imap_command_reply(conn, s, "NO", "[INUSE] Mailbox is selected");
    pr_folder_change_async(pr_connection_get_host(conn), s->login, op, name, new_name, change_done,
                           pr_connection_ref(conn));
    return PR_COMMAND_ASYNC;
}

PrCommandResult
imap_cmd_create(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    return folder_change(conn, s, cmd, PR_FOLDER_CREATE);
}

PrCommandResult
imap_cmd_delete(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    return folder_change(conn, s, cmd, PR_FOLDER_DELETE);
}

PrCommandResult
imap_cmd_rename(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    return folder_change(conn, s, cmd, PR_FOLDER_RENAME);
}

PrCommandResult
imap_cmd_subscribe(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    return folder_change(conn, s, cmd, PR_FOLDER_SUBSCRIBE);
}

PrCommandResult
imap_cmd_unsubscribe(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    return folder_change(conn, s, cmd, PR_FOLDER_UNSUBSCRIBE);
}

/* ---- STATUS ---- */

enum {
    STATUS_MESSAGES = 1 << 0,
    STATUS_RECENT = 1 << 1,
    STATUS_UIDNEXT = 1 << 2,
    STATUS_UIDVALIDITY = 1 << 3,
    STATUS_UNSEEN = 1 << 4,
    STATUS_HIGHESTMODSEQ = 1 << 5,
    STATUS_SIZE = 1 << 6,
};

static const struct {
    const char *name;
    guint bit;
} status_items[] = {
    { "MESSAGES", STATUS_MESSAGES }, { "RECENT", STATUS_RECENT },
    { "UIDNEXT", STATUS_UIDNEXT },   { "UIDVALIDITY", STATUS_UIDVALIDITY },
    { "UNSEEN", STATUS_UNSEEN },     { "HIGHESTMODSEQ", STATUS_HIGHESTMODSEQ },
    { "SIZE", STATUS_SIZE },
};

typedef struct {
    PrConnection *conn;
    char *name;
    guint items;
} StatusData;

static void
status_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    StatusData *data = user_data;
    PrConnection *conn = data->conn;
    ImapSession *s = pr_connection_get_session(conn);
    g_autoptr(GError) error = NULL;
    g_autoptr(GString) out = g_string_new("* STATUS ");
    PrFolderStatus st = { 0 };
    const char *sep = "";

    if (!pr_folder_status_finish(pr_connection_get_host(conn), result, &st, &error)) {
        if (!pr_connection_is_closed(conn))
            imap_folder_failed(conn, s, error);
        goto out;
    }
    if (pr_connection_is_closed(conn))
        goto out;
    imap_append_mailbox(out, data->name);
    g_string_append(out, " (");
#define ITEM(bit, fmt, value)                                                                      \
    do {                                                                                           \
        if (data->items & (bit)) {                                                                 \
            g_string_append_printf(out, "%s" fmt, sep, value);                                     \
            sep = " ";                                                                             \
        }                                                                                          \
    } while (0)
    ITEM(STATUS_MESSAGES, "MESSAGES %u", st.messages);
    ITEM(STATUS_RECENT, "RECENT %u", st.recent);
    ITEM(STATUS_UIDNEXT, "UIDNEXT %u", st.uidnext);
    ITEM(STATUS_UIDVALIDITY, "UIDVALIDITY %u", st.uidvalidity);
    ITEM(STATUS_UNSEEN, "UNSEEN %u", st.unseen);
    ITEM(STATUS_HIGHESTMODSEQ, "HIGHESTMODSEQ %" G_GUINT64_FORMAT, st.highest_modseq);
    ITEM(STATUS_SIZE, "SIZE %" G_GINT64_FORMAT, st.size);
#undef ITEM
    g_string_append_c(out, ')');
    pr_connection_reply(conn, out->str);
    imap_command_done(conn, s, "OK", "STATUS completed");
out:
    pr_connection_unref(conn);
    g_free(data->name);
    g_free(data);
}

PrCommandResult
imap_cmd_status(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    const ImapArg *list;
    g_autofree char *name = NULL;
    StatusData *data;
    guint items = 0;

    if (cmd->args->len != 2)
        return imap_command_bad(conn, s, "Expected a mailbox name and status items");
    name = imap_mailbox_arg(g_ptr_array_index(cmd->args, 0));
    list = g_ptr_array_index(cmd->args, 1);
    if (name == NULL)
        return imap_command_bad(conn, s, "Invalid mailbox name");
    if (list->type != IMAP_ARG_LIST || list->list->len == 0)
        return imap_command_bad(conn, s, "Expected a list of status items");
    for (guint i = 0; i < list->list->len; i++) {
        const char *item = imap_arg_atom(g_ptr_array_index(list->list, i));
        guint bit = 0;

        for (guint j = 0; item != NULL && j < G_N_ELEMENTS(status_items); j++) {
            if (g_ascii_strcasecmp(item, status_items[j].name) == 0)
                bit = status_items[j].bit;
        }
        if (bit == 0)
            return imap_command_bad(conn, s, "Unknown status item");
        items |= bit;
    }
    /* RFC 7162 §3.1.2: asking for HIGHESTMODSEQ turns CONDSTORE on. */
    if (items & STATUS_HIGHESTMODSEQ)
        s->enabled |= IMAP_ENABLED_CONDSTORE;
    data = g_new0(StatusData, 1);
    data->conn = pr_connection_ref(conn);
    data->name = g_steal_pointer(&name);
    data->items = items;
    pr_folder_status_async(pr_connection_get_host(conn), s->login, data->name, status_done, data);
    return PR_COMMAND_ASYNC;
}
