/* SPDX-License-Identifier: GPL-3.0-or-later */

/* FETCH and UID FETCH (RFC 3501 §6.4.5, CONDSTORE's CHANGEDSINCE and
 * MODSEQ of RFC 7162). The items are parsed once (imap-fetch-parse.c);
 * then one job walks the messages in order: the structure items come
 * from the summaries the store keeps, body sections are read as byte
 * ranges of the stored message and streamed as literals chunk by chunk,
 * waiting for the client to drain its output, so a large message never
 * sits in memory whole. Fetching a body without PEEK sets \Seen first, in
 * one transaction for all the messages, and those messages' responses
 * carry their new FLAGS. */

#include "postroom-config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "imap-fetch-parse.h"
#include "imap-msg.h"
#include "imap-write.h"

/* Text gathered for the client is written out beyond this. */
#define FETCH_FLUSH_SIZE (64 * 1024)

typedef struct {
    PrConnection *conn;
    ImapSession *s;
    ImapFetchSpec spec;
    GArray *indexes;      /* the messages, ascending */
    GHashTable *seen_set; /* indexes whose \Seen this FETCH set, or NULL */
    gboolean modseq;      /* MODSEQ in every response */
    guint pos;            /* the message being answered */
    guint body;           /* its next body item */
    gboolean in_message;  /* "* n FETCH (" is out for pos */
    gboolean need_space;  /* an item is out: the next needs a separator */
    GString *out;         /* response text not yet written */

    /* the body item being read */
    PrMessageReader *reader;
    gint64 want;        /* octets the literal still owes */
    GString *header;    /* HEADER.FIELDS: the header gathered whole, else NULL */
    gint64 part_offset; /* HEADER.FIELDS: the partial window over the result */
    gint64 part_length;
} FetchJob;

static void fetch_run(FetchJob *job);

static void
fetch_job_free(FetchJob *job)
{
    imap_fetch_spec_clear(&job->spec);
    g_clear_pointer(&job->indexes, g_array_unref);
    g_clear_pointer(&job->seen_set, g_hash_table_unref);
    g_clear_pointer(&job->reader, pr_message_reader_free);
    if (job->out != NULL)
        g_string_free(job->out, TRUE);
    if (job->header != NULL)
        g_string_free(job->header, TRUE);
    imap_session_op_end(job->s);
    pr_connection_unref(job->conn);
    g_free(job);
}

static void
flush_out(FetchJob *job)
{
    if (job->out->len > 0) {
        pr_connection_write(job->conn, job->out->str, job->out->len);
        g_string_truncate(job->out, 0);
    }
}

static void
fetch_finish(FetchJob *job, const char *status, const char *text)
{
    flush_out(job);
    imap_command_done(job->conn, job->s, status, text);
    fetch_job_free(job);
}

/* The connection went away or a read failed after a literal was announced:
 * the client cannot tell a cut literal from a whole one, so it ends. */
static void
fetch_abort(FetchJob *job)
{
    if (!pr_connection_is_closed(job->conn))
        pr_connection_close(job->conn);
    fetch_job_free(job);
}

/* RFC 3501 date-time: "dd-Mon-yyyy hh:mm:ss +0000" (the day space-padded
 * is allowed too; two digits read better). Not strftime: %b follows the
 * locale. */
static void
append_internal_date(GString *out, gint64 when)
{
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(when);

    if (dt == NULL)
        dt = g_date_time_new_from_unix_utc(0);
    g_string_append_printf(out, "INTERNALDATE \"%02d-%s-%04d %02d:%02d:%02d +0000\"",
                           g_date_time_get_day_of_month(dt), months[g_date_time_get_month(dt) - 1],
                           g_date_time_get_year(dt), g_date_time_get_hour(dt),
                           g_date_time_get_minute(dt), g_date_time_get_second(dt));
}

static void
item_space(FetchJob *job, gboolean *first)
{
    if (!*first)
        g_string_append_c(job->out, ' ');
    *first = FALSE;
}

