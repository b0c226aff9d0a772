/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The sender's side of the outbound queue: claims due entries, groups them
 * into jobs (one SMTP session each: one smarthost, or one recipient domain
 * for direct delivery, within the smarthost's per-session limits and rate
 * limit), runs at most max_sessions jobs at once, and records each
 * recipient's outcome the moment it is known.
 *
 * A recipient's DSN or delay warning is sent only after its outcome is
 * committed, and all the recipients of one message that one job settles
 * share one notification: a crash can then lose a notification but never
 * send one twice, and never sends the message again to a recipient whose
 * delivery was recorded. */

#include "postroom-config.h"

#include <string.h>

#include "sender.h"

void
sender_op_begin(Sender *sender)
{
    sender->pending++;
}

void
sender_op_end(Sender *sender)
{
    g_assert(sender->pending > 0);
    sender->pending--;
}

static void
notice_free(SenderNotice *n)
{
    g_free(n->reply);
    g_free(n->remote);
    g_free(n);
}

static void
message_free(SenderMessage *m)
{
    g_ptr_array_unref(m->rcpts);
    g_clear_pointer(&m->data, g_bytes_unref);
    g_clear_pointer(&m->wire, g_bytes_unref);
    g_free(m->unsendable);
    g_ptr_array_unref(m->failed);
    g_ptr_array_unref(m->delayed);
    g_ptr_array_unref(m->relayed);
    g_free(m);
}

static SenderMessage *
message_new(SenderJob *job, const PrQueueEntry *first)
{
    SenderMessage *m = g_new0(SenderMessage, 1);

    m->job = job;
    m->message_id = first->message_id;
    m->sender = first->sender;
    m->rcpts = g_ptr_array_new();
    m->failed = g_ptr_array_new_with_free_func((GDestroyNotify)notice_free);
    m->delayed = g_ptr_array_new_with_free_func((GDestroyNotify)notice_free);
    m->relayed = g_ptr_array_new_with_free_func((GDestroyNotify)notice_free);
    return m;
}

SenderJob *
sender_job_ref(SenderJob *job)
{
    job->ref++;
    return job;
}

void
sender_job_unref(SenderJob *job)
{
    if (--job->ref > 0)
        return;
    g_ptr_array_unref(job->messages);
    g_ptr_array_unref(job->claims);
    g_free(job->domain);
    g_free(job);
}

static SenderJob *
job_new(Sender *sender, SenderRoute *route, const char *domain, SenderTarget *forced)
{
    SenderJob *job = g_new0(SenderJob, 1);

    job->ref = 1;
    job->sender = sender;
    job->route = route;
    job->domain = g_strdup(domain);
    job->forced = forced;
    job->messages = g_ptr_array_new_with_free_func((GDestroyNotify)message_free);
    job->claims = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
    return job;
}

/* ---- outcomes ------------------------------------------------------------- */

typedef struct {
    Sender *sender;
    SenderMessage *msg; /* with a job reference, or NULL */
    gint64 entry_id;
    SenderNotice *notice; /* for the DSN once committed, or NULL */
    gboolean delayed;
    gboolean relayed;
} OutcomeOp;

static void message_maybe_notify(SenderMessage *m);

static void
outcome_done(GObject *source, GAsyncResult *result, gpointer data)
{
    OutcomeOp *op = data;
    Sender *sender = op->sender;
    g_autoptr(GError) error = NULL;

    if (!pr_queue_set_outcome_finish(sender->host, result, &error)) {
        /* The entry stays claimed until its lease ends and is tried again
         * then; no notification for an outcome that is not recorded. */
        pr_log_event(G_LOG_LEVEL_WARNING, "SENDER_OUTCOME_FAILED",
                     "cannot record the outcome of queue entry %" G_GINT64_FORMAT ": %s",
                     op->entry_id, error->message);
        g_clear_pointer(&op->notice, notice_free);
    }
    if (op->msg != NULL) {
        SenderMessage *m = op->msg;
        if (op->notice != NULL)
            g_ptr_array_add(op->delayed   ? m->delayed
                            : op->relayed ? m->relayed
                                          : m->failed,
                            g_steal_pointer(&op->notice));
        m->writes--;
        message_maybe_notify(m);
        sender_job_unref(m->job);
    }
    g_clear_pointer(&op->notice, notice_free);
    g_free(op);
    sender_op_end(sender);
}

