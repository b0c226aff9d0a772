/* SPDX-License-Identifier: GPL-3.0-or-later */

/* SEARCH and UID SEARCH (RFC 3501 §6.4.4) with ESEARCH's RETURN options
 * (RFC 4731), SEARCHRES's SAVE and $ (RFC 5182) and CONDSTORE's MODSEQ
 * (RFC 7162). The criteria are parsed once (imap-search-parse.c) and
 * evaluated per message in three-valued logic: keys the snapshot answers
 * (flags, UIDs, sizes, dates, modseq) decide most messages without a
 * read; only a message the text keys still decide is read whole and
 * parsed with GMime on a worker thread, which decodes the headers
 * (RFC 2047) and the text parts (transfer encoding and charset) to UTF-8
 * for case-insensitive substring matching. */

#include "postroom-config.h"

#include <gmime/gmime.h>
#include <glib/gi18n-lib.h>
#include <string.h>

#include "imap-msg.h"
#include "imap-search-parse.h"
#include "imap-seqset.h"

/* A message is searched in its first this many octets. */
#define SEARCH_MAX_MESSAGE (64 * 1024 * 1024)

typedef enum {
    TRI_NO,
    TRI_YES,
    TRI_MAYBE, /* needs the message's text */
} Tri;

/* What the text keys look at, made on a worker thread. */
typedef struct {
    GPtrArray *names;  /* header field names, upper case */
    GPtrArray *values; /* their decoded values, case-folded */
    char *header;      /* all fields "name: value\n", case-folded */
    char *body;        /* the decoded text parts, case-folded */
    gboolean has_date;
    GDate sent; /* the Date: field's day, in its own zone */
} SearchText;

typedef struct {
    PrConnection *conn;
    ImapSession *s;
    ImapSearch search;
    char *tag;
    guint pos;         /* the message being evaluated */
    GArray *matches;   /* indexes */
    GHashTable *saved; /* UIDs of the saved result, for "$" */
    PrMessageReader *reader;
    GByteArray *data; /* the message being read */
} SearchJob;

static void search_run(SearchJob *job);

static void
search_text_free(SearchText *t)
{
    if (t == NULL)
        return;
    g_ptr_array_unref(t->names);
    g_ptr_array_unref(t->values);
    g_free(t->header);
    g_free(t->body);
    g_free(t);
}

static void
search_job_free(SearchJob *job)
{
    imap_search_clear(&job->search);
    g_free(job->tag);
    g_clear_pointer(&job->matches, g_array_unref);
    g_clear_pointer(&job->saved, g_hash_table_unref);
    g_clear_pointer(&job->reader, pr_message_reader_free);
    if (job->data != NULL)
        g_byte_array_unref(job->data);
    imap_session_op_end(job->s);
    pr_connection_unref(job->conn);
    g_free(job);
}

static char *
fold(const char *text, gssize len)
{
    g_autofree char *valid = g_utf8_make_valid(text, len);

    return g_utf8_casefold(valid, -1);
}

/* ---- making the text (worker thread) ---- */

static gpointer
init_gmime(gpointer data)
{
    /* Never shut down: the module stays resident, and the host uses GMime
     * too (g_mime_init() counts its callers). */
    g_mime_init();
    return NULL;
}

static void
add_headers(SearchText *t, GMimeObject *object, GString *header)
{
    GMimeHeaderList *list = g_mime_object_get_header_list(object);
    int n = list != NULL ? g_mime_header_list_get_count(list) : 0;

    for (int i = 0; i < n; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(list, i);
        const char *raw = g_mime_header_get_raw_value(h);
        g_autofree char *unfolded = NULL;
        g_autofree char *decoded = NULL;

        if (raw == NULL)
            continue;
        unfolded = g_mime_utils_header_unfold(raw);
        g_strstrip(unfolded);
        decoded = g_mime_utils_header_decode_text(NULL, unfolded);
        if (t != NULL) {
            g_ptr_array_add(t->names, g_ascii_strup(g_mime_header_get_name(h), -1));
            g_ptr_array_add(t->values, fold(decoded, -1));
        }
        g_string_append_printf(header, "%s: %s\n", g_mime_header_get_name(h), decoded);
    }
}