/* "* n FETCH (" and every item that does not need a read. */
static void
start_message(FetchJob *job, guint index)
{
    PrMailbox *mb = job->s->mailbox;
    guint32 items = job->spec.items;
    gboolean seen_now =
        job->seen_set != NULL && g_hash_table_contains(job->seen_set, GUINT_TO_POINTER(index));
    gboolean first = TRUE;

    g_string_append_printf(job->out, "* %u FETCH (", index + 1);
    if (items & IMAP_FETCH_UID) {
        item_space(job, &first);
        g_string_append_printf(job->out, "UID %u", pr_mailbox_get_uid(mb, index));
    }
    if ((items & IMAP_FETCH_FLAGS) || seen_now) {
        const char *flags = pr_mailbox_get_flags(mb, index);
        g_autofree char *updated = NULL;

        /* The snapshot may not show our own \Seen yet. */
        if (seen_now && !imap_msg_has_flag(flags, "\\Seen"))
            flags = updated = imap_msg_apply_flags(flags, PR_FLAGS_ADD, "\\Seen");
        item_space(job, &first);
        imap_msg_append_flags(job->out, flags, pr_mailbox_is_recent(mb, index));
    }
    if (items & IMAP_FETCH_INTERNALDATE) {
        item_space(job, &first);
        append_internal_date(job->out, pr_mailbox_get_internal_date(mb, index));
    }
    if (items & IMAP_FETCH_RFC822_SIZE) {
        item_space(job, &first);
        g_string_append_printf(job->out, "RFC822.SIZE %" G_GINT64_FORMAT,
                               pr_mailbox_get_size(mb, index));
    }
    if (items & (IMAP_FETCH_ENVELOPE | IMAP_FETCH_BODY | IMAP_FETCH_BODYSTRUCTURE)) {
        const PrMessageSummary *sum = pr_mailbox_get_summary(mb, index);

        /* A summary always exists once loaded (malformed MIME still has
         * one); the fallbacks keep the response valid if it does not. */
        if (items & IMAP_FETCH_ENVELOPE) {
            item_space(job, &first);
            g_string_append_printf(job->out, "ENVELOPE %s",
                                   sum != NULL ? sum->envelope
                                               : "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
        }
        if (items & IMAP_FETCH_BODY) {
            item_space(job, &first);
            g_string_append_printf(job->out, "BODY %s",
                                   sum != NULL ? sum->body
                                               : "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0)");
        }
        if (items & IMAP_FETCH_BODYSTRUCTURE) {
            item_space(job, &first);
            g_string_append_printf(job->out, "BODYSTRUCTURE %s",
                                   sum != NULL ? sum->bodystructure
                                               : "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0)");
        }
    }
    if (job->modseq) {
        item_space(job, &first);
        g_string_append_printf(job->out, "MODSEQ (%" G_GUINT64_FORMAT ")",
                               pr_mailbox_get_modseq(mb, index));
    }
    job->in_message = TRUE;
    job->body = 0;
    job->need_space = !first;
}

static void
partial_window(const ImapFetchBody *b, gint64 total, gint64 *offset, gint64 *length)
{
    *offset = 0;
    *length = total;
    if (b->partial) {
        *offset = MIN((gint64)b->offset, total);
        *length = MIN((gint64)b->length, total - *offset);
    }
}

static void
announce_literal(FetchJob *job, const ImapFetchBody *b, gint64 length)
{
    g_string_append_printf(job->out, "%s {%" G_GINT64_FORMAT "}\r\n", b->reply_name, length);
}

/* Where body item @b of message @index is in the message; FALSE if the
 * section does not exist. @fields: the header is read whole and filtered. */
static gboolean
body_section(PrMailbox *mb, guint index, const ImapFetchBody *b, gint64 *offset, gint64 *length,
             gboolean *fields)
{
    char part[IMAP_MAX_PART_DEPTH * 11 + 1] = "";
    PrSectionPart which = PR_SECTION_ALL;

    *fields = FALSE;
    for (guint i = 0; i < b->part_depth; i++)
        g_snprintf(part + strlen(part), sizeof part - strlen(part), i > 0 ? ".%u" : "%u",
                   b->part[i]);
    switch (b->kind) {
    case IMAP_SECTION_ALL:
        which = PR_SECTION_ALL;
        break;
    case IMAP_SECTION_HEADER:
        which = PR_SECTION_HEADER;
        break;
    case IMAP_SECTION_HEADER_FIELDS:
    case IMAP_SECTION_HEADER_FIELDS_NOT:
        which = PR_SECTION_HEADER;
        *fields = TRUE;
        break;
    case IMAP_SECTION_TEXT:
        which = PR_SECTION_TEXT;
        break;
    case IMAP_SECTION_MIME:
        which = PR_SECTION_MIME;
        break;
    }
    return pr_mailbox_find_section(mb, index, part, which, offset, length) && *length >= 0;
}

/* Starts the next body item. Returns FALSE when it is already complete
 * (nothing to read). */
static gboolean
start_body(FetchJob *job, guint index, const ImapFetchBody *b)
{
    PrMailbox *mb = job->s->mailbox;
    gint64 offset = 0, length = 0;
    gboolean fields = FALSE;

    if (!body_section(mb, index, b, &offset, &length, &fields)) {
        /* RFC 3501 §6.4.5: a section that does not exist (or HEADER/TEXT
         * of a part that is not a message) is empty: "" as its author
         * advised (imap-protocol list, April 2011), where Dovecot 2.3
         * sends {0}; not NIL, which some clients do not expect here. */
        g_string_append_printf(job->out, "%s \"\"", b->reply_name);
        return FALSE;
    }
    if (fields) {
        /* The header is read whole and filtered; the partial window then
         * applies to the result. */
        job->header = g_string_new(NULL);
        job->reader = pr_mailbox_read_range(mb, index, offset, length);
        return TRUE;
    } else {
        gint64 win_off, win_len;

        partial_window(b, length, &win_off, &win_len);
        announce_literal(job, b, win_len);
        if (win_len == 0)
            return FALSE;
        job->want = win_len;
        job->reader = pr_mailbox_read_range(mb, index, offset + win_off, win_len);
        return TRUE;
    }
}

/* Takes one chunk of the body item being read; TRUE when it is complete. */
static gboolean
take_chunk(FetchJob *job, GBytes *chunk, gboolean last)
{
    const ImapFetchBody *b = job->spec.bodies->pdata[job->body];
    gsize len = 0;
    const char *data = g_bytes_get_data(chunk, &len);

    if (job->header != NULL) {
        g_string_append_len(job->header, data, len);
        if (last) {
            GString *filtered =
                imap_msg_filter_header(job->header->str, job->header->len, b->fields,
                                       b->kind == IMAP_SECTION_HEADER_FIELDS_NOT);
            gint64 win_off, win_len;

            partial_window(b, filtered->len, &win_off, &win_len);
            announce_literal(job, b, win_len);
            g_string_append_len(job->out, filtered->str + win_off, win_len);
            g_string_free(filtered, TRUE);
            g_string_free(job->header, TRUE);
            job->header = NULL;
        }
    } else {
        gsize take = (gsize)MIN((gint64)len, job->want);

        if (take >= FETCH_FLUSH_SIZE) {
            /* A big chunk goes out as it is, without a copy. */
            flush_out(job);
            pr_connection_write(job->conn, data, take);
        } else {
            g_string_append_len(job->out, data, take);
        }
        job->want -= take;
        if (last && job->want > 0) {
            /* The stored message is shorter than its size says: the
             * literal's length is out already, so pad rather than break
             * the protocol. */
            g_warning(_("IMAP user %s: a message is shorter than stored, %lld octets padded"),
                      job->s->login, (long long)job->want);
            for (; job->want > 0; job->want--)
                g_string_append_c(job->out, ' ');
        }
    }
    if (last)
        g_clear_pointer(&job->reader, pr_message_reader_free);
    return last;
}

static void
drained(PrConnection *conn, gpointer user_data)
{
    FetchJob *job = user_data;

    if (pr_connection_is_closed(conn))
        fetch_abort(job);
    else
        fetch_run(job);
}

static void
chunk_read(GObject *source, GAsyncResult *result, gpointer user_data)
{
    FetchJob *job = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) chunk = NULL;
    gboolean last = FALSE;

    chunk = pr_message_reader_next_finish(job->reader, result, &last, &error);
    if (pr_connection_is_closed(job->conn)) {
        fetch_abort(job);
        return;
    }
    if (chunk == NULL) {
        g_warning(_("IMAP user %s: cannot read a message: %s"), job->s->login, error->message);
        fetch_abort(job);
        return;
    }
    if (take_chunk(job, chunk, last))
        job->body++;
    fetch_run(job);
}