static const char *
outcome_name(PrQueueOutcome outcome)
{
    switch (outcome) {
    case PR_QUEUE_DELIVERED:
        return "delivered";
    case PR_QUEUE_DEFERRED:
    case PR_QUEUE_DEFERRED_WARNED:
        return "deferred";
    case PR_QUEUE_FAILED:
        return "failed";
    case PR_QUEUE_RELEASE:
    default:
        return "released";
    }
}

/* Records what happened to one recipient, once: later calls for the same
 * entry are ignored, so that the error paths need not know what the
 * transaction already settled. @msg is NULL for entries that never joined
 * a job (over a rate limit, shutting down); they need no notification. */
void
sender_record(Sender *sender, SenderMessage *msg, const PrQueueEntry *entry, SenderResult result,
              const char *reply, const char *remote)
{
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    PrQueueOutcome outcome;
    gint64 next_try;
    gboolean gave_up, notice;
    OutcomeOp *op;

    if (!g_hash_table_remove(sender->inflight, &entry->id))
        return;
    sender_decide(sender->config, entry, result, now, &outcome, &next_try, &gave_up, &notice);
    /* RFC 3461 §5.2.3: a hop without DSN could not be asked to report the
     * success the sender wants, so we report "relayed"; a hop with DSN got
     * NOTIFY and reports itself. */
    gboolean relayed = outcome == PR_QUEUE_DELIVERED && msg != NULL && !msg->hop_dsn &&
                       entry->sender[0] != '\0' && sender_notify_allows(entry, "SUCCESS");
    notice = notice || relayed;
    if (outcome != PR_QUEUE_RELEASE) {
        GLogLevelFlags level =
            outcome == PR_QUEUE_DELIVERED ? G_LOG_LEVEL_INFO : G_LOG_LEVEL_MESSAGE;
        pr_log_event(level,
                     outcome == PR_QUEUE_DELIVERED ? "SENDER_DELIVERED"
                     : outcome == PR_QUEUE_FAILED  ? (gave_up ? "SENDER_GAVE_UP" : "SENDER_FAILED")
                                                   : "SENDER_DEFERRED",
                     "queue entry %" G_GINT64_FORMAT " (message %" G_GINT64_FORMAT
                     ") from <%s> to <%s> %s%s%s: %s",
                     entry->id, entry->message_id, entry->sender, entry->recipient,
                     outcome_name(outcome), remote != NULL ? " via " : "",
                     remote != NULL ? remote : "", reply != NULL ? reply : "");
    }
    op = g_new0(OutcomeOp, 1);
    op->sender = sender;
    op->entry_id = entry->id;
    if (msg != NULL) {
        op->msg = msg;
        msg->writes++;
        sender_job_ref(msg->job);
        if (notice) {
            op->notice = g_new0(SenderNotice, 1);
            op->notice->entry = entry;
            op->notice->reply = g_strdup(reply != NULL ? reply : "");
            op->notice->remote = g_strdup(remote);
            op->notice->gave_up = gave_up;
            op->notice->next_try = next_try;
            op->delayed = outcome == PR_QUEUE_DEFERRED_WARNED;
            op->relayed = relayed;
        }
    }
    g_autofree char *stored = NULL;
    if (gave_up)
        stored = g_strdup_printf("gave up after %" G_GINT64_FORMAT " hours: %s",
                                 (now - entry->created) / 3600, reply != NULL ? reply : "");
    sender_op_begin(sender);
    /* No cancellable: an outcome must be written even while stopping. */
    pr_queue_set_outcome_async(sender->host, entry->id, outcome, next_try,
                               stored != NULL ? stored : reply, NULL, outcome_done, op);
}