/* The decoded text of every text part, embedded messages' headers too. */
static void
add_text(GMimeObject *object, GString *body, guint depth)
{
    if (object == NULL || depth > 64)
        return;
    if (GMIME_IS_MULTIPART(object)) {
        GMimeMultipart *mp = GMIME_MULTIPART(object);
        int n = g_mime_multipart_get_count(mp);

        for (int i = 0; i < n; i++)
            add_text(g_mime_multipart_get_part(mp, i), body, depth + 1);
    } else if (GMIME_IS_MESSAGE_PART(object)) {
        GMimeMessage *msg = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));

        if (msg != NULL) {
            add_headers(NULL, GMIME_OBJECT(msg), body);
            add_text(g_mime_message_get_mime_part(msg), body, depth + 1);
        }
    } else if (GMIME_IS_TEXT_PART(object)) {
        g_autofree char *text = g_mime_text_part_get_text(GMIME_TEXT_PART(object));

        if (text != NULL) {
            g_string_append(body, text);
            g_string_append_c(body, '\n');
        }
    }
}

static SearchText *
make_text(const guint8 *data, gsize len)
{
    static GOnce once = G_ONCE_INIT;
    SearchText *t = g_new0(SearchText, 1);
    g_autoptr(GString) header = g_string_new(NULL);
    g_autoptr(GString) body = g_string_new(NULL);
    GMimeStream *stream;
    GMimeParser *parser;
    GMimeMessage *msg;

    g_once(&once, init_gmime, NULL);
    t->names = g_ptr_array_new_with_free_func(g_free);
    t->values = g_ptr_array_new_with_free_func(g_free);
    stream = g_mime_stream_mem_new_with_buffer((const char *)data, len);
    parser = g_mime_parser_new_with_stream(stream);
    msg = g_mime_parser_construct_message(parser, NULL);
    if (msg != NULL) {
        GDateTime *date = g_mime_message_get_date(msg);

        add_headers(t, GMIME_OBJECT(msg), header);
        add_text(g_mime_message_get_mime_part(msg), body, 0);
        if (date != NULL) {
            t->has_date = TRUE;
            g_date_clear(&t->sent, 1);
            g_date_set_dmy(&t->sent, g_date_time_get_day_of_month(date),
                           g_date_time_get_month(date), g_date_time_get_year(date));
        }
    }
    g_clear_object(&msg);
    g_object_unref(parser);
    g_object_unref(stream);
    t->header = fold(header->str, header->len);
    t->body = fold(body->str, body->len);
    return t;
}

static void
make_text_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
    GByteArray *data = task_data;

    g_task_return_pointer(task, make_text(data->data, data->len), (GDestroyNotify)search_text_free);
}

/* ---- evaluation ---- */

static gboolean
internal_day(gint64 when, GDate *day)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(when);

    if (dt == NULL)
        return FALSE;
    g_date_clear(day, 1);
    g_date_set_dmy(day, g_date_time_get_day_of_month(dt), g_date_time_get_month(dt),
                   g_date_time_get_year(dt));
    return TRUE;
}

static gboolean
compare_day(ImapSearchKind kind, const GDate *day, const GDate *key)
{
    int c = g_date_compare(day, key);

    switch (kind) {
    case IMAP_SEARCH_BEFORE:
    case IMAP_SEARCH_SENTBEFORE:
        return c < 0;
    case IMAP_SEARCH_ON:
    case IMAP_SEARCH_SENTON:
        return c == 0;
    default:
        return c >= 0;
    }
}

static gboolean
header_matches(const SearchText *t, const ImapSearchKey *key)
{
    for (guint i = 0; i < t->names->len; i++)
        if ((*key->field == '\0' || strcmp(t->names->pdata[i], key->field) == 0) &&
            strstr(t->values->pdata[i], key->text) != NULL)
            return TRUE;
    return FALSE;
}