/* Answers messages until done or until it must wait for a read or for the
 * client; then the callback calls it again. */
static void
fetch_run(FetchJob *job)
{
    for (;;) {
        guint index;

        if (job->pos >= job->indexes->len) {
            fetch_finish(job, "OK",
                         job->s->uid_command ? "UID FETCH completed" : "FETCH completed");
            return;
        }
        index = g_array_index(job->indexes, guint, job->pos);
        if (!job->in_message)
            start_message(job, index);
        while (job->body < job->spec.bodies->len) {
            if (job->reader == NULL) {
                if (job->need_space)
                    g_string_append_c(job->out, ' ');
                job->need_space = TRUE;
                if (!start_body(job, index, job->spec.bodies->pdata[job->body])) {
                    job->body++;
                    continue;
                }
            }
            /* Read on: from memory when the store has it, else on a thread. */
            for (;;) {
                gboolean last = FALSE;
                g_autoptr(GBytes) chunk = pr_message_reader_try_next(job->reader, &last);

                if (chunk == NULL)
                    break;
                if (take_chunk(job, chunk, last))
                    break;
            }
            if (job->reader != NULL) {
                if (pr_connection_get_output_pending(job->conn) > IMAP_OUTPUT_HIGH_WATER) {
                    flush_out(job);
                    pr_connection_wait_output(job->conn, drained, job);
                    return;
                }
                flush_out(job);
                pr_message_reader_next_async(job->reader, pr_connection_get_cancellable(job->conn),
                                             chunk_read, job);
                return;
            }
            job->body++;
        }
        g_string_append(job->out, ")\r\n");
        job->in_message = FALSE;
        job->pos++;
        if (job->out->len >= FETCH_FLUSH_SIZE)
            flush_out(job);
        if (pr_connection_get_output_pending(job->conn) > IMAP_OUTPUT_HIGH_WATER) {
            flush_out(job);
            pr_connection_wait_output(job->conn, drained, job);
            return;
        }
    }
}