static void
message_maybe_notify(SenderMessage *m)
{
    if (!m->finished || m->writes > 0 || m->notified)
        return;
    m->notified = TRUE;
    if (m->failed->len > 0)
        sender_dsn_send(m->job->sender, m, SENDER_DSN_FAILED);
    if (m->delayed->len > 0)
        sender_dsn_send(m->job->sender, m, SENDER_DSN_DELAYED);
    if (m->relayed->len > 0)
        sender_dsn_send(m->job->sender, m, SENDER_DSN_RELAYED);
    g_ptr_array_set_size(m->failed, 0);
    g_ptr_array_set_size(m->delayed, 0);
    g_ptr_array_set_size(m->relayed, 0);
    g_clear_pointer(&m->data, g_bytes_unref);
    g_clear_pointer(&m->wire, g_bytes_unref);
}

/* Every recipient of @msg has its outcome decided; a recipient the caller
 * forgot is deferred rather than left claimed. */
void
sender_message_finish(SenderMessage *msg)
{
    Sender *sender = msg->job->sender;

    for (guint i = 0; i < msg->rcpts->len; i++)
        sender_record(sender, msg, msg->rcpts->pdata[i],
                      sender->stopping ? SENDER_RESULT_RELEASE : SENDER_RESULT_TEMPORARY,
                      "451 4.3.0 not attempted", NULL);
    msg->finished = TRUE;
    message_maybe_notify(msg);
}

/* ---- failing a whole job (no route, no server, shutting down) ------------ */

typedef struct {
    SenderJob *job;
    guint index;
    SenderResult result;
    char *reply;
    char *remote;
} FailState;

static void
fail_state_free(FailState *f)
{
    sender_job_unref(f->job);
    g_free(f->reply);
    g_free(f->remote);
    g_free(f);
}

static void fail_next(GTask *task);
static void fail_read_done_counted(GObject *source, GAsyncResult *result, gpointer data);

static void
fail_read_done(GObject *source, GAsyncResult *result, gpointer data)
{
    g_autoptr(GTask) task = data;
    FailState *f = g_task_get_task_data(task);
    SenderMessage *m = f->job->messages->pdata[f->index];

    /* Without the text the notification still goes out, without it. */
    m->data = pr_queue_read_message_finish(f->job->sender->host, result, NULL);
    for (guint i = 0; i < m->rcpts->len; i++)
        sender_record(f->job->sender, m, m->rcpts->pdata[i], f->result, f->reply, f->remote);
    sender_message_finish(m);
    f->index++;
    fail_next(g_steal_pointer(&task));
}

/* One message at a time, reading its text only when one of its recipients
 * will be told, and before its outcomes are written: a message whose last
 * entry is settled may lose its spool file at once. */
static void
fail_next(GTask *task)
{
    FailState *f = g_task_get_task_data(task);
    Sender *sender = f->job->sender;

    for (; f->index < f->job->messages->len; f->index++) {
        SenderMessage *m = f->job->messages->pdata[f->index];
        gint64 now = g_get_real_time() / G_USEC_PER_SEC;
        gboolean wanted = FALSE;

        if (m->finished)
            continue;
        for (guint i = 0; i < m->rcpts->len && !wanted; i++) {
            const PrQueueEntry *e = m->rcpts->pdata[i];
            PrQueueOutcome outcome;
            gint64 next_try;
            gboolean gave_up, notice;
            if (!g_hash_table_contains(sender->inflight, &e->id))
                continue;
            sender_decide(sender->config, e, f->result, now, &outcome, &next_try, &gave_up,
                          &notice);
            wanted = notice;
        }
        if (wanted && m->data == NULL) {
            sender_op_begin(sender);
            pr_queue_read_message_async(sender->host, m->rcpts->pdata[0], NULL,
                                        fail_read_done_counted, task);
            return;
        }
        for (guint i = 0; i < m->rcpts->len; i++)
            sender_record(sender, m, m->rcpts->pdata[i], f->result, f->reply, f->remote);
        sender_message_finish(m);
    }
    g_task_return_boolean(task, TRUE);
    g_object_unref(task);
}