static gboolean
flag_set(PrMailbox *mb, guint index, guint flag)
{
    const char *flags = pr_mailbox_get_flags(mb, index);

    switch (flag) {
    case IMAP_SEARCH_FLAG_ANSWERED:
        return imap_msg_has_flag(flags, "\\Answered");
    case IMAP_SEARCH_FLAG_DELETED:
        return imap_msg_has_flag(flags, "\\Deleted");
    case IMAP_SEARCH_FLAG_DRAFT:
        return imap_msg_has_flag(flags, "\\Draft");
    case IMAP_SEARCH_FLAG_FLAGGED:
        return imap_msg_has_flag(flags, "\\Flagged");
    case IMAP_SEARCH_FLAG_SEEN:
        return imap_msg_has_flag(flags, "\\Seen");
    case IMAP_SEARCH_FLAG_RECENT:
        return pr_mailbox_is_recent(mb, index);
    default:
        return FALSE;
    }
}

static Tri
tri(gboolean b)
{
    return b ? TRI_YES : TRI_NO;
}

/* Whether message @index matches @key; TRI_MAYBE when @t is NULL and the
 * answer depends on the text. */
static Tri
eval(SearchJob *job, const ImapSearchKey *key, guint index, const SearchText *t)
{
    PrMailbox *mb = job->s->mailbox;
    GDate day;

    switch (key->kind) {
    case IMAP_SEARCH_ALL:
        return TRI_YES;
    case IMAP_SEARCH_AND: {
        Tri result = TRI_YES;

        for (guint i = 0; i < key->children->len; i++) {
            Tri r = eval(job, key->children->pdata[i], index, t);

            if (r == TRI_NO)
                return TRI_NO;
            if (r == TRI_MAYBE)
                result = TRI_MAYBE;
        }
        return result;
    }
    case IMAP_SEARCH_OR: {
        Tri result = TRI_NO;

        for (guint i = 0; i < key->children->len; i++) {
            Tri r = eval(job, key->children->pdata[i], index, t);

            if (r == TRI_YES)
                return TRI_YES;
            if (r == TRI_MAYBE)
                result = TRI_MAYBE;
        }
        return result;
    }
    case IMAP_SEARCH_NOT: {
        Tri r = eval(job, key->children->pdata[0], index, t);

        return r == TRI_MAYBE ? TRI_MAYBE : tri(r == TRI_NO);
    }
    case IMAP_SEARCH_FLAG:
        return tri(flag_set(mb, index, key->flag));
    case IMAP_SEARCH_KEYWORD:
        return tri(imap_msg_has_flag(pr_mailbox_get_flags(mb, index), key->text));
    case IMAP_SEARCH_NEW:
        return tri(pr_mailbox_is_recent(mb, index) &&
                   !imap_msg_has_flag(pr_mailbox_get_flags(mb, index), "\\Seen"));
    case IMAP_SEARCH_OLD:
        return tri(!pr_mailbox_is_recent(mb, index));
    case IMAP_SEARCH_BEFORE:
    case IMAP_SEARCH_ON:
    case IMAP_SEARCH_SINCE:
        return tri(internal_day(pr_mailbox_get_internal_date(mb, index), &day) &&
                   compare_day(key->kind, &day, &key->date));
    case IMAP_SEARCH_LARGER:
        return tri((guint64)pr_mailbox_get_size(mb, index) > key->number);
    case IMAP_SEARCH_SMALLER:
        return tri((guint64)pr_mailbox_get_size(mb, index) < key->number);
    case IMAP_SEARCH_SEQSET:
    case IMAP_SEARCH_UIDSET:
        if (key->saved_set)
            return tri(
                job->saved != NULL &&
                g_hash_table_contains(job->saved, GUINT_TO_POINTER(pr_mailbox_get_uid(mb, index))));
        return tri(imap_seqset_contains(
            key->set, key->kind == IMAP_SEARCH_SEQSET ? index + 1 : pr_mailbox_get_uid(mb, index)));
    case IMAP_SEARCH_MODSEQ:
        return tri(pr_mailbox_get_modseq(mb, index) >= key->number);
    case IMAP_SEARCH_HEADER:
        return t == NULL ? TRI_MAYBE : tri(header_matches(t, key));
    case IMAP_SEARCH_BODY:
        return t == NULL ? TRI_MAYBE : tri(strstr(t->body, key->text) != NULL);
    case IMAP_SEARCH_TEXT:
        return t == NULL ? TRI_MAYBE
                         : tri(strstr(t->header, key->text) != NULL ||
                               strstr(t->body, key->text) != NULL);
    case IMAP_SEARCH_SENTBEFORE:
    case IMAP_SEARCH_SENTON:
    case IMAP_SEARCH_SENTSINCE:
        return t == NULL ? TRI_MAYBE
                         : tri(t->has_date && compare_day(key->kind, &t->sent, &key->date));
    }
    return TRI_NO;
}