static void
ranges_read(GObject *source, GAsyncResult *result, gpointer user_data)
{
    FetchJob *job = user_data;

    pr_mailbox_read_ranges_finish(job->s->mailbox, result);
    if (pr_connection_is_closed(job->conn)) {
        fetch_job_free(job);
        return;
    }
    fetch_run(job);
}

/* Has every body item's octets read in one trip to a thread rather than a
 * trip per message (what is too large is streamed as before); then runs.
 * A single range costs its reader the same trip: no need. */
static void
read_ranges_and_run(FetchJob *job)
{
    PrMailbox *mb = job->s->mailbox;
    g_autoptr(GArray) ranges = g_array_new(FALSE, FALSE, sizeof(PrMessageRange));

    for (guint i = 0; i < job->indexes->len; i++) {
        guint index = g_array_index(job->indexes, guint, i);

        for (guint k = 0; k < job->spec.bodies->len; k++) {
            const ImapFetchBody *b = job->spec.bodies->pdata[k];
            PrMessageRange r = { index, 0, 0 };
            gboolean fields;

            if (!body_section(mb, index, b, &r.offset, &r.length, &fields))
                continue;
            if (!fields) {
                gint64 win_off, win_len;

                partial_window(b, r.length, &win_off, &win_len);
                r.offset += win_off;
                r.length = win_len;
            }
            if (r.length > 0)
                g_array_append_val(ranges, r);
        }
    }
    if (ranges->len < 2) {
        fetch_run(job);
        return;
    }
    pr_mailbox_read_ranges_async(mb, (const PrMessageRange *)ranges->data, ranges->len, ranges_read,
                                 job);
}