static void
fail_read_done_counted(GObject *source, GAsyncResult *result, gpointer data)
{
    GTask *task = data;
    Sender *sender = ((FailState *)g_task_get_task_data(task))->job->sender;

    fail_read_done(source, result, data);
    sender_op_end(sender);
}

/* Settles every recipient not yet settled of the messages from
 * @from_message on with @result. */
void
sender_job_fail_async(SenderJob *job, guint from_message, SenderResult result, const char *reply,
                      const char *remote, GAsyncReadyCallback callback, gpointer user_data)
{
    GTask *task = g_task_new(NULL, NULL, callback, user_data);
    FailState *f = g_new0(FailState, 1);

    f->job = sender_job_ref(job);
    f->index = from_message;
    f->result = result;
    f->reply = g_strdup(reply);
    f->remote = g_strdup(remote);
    g_task_set_task_data(task, f, (GDestroyNotify)fail_state_free);
    fail_next(task);
}

void
sender_job_fail_finish(GAsyncResult *result)
{
    g_task_propagate_boolean(G_TASK(result), NULL);
}

/* ---- claiming and grouping ------------------------------------------------ */

static void
release_at(Sender *sender, const PrQueueEntry *entry, gint64 next_try, const char *why)
{
    OutcomeOp *op = g_new0(OutcomeOp, 1);

    g_hash_table_remove(sender->inflight, &entry->id);
    op->sender = sender;
    op->entry_id = entry->id;
    sender_op_begin(sender);
    pr_queue_set_outcome_async(sender->host, entry->id, PR_QUEUE_RELEASE, next_try, why, NULL,
                               outcome_done, op);
}

static gboolean
job_full(const SenderJob *job, const SenderMessage *last, const PrQueueEntry *e)
{
    const SenderRoute *r = job->route;
    gboolean new_message = last == NULL || last->message_id != e->message_id;
    gboolean new_txn =
        new_message || (r->max_rcpts_per_msg > 0 && last->rcpts->len % r->max_rcpts_per_msg == 0);

    if (r->max_rcpts_per_sess > 0 && job->n_rcpts >= r->max_rcpts_per_sess)
        return TRUE;
    /* An ISP's "messages per session" counts transactions: a message split
     * by max_recipients_per_message is several. */
    return new_txn && r->max_messages > 0 && job->n_txns >= r->max_messages;
}

static void
job_add(SenderJob *job, const PrQueueEntry *e)
{
    const SenderRoute *r = job->route;
    SenderMessage *last =
        job->messages->len > 0 ? job->messages->pdata[job->messages->len - 1] : NULL;

    if (last == NULL || last->message_id != e->message_id) {
        last = message_new(job, e);
        g_ptr_array_add(job->messages, last);
        job->n_txns++;
    } else if (r->max_rcpts_per_msg > 0 && last->rcpts->len % r->max_rcpts_per_msg == 0) {
        job->n_txns++;
    }
    g_ptr_array_add(last->rcpts, (gpointer)e);
    job->n_rcpts++;
}

static void
build_jobs(Sender *sender, GPtrArray *entries)
{
    g_autoptr(GHashTable) open = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;

    for (guint i = 0; i < entries->len; i++) {
        const PrQueueEntry *e = entries->pdata[i];
        SenderTarget *forced = NULL;
        SenderRoute *route;
        gint64 next_free;

        /* Claimed again after its lease ran out while a session of ours
         * still has it: that session settles it. */
        if (g_hash_table_contains(sender->inflight, &e->id))
            continue;
        g_hash_table_add(sender->inflight, (gpointer)&e->id);
        if (sender->stopping) {
            release_at(sender, e, now, NULL);
            continue;
        }
        route = sender_config_route(sender->config, e, &forced);
        if (sender_rate_take(&route->rate, 1, now, &next_free) == 0) {
            g_autofree char *why = g_strdup_printf("waiting for the rate limit of %s", route->name);
            g_debug("queue entry %" G_GINT64_FORMAT " waits %" G_GINT64_FORMAT
                    " s for the rate limit of %s",
                    e->id, next_free - now, route->name);
            release_at(sender, e, next_free, why);
            continue;
        }
        g_autofree char *domain =
            route->direct ? g_ascii_strdown(sender_address_domain(e->recipient), -1) : NULL;
        g_autofree char *key = g_strdup_printf("%s/%s", route->name, domain ? domain : "");
        SenderJob *job = g_hash_table_lookup(open, key);
        SenderMessage *last = job != NULL ? job->messages->pdata[job->messages->len - 1] : NULL;
        if (job == NULL || job_full(job, last, e)) {
            job = job_new(sender, route, domain, forced);
            g_ptr_array_add(job->claims, g_ptr_array_ref(entries));
            g_queue_push_tail(&sender->jobs, job);
            g_hash_table_replace(open, g_steal_pointer(&key), job);
        }
        job_add(job, e);
    }
}