/* Once per command: sets resolved against the snapshot, search strings
 * case-folded like the text they are compared with. */
static void
prepare(SearchJob *job, ImapSearchKey *key)
{
    PrMailbox *mb = job->s->mailbox;
    guint count = pr_mailbox_get_count(mb);

    switch (key->kind) {
    case IMAP_SEARCH_SEQSET:
    case IMAP_SEARCH_UIDSET:
        if (key->saved_set) {
            if (job->saved == NULL && job->s->saved_search != NULL) {
                job->saved = g_hash_table_new(NULL, NULL);
                for (guint i = 0; i < job->s->saved_search->len; i++)
                    g_hash_table_add(job->saved, GUINT_TO_POINTER(g_array_index(
                                                     job->s->saved_search, guint32, i)));
            }
        } else if (key->set != NULL) {
            guint32 largest = key->kind == IMAP_SEARCH_SEQSET ? count
                              : count > 0                     ? pr_mailbox_get_uid(mb, count - 1)
                                                              : 0;
            GArray *resolved = imap_seqset_resolve(key->set, largest);

            g_array_unref(key->set);
            key->set = resolved;
        }
        break;
    case IMAP_SEARCH_HEADER:
    case IMAP_SEARCH_BODY:
    case IMAP_SEARCH_TEXT:
        if (key->text != NULL) {
            char *folded = fold(key->text, -1);

            g_free(key->text);
            key->text = folded;
        }
        break;
    default:
        break;
    }
    for (guint i = 0; key->children != NULL && i < key->children->len; i++)
        prepare(job, key->children->pdata[i]);
}

/* ---- the response ---- */

static void
append_set(GString *out, PrMailbox *mb, GArray *matches, gboolean uid)
{
    g_autoptr(GArray) values = g_array_sized_new(FALSE, FALSE, sizeof(guint32), matches->len);

    for (guint i = 0; i < matches->len; i++) {
        guint index = g_array_index(matches, guint, i);
        guint32 v = uid ? pr_mailbox_get_uid(mb, index) : index + 1;

        g_array_append_val(values, v);
    }
    imap_msg_append_uid_set(out, (const guint32 *)values->data, values->len);
}