static void
summaries_loaded(GObject *source, GAsyncResult *result, gpointer user_data)
{
    FetchJob *job = user_data;
    g_autoptr(GError) error = NULL;

    if (!pr_mailbox_load_summaries_finish(job->s->mailbox, result, &error)) {
        if (pr_connection_is_closed(job->conn)) {
            fetch_job_free(job);
            return;
        }
        g_warning(_("IMAP user %s: cannot load message structures: %s"), job->s->login,
                  error->message);
        fetch_finish(job, "NO", "[SERVERBUG] Cannot read the messages, try again later");
        return;
    }
    if (pr_connection_is_closed(job->conn)) {
        fetch_job_free(job);
        return;
    }
    read_ranges_and_run(job);
}

static gboolean
needs_summaries(const ImapFetchSpec *spec)
{
    return (spec->items & (IMAP_FETCH_ENVELOPE | IMAP_FETCH_BODY | IMAP_FETCH_BODYSTRUCTURE)) ||
           spec->bodies->len > 0;
}

static void
load_and_run(FetchJob *job)
{
    if (needs_summaries(&job->spec) && job->indexes->len > 0)
        pr_mailbox_load_summaries_async(job->s->mailbox, (const guint *)job->indexes->data,
                                        job->indexes->len, summaries_loaded, job);
    else
        fetch_run(job);
}

static void
seen_stored(GObject *source, GAsyncResult *result, gpointer user_data)
{
    FetchJob *job = user_data;
    g_autoptr(GError) error = NULL;

    if (!pr_mailbox_store_flags_finish(job->s->mailbox, result, NULL, &error)) {
        if (pr_connection_is_closed(job->conn)) {
            fetch_job_free(job);
            return;
        }
        g_warning(_("IMAP user %s: cannot set \\Seen: %s"), job->s->login, error->message);
        fetch_finish(job, "NO", "[SERVERBUG] Cannot update the messages, try again later");
        return;
    }
    if (pr_connection_is_closed(job->conn)) {
        fetch_job_free(job);
        return;
    }
    load_and_run(job);
}

/* RFC 3501 §6.4.5: a body fetched without PEEK sets \Seen. */
static gboolean
start_implicit_seen(FetchJob *job)
{
    PrMailbox *mb = job->s->mailbox;
    g_autoptr(GArray) uids = g_array_new(FALSE, FALSE, sizeof(guint32));

    /* RFC 4314 §4: not in another user's folder without "s". */
    if (job->s->read_only || !imap_may(job->s, 's') || !imap_fetch_sets_seen(&job->spec))
        return FALSE;
    for (guint i = 0; i < job->indexes->len; i++) {
        guint index = g_array_index(job->indexes, guint, i);

        if (!imap_msg_has_flag(pr_mailbox_get_flags(mb, index), "\\Seen")) {
            guint32 uid = pr_mailbox_get_uid(mb, index);

            if (job->seen_set == NULL)
                job->seen_set = g_hash_table_new(NULL, NULL);
            g_hash_table_add(job->seen_set, GUINT_TO_POINTER(index));
            g_array_append_val(uids, uid);
        }
    }
    if (uids->len == 0)
        return FALSE;
    pr_mailbox_store_flags_async(mb, (const guint32 *)uids->data, uids->len, PR_FLAGS_ADD, "\\Seen",
                                 0, seen_stored, job);
    return TRUE;
}