static void
claim_done(GObject *source, GAsyncResult *result, gpointer data)
{
    Sender *sender = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) entries = pr_queue_claim_finish(sender->host, result, &error);

    sender->claiming = FALSE;
    if (entries == NULL) {
        if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            pr_log_event(G_LOG_LEVEL_WARNING, "SENDER_CLAIM_FAILED",
                         "cannot read the outbound queue: %s", error->message);
    } else {
        if (entries->len > 0)
            g_debug("claimed %u queue entries", entries->len);
        sender->more_due = entries->len >= SENDER_CLAIM_MAX;
        build_jobs(sender, entries);
        sender_start_jobs(sender);
    }
    sender_op_end(sender);
}

/* Claims only when a session could start, so that claimed entries never
 * wait out their lease behind others. */
void
sender_claim(Sender *sender)
{
    if (sender->claiming || sender->stopping || !g_queue_is_empty(&sender->jobs) ||
        sender->sessions->len >= sender->config->max_sessions)
        return;
    sender->claiming = TRUE;
    sender_op_begin(sender);
    pr_queue_claim_async(sender->host, SENDER_CLAIM_MAX, (guint)sender->config->claim_lease,
                         sender->cancellable, claim_done, sender);
}

static gboolean
claim_soon_cb(gpointer data)
{
    Sender *sender = data;

    g_clear_pointer(&sender->claim_soon, g_source_unref);
    sender_claim(sender);
    return G_SOURCE_REMOVE;
}

void
sender_claim_soon(Sender *sender)
{
    if (sender->claim_soon != NULL || sender->stopping)
        return;
    sender->claim_soon = g_idle_source_new();
    g_source_set_callback(sender->claim_soon, claim_soon_cb, sender, NULL);
    g_source_attach(sender->claim_soon, NULL);
}

void
sender_start_jobs(Sender *sender)
{
    while (!sender->stopping && sender->sessions->len < sender->config->max_sessions &&
           !g_queue_is_empty(&sender->jobs)) {
        SenderJob *job = g_queue_pop_head(&sender->jobs);
        g_ptr_array_add(sender->sessions, sender_session_start(sender, job));
        sender_job_unref(job);
    }
}

void
sender_session_ended(Sender *sender, SenderSession *session)
{
    g_ptr_array_remove_fast(sender->sessions, session);
    sender_session_free(session);
    if (sender->stopping)
        return;
    sender_start_jobs(sender);
    if (sender->more_due)
        sender_claim_soon(sender);
}

/* Shutting down: jobs that never got a session give their entries back. */
void
sender_release_waiting(Sender *sender)
{
    SenderJob *job;

    while ((job = g_queue_pop_head(&sender->jobs)) != NULL) {
        for (guint i = 0; i < job->messages->len; i++) {
            SenderMessage *m = job->messages->pdata[i];
            for (guint k = 0; k < m->rcpts->len; k++)
                sender_record(sender, m, m->rcpts->pdata[k], SENDER_RESULT_RELEASE, NULL, NULL);
            sender_message_finish(m);
        }
        sender_job_unref(job);
    }
}