static void
save_result(SearchJob *job)
{
    ImapSession *s = job->s;
    PrMailbox *mb = s->mailbox;
    guint32 returns = job->search.returns;
    GArray *saved = g_array_new(FALSE, FALSE, sizeof(guint32));

    if (job->matches->len > 0) {
        /* RFC 5182 §2.1: with MIN or MAX (and no ALL or COUNT) only those. */
        if ((returns & (IMAP_SEARCH_RETURN_MIN | IMAP_SEARCH_RETURN_MAX)) &&
            !(returns & (IMAP_SEARCH_RETURN_ALL | IMAP_SEARCH_RETURN_COUNT))) {
            guint32 min = pr_mailbox_get_uid(mb, g_array_index(job->matches, guint, 0));
            guint32 max =
                pr_mailbox_get_uid(mb, g_array_index(job->matches, guint, job->matches->len - 1));

            if (returns & IMAP_SEARCH_RETURN_MIN)
                g_array_append_val(saved, min);
            if ((returns & IMAP_SEARCH_RETURN_MAX) && !(max == min && saved->len > 0))
                g_array_append_val(saved, max);
        } else {
            for (guint i = 0; i < job->matches->len; i++) {
                guint32 uid = pr_mailbox_get_uid(mb, g_array_index(job->matches, guint, i));
                g_array_append_val(saved, uid);
            }
        }
    }
    g_clear_pointer(&s->saved_search, g_array_unref);
    s->saved_search = saved;
}

static void
respond(SearchJob *job)
{
    ImapSession *s = job->s;
    PrMailbox *mb = s->mailbox;
    g_autoptr(GString) out = g_string_new(NULL);
    guint32 returns = job->search.returns;
    guint64 modseq = 0;

    for (guint i = 0; i < job->matches->len; i++)
        modseq = MAX(modseq, pr_mailbox_get_modseq(mb, g_array_index(job->matches, guint, i)));
    if (returns & IMAP_SEARCH_RETURN_SAVE)
        save_result(job);
    if (!job->search.esearch) {
        g_string_append(out, "* SEARCH");
        for (guint i = 0; i < job->matches->len; i++) {
            guint index = g_array_index(job->matches, guint, i);

            g_string_append_printf(out, " %u",
                                   s->uid_command ? pr_mailbox_get_uid(mb, index) : index + 1);
        }
        if (job->search.uses_modseq && job->matches->len > 0)
            g_string_append_printf(out, " (MODSEQ %" G_GUINT64_FORMAT ")", modseq);
    } else if (returns != IMAP_SEARCH_RETURN_SAVE) {
        /* RFC 4731 §3.1; RFC 5182 §2.1: SAVE alone answers no ESEARCH. */
        g_string_append(out, "* ESEARCH (TAG ");
        g_string_append_printf(out, "\"%s\")", job->tag);
        if (s->uid_command)
            g_string_append(out, " UID");
        if (job->matches->len > 0) {
            guint first = g_array_index(job->matches, guint, 0);
            guint last = g_array_index(job->matches, guint, job->matches->len - 1);

            if (returns & IMAP_SEARCH_RETURN_MIN)
                g_string_append_printf(out, " MIN %u",
                                       s->uid_command ? pr_mailbox_get_uid(mb, first) : first + 1);
            if (returns & IMAP_SEARCH_RETURN_MAX)
                g_string_append_printf(out, " MAX %u",
                                       s->uid_command ? pr_mailbox_get_uid(mb, last) : last + 1);
        }
        if (returns & IMAP_SEARCH_RETURN_COUNT)
            g_string_append_printf(out, " COUNT %u", job->matches->len);
        if ((returns & IMAP_SEARCH_RETURN_ALL) && job->matches->len > 0) {
            g_string_append(out, " ALL ");
            append_set(out, mb, job->matches, s->uid_command);
        }
        if (job->search.uses_modseq && job->matches->len > 0)
            g_string_append_printf(out, " MODSEQ %" G_GUINT64_FORMAT, modseq);
    }
    if (out->len > 0)
        pr_connection_reply(job->conn, out->str);
    imap_command_done(job->conn, s, "OK",
                      s->uid_command ? "UID SEARCH completed" : "SEARCH completed");
    search_job_free(job);
}

/* ---- reading the messages the text keys decide ---- */

static void
text_made(GObject *source, GAsyncResult *result, gpointer user_data)
{
    SearchJob *job = user_data;
    SearchText *t = g_task_propagate_pointer(G_TASK(result), NULL);

    if (pr_connection_is_closed(job->conn)) {
        search_text_free(t);
        search_job_free(job);
        return;
    }
    if (t != NULL && eval(job, job->search.root, job->pos, t) == TRI_YES)
        g_array_append_val(job->matches, job->pos);
    search_text_free(t);
    job->pos++;
    search_run(job);
}