/* FETCH's modifiers (RFC 4466 §2.4): CHANGEDSINCE only. */
static gboolean
parse_modifiers(const ImapArg *arg, guint64 *changed_since)
{
    if (arg->type != IMAP_ARG_LIST || arg->list->len != 2)
        return FALSE;
    const char *name = imap_arg_atom(arg->list->pdata[0]);
    const char *value = imap_arg_atom(arg->list->pdata[1]);
    char *end = NULL;

    if (name == NULL || value == NULL || g_ascii_strcasecmp(name, "CHANGEDSINCE") != 0)
        return FALSE;
    if (!g_ascii_isdigit(*value))
        return FALSE;
    *changed_since = g_ascii_strtoull(value, &end, 10);
    return *end == '\0';
}

PrCommandResult
imap_cmd_fetch(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    g_autofree char *error = NULL;
    ImapFetchSpec spec = { 0 };
    guint64 changed_since = 0;
    GArray *indexes = NULL;
    const char *set;
    FetchJob *job;

    if (cmd->args->len < 2 || cmd->args->len > 3 ||
        (set = imap_arg_atom(cmd->args->pdata[0])) == NULL) {
        return imap_command_bad(conn, s, "Syntax: FETCH sequence-set items [(CHANGEDSINCE n)]");
    }
    if (cmd->args->len == 3 && !parse_modifiers(cmd->args->pdata[2], &changed_since)) {
        return imap_command_bad(conn, s, "Unknown FETCH modifier");
    }
    if (!imap_fetch_parse(cmd->args->pdata[1], &spec, &error)) {
        imap_fetch_spec_clear(&spec);
        return imap_command_bad(conn, s, error);
    }
    switch (imap_msgset_resolve(s, set, s->uid_command, &indexes)) {
    case IMAP_MSGSET_OK:
        break;
    case IMAP_MSGSET_SYNTAX:
        imap_fetch_spec_clear(&spec);
        return imap_command_bad(conn, s, "Invalid sequence set");
    case IMAP_MSGSET_NO_SUCH:
        imap_fetch_spec_clear(&spec);
        return imap_command_bad(conn, s, "No such message");
    }
    if (s->uid_command)
        spec.items |= IMAP_FETCH_UID;
    /* RFC 7162 §3.1: MODSEQ and CHANGEDSINCE enable CONDSTORE. */
    if (cmd->args->len == 3 || (spec.items & IMAP_FETCH_MODSEQ))
        s->enabled |= IMAP_ENABLED_CONDSTORE;
    if (cmd->args->len == 3) {
        guint kept = 0;

        spec.items |= IMAP_FETCH_MODSEQ;
        for (guint i = 0; i < indexes->len; i++) {
            guint index = g_array_index(indexes, guint, i);

            if (pr_mailbox_get_modseq(s->mailbox, index) > changed_since)
                g_array_index(indexes, guint, kept++) = index;
        }
        g_array_set_size(indexes, kept);
    }

    job = g_new0(FetchJob, 1);
    job->conn = pr_connection_ref(conn);
    job->s = s;
    job->spec = spec;
    job->indexes = indexes;
    job->out = g_string_sized_new(4096);
    /* MODSEQ goes with FLAGS once CONDSTORE is on (RFC 7162 §3.2). */
    job->modseq = (spec.items & IMAP_FETCH_MODSEQ) ||
                  (imap_msg_condstore(s) &&
                   ((spec.items & IMAP_FETCH_FLAGS) ||
                    (imap_fetch_sets_seen(&spec) && !s->read_only && imap_may(s, 's'))));
    imap_session_op_begin(s);
    if (!start_implicit_seen(job))
        load_and_run(job);
    return PR_COMMAND_ASYNC;
}