static void
message_read(SearchJob *job)
{
    GTask *task = g_task_new(NULL, NULL, text_made, job);

    g_clear_pointer(&job->reader, pr_message_reader_free);
    g_task_set_task_data(task, g_steal_pointer(&job->data), (GDestroyNotify)g_byte_array_unref);
    g_task_run_in_thread(task, make_text_thread);
    g_object_unref(task);
}

/* Takes a chunk; TRUE when the message is complete. */
static gboolean
take_chunk(SearchJob *job, GBytes *chunk, gboolean last)
{
    gsize len = 0;
    const guint8 *data = g_bytes_get_data(chunk, &len);

    if (job->data->len < SEARCH_MAX_MESSAGE)
        g_byte_array_append(job->data, data, MIN(len, SEARCH_MAX_MESSAGE - job->data->len));
    return last || job->data->len >= SEARCH_MAX_MESSAGE;
}

static void read_on(SearchJob *job);

static void
chunk_read(GObject *source, GAsyncResult *result, gpointer user_data)
{
    SearchJob *job = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) chunk = NULL;
    gboolean last = FALSE;

    chunk = pr_message_reader_next_finish(job->reader, result, &last, &error);
    if (pr_connection_is_closed(job->conn)) {
        search_job_free(job);
        return;
    }
    if (chunk == NULL) {
        g_warning(_("IMAP user %s: cannot read a message: %s"), job->s->login, error->message);
        imap_command_done(job->conn, job->s, "NO",
                          "[SERVERBUG] Cannot read the messages, try again later");
        search_job_free(job);
        return;
    }
    if (take_chunk(job, chunk, last))
        message_read(job);
    else
        read_on(job);
}

static void
read_on(SearchJob *job)
{
    for (;;) {
        gboolean last = FALSE;
        g_autoptr(GBytes) chunk = pr_message_reader_try_next(job->reader, &last);

        if (chunk == NULL)
            break;
        if (take_chunk(job, chunk, last)) {
            message_read(job);
            return;
        }
    }
    pr_message_reader_next_async(job->reader, pr_connection_get_cancellable(job->conn), chunk_read,
                                 job);
}

static void
search_run(SearchJob *job)
{
    guint count = pr_mailbox_get_count(job->s->mailbox);

    for (; job->pos < count; job->pos++) {
        switch (eval(job, job->search.root, job->pos, NULL)) {
        case TRI_YES:
            g_array_append_val(job->matches, job->pos);
            break;
        case TRI_NO:
            break;
        case TRI_MAYBE:
            job->data = g_byte_array_new();
            job->reader = pr_mailbox_read_message(job->s->mailbox, job->pos, PR_MESSAGE_RAW, -1);
            read_on(job);
            return;
        }
    }
    respond(job);
}

PrCommandResult
imap_cmd_search(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    g_autofree char *error = NULL;
    gboolean bad_charset = FALSE;
    SearchJob *job;

    job = g_new0(SearchJob, 1);
    if (!imap_search_parse(cmd->args, &job->search, &bad_charset, &error)) {
        imap_search_clear(&job->search);
        g_free(job);
        if (bad_charset)
            return imap_command_reply(conn, s, "NO",
                                      "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
        return imap_command_bad(conn, s, error != NULL ? error : "Invalid search criteria");
    }
    if (job->search.uses_modseq)
        s->enabled |= IMAP_ENABLED_CONDSTORE; /* RFC 7162 §3.1 */
    job->conn = pr_connection_ref(conn);
    job->s = s;
    job->tag = g_strdup(cmd->tag);
    job->matches = g_array_new(FALSE, FALSE, sizeof(guint));
    imap_session_op_begin(s);
    prepare(job, job->search.root);
    search_run(job);
    return PR_COMMAND_ASYNC;
}
