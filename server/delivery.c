/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "delivery.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <postroom/pr-log.h>
#include <sys/statvfs.h>

#include "host.h"
#include "mime-summary.h"
#include "store/spool.h"
#include "store/store-mail.h"

G_DEFINE_QUARK(pr - delivery - error - quark, pr_delivery_error)

/* Headers that would make a monitor's mailbox send read receipts. */
static const char *const receipt_headers[] = { "Disposition-Notification-To", "Return-Receipt-To",
                                               "X-Confirm-Reading-To", NULL };

static void
monitor_from_config(RouterMonitor *m, Config *config, const char *kind)
{
    g_autofree char *users = g_strconcat(kind, "_users", NULL);
    g_autofree char *target = g_strconcat(kind, "_target", NULL);
    g_autofree char *min_size = g_strconcat(kind, "_min_size", NULL);
    const char *scope = config_get_string(config, "monitor", kind);
    const char *t = config_get_string(config, "monitor", target);

    m->scope = g_strcmp0(scope, "all") == 0        ? ROUTER_MONITOR_ALL
               : g_strcmp0(scope, "selected") == 0 ? ROUTER_MONITOR_SELECTED
                                                   : ROUTER_MONITOR_NONE;
    m->users = config_get_strv(config, "monitor", users);
    m->target = t != NULL && *t != '\0' ? g_ascii_strdown(t, -1) : NULL;
    m->min_size = config_get_int(config, "monitor", min_size);
}

void
delivery_settings_init(DeliverySettings *s, Config *config, const char *hostname)
{
    const char *data_dir = config_get_string(config, "server", "data_dir");
    const char *domain = config_get_string(config, "delivery", "default_domain");
    const char *fax = config_get_string(config, "delivery", "fax_mailbox");
    const char *postmaster = config_get_string(config, "delivery", "postmaster");
    RouterData *r = router_data_new();

    s->hostname = g_strdup(hostname);
    s->spool_dir = g_build_filename(data_dir, "spool", NULL);
    s->disk_reserve = config_get_int(config, "delivery", "disk_reserve");
    s->max_size = config_get_int(config, "delivery", "max_message_size");
    s->msgaudit = config_get_bool(config, "delivery", "msgaudit");
    s->postmaster = postmaster != NULL && *postmaster != '\0' ? g_strdup(postmaster) : NULL;
    s->notify_host = NULL;

    g_free(r->default_domain);
    r->default_domain = g_ascii_strdown(domain != NULL && *domain != '\0' ? domain : hostname, -1);
    /* The default domain is local: a bare name is someone here. */
    g_auto(GStrv) listed = config_get_strv(config, "delivery", "local_domains");
    g_autoptr(GStrvBuilder) local = g_strv_builder_new();
    g_strv_builder_add(local, r->default_domain);
    g_strv_builder_addv(local, (const char **)listed);
    g_strfreev(r->local_domains);
    r->local_domains = g_strv_builder_end(local);
    r->implicit_user_mapping = config_get_bool(config, "delivery", "implicit_user_mapping");
    r->unknown_local_outgoing = config_get_bool(config, "delivery", "unknown_local_outgoing");
    r->fax_mailbox = fax != NULL && *fax != '\0' ? g_ascii_strdown(fax, -1) : NULL;
    r->hop_limit = config_get_int(config, "delivery", "hop_limit");
    monitor_from_config(&r->monitor_incoming, config, "incoming");
    monitor_from_config(&r->monitor_outgoing, config, "outgoing");
    monitor_from_config(&r->monitor_internal, config, "internal");
    s->router = r;
}

void
delivery_settings_clear(DeliverySettings *s)
{
    g_clear_pointer(&s->hostname, g_free);
    g_clear_pointer(&s->spool_dir, g_free);
    g_clear_pointer(&s->postmaster, g_free);
    g_clear_pointer(&s->router, router_data_free);
}

static void
copy_monitor(RouterMonitor *to, const RouterMonitor *from)
{
    to->scope = from->scope;
    to->users = g_strdupv(from->users);
    to->min_size = from->min_size;
    to->target = g_strdup(from->target);
}

RouterData *
delivery_load_directory(StoreConn *c, const DeliverySettings *s, GError **error)
{
    g_autoptr(RouterData) d = router_data_new();
    const RouterData *from = s->router;

    g_free(d->default_domain);
    d->default_domain = g_strdup(from->default_domain);
    g_strfreev(d->local_domains);
    d->local_domains = g_strdupv(from->local_domains);
    d->implicit_user_mapping = from->implicit_user_mapping;
    d->unknown_local_outgoing = from->unknown_local_outgoing;
    d->fax_mailbox = g_strdup(from->fax_mailbox);
    d->hop_limit = from->hop_limit;
    copy_monitor(&d->monitor_incoming, &from->monitor_incoming);
    copy_monitor(&d->monitor_outgoing, &from->monitor_outgoing);
    copy_monitor(&d->monitor_internal, &from->monitor_internal);
    if (!store_directory_load(c, d, error))
        return NULL;
    return g_steal_pointer(&d);
}

void
delivery_report_free(DeliveryReport *report)
{
    if (report == NULL)
        return;
    router_outcome_free(report->outcome);
    g_free(report);
}

/* ---- the message ---- */

GBytes *
delivery_normalize(GBytes *message)
{
    gsize len = 0;
    const char *data = g_bytes_get_data(message, &len);
    GByteArray *out = g_byte_array_sized_new(len + len / 40 + 2);
    gsize run = 0; /* start of the bytes not yet copied */

    /* Copied in runs between the line ends that change, not byte by byte:
     * mail from SMTP is CRLF already and comes through in one piece. */
    for (gsize i = 0; i < len; i++) {
        if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r')) {
            g_byte_array_append(out, (const guint8 *)data + run, i - run);
            g_byte_array_append(out, (const guint8 *)"\r", 1);
            run = i; /* the LF itself follows with the next run */
        } else if (data[i] == '\r' && (i + 1 == len || data[i + 1] != '\n')) {
            /* A lone CR becomes a line end too: nothing downstream may see
             * line ends of another kind. */
            g_byte_array_append(out, (const guint8 *)data + run, i - run);
            g_byte_array_append(out, (const guint8 *)"\r\n", 2);
            run = i + 1;
        }
    }
    g_byte_array_append(out, (const guint8 *)data + run, len - run);
    if (out->len < 2 || out->data[out->len - 2] != '\r' || out->data[out->len - 1] != '\n')
        g_byte_array_append(out, (const guint8 *)"\r\n", 2);
    return g_byte_array_free_to_bytes(out);
}

typedef struct {
    int received;
    GPtrArray *delivered_to;
    char *subject, *from, *date, *message_id;
    gsize header_end; /* offset of the blank line ending the header */
} HeaderSummary;

static void
header_summary_clear(HeaderSummary *h)
{
    g_clear_pointer(&h->delivered_to, g_ptr_array_unref);
    g_free(h->subject);
    g_free(h->from);
    g_free(h->date);
    g_free(h->message_id);
}

/* Reads the header block of a CRLF message: folded lines are unfolded, and
 * values are cut to the 998 octets RFC 5322 allows on a line. */
static void
summarize_headers(const char *data, gsize len, HeaderSummary *h)
{
    g_autoptr(GString) field = g_string_new(NULL);
    gsize pos = 0;

    h->delivered_to = g_ptr_array_new_with_free_func(g_free);
    h->header_end = len;
    for (;;) {
        const char *eol = g_strstr_len(data + pos, len - pos, "\r\n");
        gsize line_len = eol != NULL ? (gsize)(eol - (data + pos)) : len - pos;
        gboolean continuation = line_len > 0 && (data[pos] == ' ' || data[pos] == '\t');

        if (!continuation && field->len > 0) {
            char *colon = strchr(field->str, ':');
            if (colon != NULL) {
                g_autofree char *name = g_strndup(field->str, colon - field->str);
                g_autofree char *value = g_strstrip(g_strndup(colon + 1, 998));
                g_strstrip(name);
                if (g_ascii_strcasecmp(name, "Received") == 0)
                    h->received++;
                else if (g_ascii_strcasecmp(name, "Delivered-To") == 0)
                    g_ptr_array_add(h->delivered_to, g_steal_pointer(&value));
                else if (g_ascii_strcasecmp(name, "Subject") == 0 && h->subject == NULL)
                    h->subject = g_steal_pointer(&value);
                else if (g_ascii_strcasecmp(name, "From") == 0 && h->from == NULL)
                    h->from = g_steal_pointer(&value);
                else if (g_ascii_strcasecmp(name, "Date") == 0 && h->date == NULL)
                    h->date = g_steal_pointer(&value);
                else if (g_ascii_strcasecmp(name, "Message-ID") == 0 && h->message_id == NULL)
                    h->message_id = g_steal_pointer(&value);
            }
            g_string_truncate(field, 0);
        }
        if (eol == NULL || line_len == 0) {
            h->header_end = pos;
            break;
        }
        if (field->len < 4096)
            g_string_append_len(field, data + pos, line_len);
        pos += line_len + 2;
    }
    g_ptr_array_add(h->delivered_to, NULL);
}

/* RFC 5322 date, in English whatever the locale. */
static char *
rfc5322_date(GDateTime *t)
{
    static const char *const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    gint64 offset = g_date_time_get_utc_offset(t) / G_USEC_PER_SEC / 60;
    return g_strdup_printf(
        "%s, %d %s %d %02d:%02d:%02d %c%02d%02d", days[g_date_time_get_day_of_week(t) - 1],
        g_date_time_get_day_of_month(t), months[g_date_time_get_month(t) - 1],
        g_date_time_get_year(t), g_date_time_get_hour(t), g_date_time_get_minute(t),
        g_date_time_get_second(t), offset < 0 ? '-' : '+', (int)(ABS(offset) / 60),
        (int)(ABS(offset) % 60));
}

/* The local time zone, read once: GLib 2.74 reads the zone file again on
 * every g_date_time_new_from_unix_local() when TZ is not set. */
static GTimeZone *
local_zone(void)
{
    static GTimeZone *zone;

    if (g_once_init_enter(&zone))
        g_once_init_leave(&zone, g_time_zone_new_local());
    return zone;
}

/* Return-Path and a Received line, then the message. @for_rcpt is the one
 * recipient's normalised address, or NULL. */
static GBytes *
trace_headers(const DeliverySettings *s, const DeliveryEnvelope *env, const char *for_rcpt,
              GBytes *body, gint64 received)
{
    g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc(received);
    g_autoptr(GDateTime) now = g_date_time_to_timezone(utc, local_zone());
    g_autofree char *date = rfc5322_date(now);
    g_autoptr(GString) out = g_string_new(NULL);

    g_string_append_printf(out, "Return-Path: <%s>\r\n", env->sender);
    if (env->client_ip != NULL)
        g_string_append_printf(out, "Received: from %s ([%s])\r\n\tby %s (Postroom) with %s",
                               env->client_name != NULL ? env->client_name : "unknown",
                               env->client_ip, s->hostname, env->protocol);
    else
        g_string_append_printf(out, "Received: by %s (Postroom) with %s", s->hostname,
                               env->protocol);
    /* "for" names the recipient only when there is one, not to leak Bcc
     * (RFC 5321 §4.4: a mailbox, so the normalised address). */
    if (for_rcpt != NULL)
        g_string_append_printf(out, "\r\n\tfor <%s>", for_rcpt);
    g_string_append_printf(out, "; %s\r\n", date);
    g_string_append_len(out, g_bytes_get_data(body, NULL), g_bytes_get_size(body));
    return g_string_free_to_bytes(g_steal_pointer(&out));
}

/* The header without read-receipt requests, for monitor copies. */
static GBytes *
strip_receipt_requests(GBytes *message, gsize header_end)
{
    gsize len = 0;
    const char *data = g_bytes_get_data(message, &len);
    GString *out = g_string_sized_new(len);
    gsize pos = 0;
    gboolean skipping = FALSE;

    while (pos < header_end) {
        const char *eol = g_strstr_len(data + pos, header_end - pos, "\r\n");
        gsize line_len = eol != NULL ? (gsize)(eol - (data + pos)) + 2 : header_end - pos;
        gboolean continuation = data[pos] == ' ' || data[pos] == '\t';
        if (!continuation) {
            skipping = FALSE;
            for (int i = 0; receipt_headers[i] != NULL; i++) {
                gsize n = strlen(receipt_headers[i]);
                if (line_len > n && g_ascii_strncasecmp(data + pos, receipt_headers[i], n) == 0 &&
                    data[pos + n] == ':')
                    skipping = TRUE;
            }
        }
        if (!skipping)
            g_string_append_len(out, data + pos, line_len);
        pos += line_len;
    }
    g_string_append_len(out, data + header_end, len - header_end);
    return g_string_free_to_bytes(out);
}

static gboolean
enough_space(const DeliverySettings *s, GError **error)
{
    struct statvfs st;
    if (s->disk_reserve <= 0 || statvfs(s->spool_dir, &st) != 0)
        return TRUE;
    guint64 free_bytes = (guint64)st.f_bavail * st.f_frsize;
    if (free_bytes >= (guint64)s->disk_reserve)
        return TRUE;
    g_set_error(error, PR_DELIVERY_ERROR, PR_DELIVERY_ERROR_NO_SPACE,
                _("Only %llu MiB of disk space is free, below the reserve of %lld MiB "
                  "([delivery] disk_reserve); new mail from local senders is refused until "
                  "space is freed"),
                (unsigned long long)(free_bytes / (1024 * 1024)),
                (long long)(s->disk_reserve / (1024 * 1024)));
    return FALSE;
}

/* The RFC 3461 parameters of the envelope recipient that is @address
 * itself (a forwarded copy has none: it is a new delivery). */
static void
dsn_of(const DeliveryEnvelope *env, const RouterOutcome *routed, const char *address,
       StoreQueueTarget *q)
{
    for (guint i = 0; routed != NULL && i < routed->results->len; i++) {
        const RouterResult *r = routed->results->pdata[i];
        if (g_ascii_strcasecmp(r->address, address) != 0)
            continue;
        q->notify = env->notify != NULL ? env->notify[i] : NULL;
        q->orcpt = env->orcpt != NULL ? env->orcpt[i] : NULL;
        return;
    }
}

/* ---- prepared messages ----
 *
 * Delivery has two halves. delivery_prepare() needs no database: it checks,
 * routes and writes each copy to the spool with its data and name fsynced,
 * so several messages can be prepared at once on several threads (the file
 * system merges their fsyncs into shared journal commits).
 * delivery_commit() then commits the rows of many messages in one
 * transaction (store_deliver_batch(): the statements per mailbox user once
 * per batch), so one database fsync covers them all. The durability
 * argument is the same as for a single message: the row is the commit
 * point, and when it commits, the file's data and name are already on disk;
 * a crash before it leaves only files that no row names, which the spool
 * sweep removes. */

/* One stored copy of a message: a spool file and whom it is for. */
typedef struct {
    char *path; /* relative to the spool; removed on failure */
    gint64 size;
    GPtrArray *mailboxes;        /* borrowed from the outcome */
    GPtrArray *remote;           /* borrowed from the outcome, or NULL */
    const RouterOutcome *routed; /* for the RFC 3461 parameters, or NULL */
    gboolean monitor;            /* a monitoring copy: failing it only warns */
    gint64 message_id;           /* once the rows exist */
    StoreMime *mime;             /* its IMAP summary if it goes to mailboxes */
} DeliveryCopy;

struct _DeliveryJob {
    DeliveryEnvelope env; /* strings borrowed from the caller */
    const RouterData *dir;
    DeliveryReport *report;
    HeaderSummary h;
    gint64 received;
    DeliveryCopy copies[2]; /* the message, then the monitoring copy */
    guint n_copies;
    GPtrArray *alerts; /* StoreQuotaAlert*, from the commit */
    GError *error;
};

static void
delivery_copy_clear(const DeliverySettings *s, DeliveryCopy *copy, gboolean remove_file)
{
    if (remove_file && copy->path != NULL) {
        /* Nothing refers to the file: remove it rather than leave it to the
         * sweep. */
        g_autofree char *full = g_build_filename(s->spool_dir, copy->path, NULL);
        g_unlink(full);
    }
    g_clear_pointer(&copy->path, g_free);
}

void
delivery_job_free(DeliveryJob *job)
{
    if (job == NULL)
        return;
    for (guint i = 0; i < job->n_copies; i++) {
        g_free(job->copies[i].path);
        g_clear_pointer(&job->copies[i].mime, store_mime_free);
    }
    header_summary_clear(&job->h);
    delivery_report_free(job->report);
    g_ptr_array_unref(job->alerts);
    g_clear_error(&job->error);
    g_free(job);
}

DeliveryReport *
delivery_job_finish(DeliveryJob *job, GError **error)
{
    if (job->error != NULL) {
        g_propagate_error(error, g_steal_pointer(&job->error));
        return NULL;
    }
    return g_steal_pointer(&job->report);
}

gboolean
delivery_job_has_copies(const DeliveryJob *job)
{
    return job->n_copies > 0;
}

/* Writes @data to the spool for @mailboxes and @remote; the rows follow at
 * the commit. */
static gboolean
add_copy(DeliveryJob *job, const DeliverySettings *s, GBytes *data, const RouterOutcome *routed,
         GPtrArray *mailboxes, GPtrArray *remote, gboolean monitor, GError **error)
{
    gsize len = 0;
    const void *bytes = g_bytes_get_data(data, &len);
    char *path = spool_create(s->spool_dir, bytes, len, error);
    if (path == NULL)
        return FALSE;
    DeliveryCopy *copy = &job->copies[job->n_copies++];
    copy->path = path;
    copy->size = (gint64)len;
    copy->mailboxes = mailboxes;
    copy->remote = remote;
    copy->routed = routed;
    copy->monitor = monitor;
    /* MIME is parsed once, here (a few microseconds for a plain message),
     * rather than at every FETCH; the rows go in with the message's. */
    if (mailboxes != NULL && mailboxes->len > 0) {
        g_autoptr(MimeSummary) ms = mime_summary_build(bytes, len);
        copy->mime =
            store_mime_new(0, g_steal_pointer(&ms->envelope), g_steal_pointer(&ms->bodystructure),
                           g_steal_pointer(&ms->body), g_steal_pointer(&ms->sections));
    }
    return TRUE;
}

DeliveryJob *
delivery_prepare(const DeliverySettings *s, const RouterData *dir, GBytes *message,
                 const DeliveryEnvelope *env, GError **error)
{
    g_autoptr(GBytes) body = delivery_normalize(message);
    gsize len = 0;
    const char *data = g_bytes_get_data(body, &len);
    g_autoptr(DeliveryJob) job = g_new0(DeliveryJob, 1);
    HeaderSummary *h = &job->h;

    job->env = *env;
    job->dir = dir;
    job->alerts = g_ptr_array_new_with_free_func((GDestroyNotify)store_quota_alert_free);
    job->report = g_new0(DeliveryReport, 1);
    if (s->max_size > 0 && (gint64)len > s->max_size) {
        g_set_error(error, PR_DELIVERY_ERROR, PR_DELIVERY_ERROR_TOO_BIG,
                    _("The message is %llu bytes, more than the %lld bytes allowed "
                      "([delivery] max_message_size)"),
                    (unsigned long long)len, (long long)s->max_size);
        return NULL;
    }
    summarize_headers(data, len, h);
    RouterMessage rm = { env->sender,
                         env->auth_user,
                         env->sender_local,
                         h->received,
                         (const char *const *)h->delivered_to->pdata,
                         (gint64)len,
                         env->no_implicit_user_mapping };
    job->report->outcome = router_route(dir, &rm, env->recipients);
    RouterOutcome *out = job->report->outcome;

    if (out->too_many_hops) {
        g_set_error(error, PR_DELIVERY_ERROR, PR_DELIVERY_ERROR_TOO_MANY_HOPS,
                    _("The message has passed %d mail servers, more than the %d allowed "
                      "([delivery] hop_limit); it is probably looping"),
                    h->received, dir->hop_limit);
        return NULL;
    }
    if (out->mailboxes->len == 0 && out->remote->len == 0 && out->monitor_mailboxes->len == 0)
        return g_steal_pointer(&job); /* nobody to deliver to: the caller reports why */
    if (env->sender_local && !enough_space(s, error))
        return NULL;

    job->received = g_get_real_time() / G_USEC_PER_SEC;
    const RouterResult *only = out->results->len == 1 ? out->results->pdata[0] : NULL;
    g_autoptr(GBytes) traced =
        trace_headers(s, env, only != NULL ? only->address : NULL, body, job->received);
    if ((out->mailboxes->len > 0 || out->remote->len > 0) &&
        !add_copy(job, s, traced, out, out->mailboxes, out->remote, FALSE, error))
        return NULL;
    if (out->monitor_mailboxes->len > 0) {
        /* The copy is a message of its own, so a receipt request cannot
         * reach the monitor through the shared spool file. */
        gsize trace_len = g_bytes_get_size(traced) - len;
        g_autoptr(GBytes) stripped = strip_receipt_requests(traced, trace_len + h->header_end);
        g_autoptr(GError) local = NULL;
        if (!add_copy(job, s, stripped, NULL, out->monitor_mailboxes, NULL, TRUE, &local))
            g_warning("monitoring copy not stored: %s", local->message);
    }
    return g_steal_pointer(&job);
}

/* What the store needs for the rows of one copy (a StoreDelivery), with
 * the strings and arrays it points to. */
typedef struct {
    StoreMessage message;
    GPtrArray *prefixes; /* char* */
    GArray *targets;     /* StoreDeliveryTarget */
    GArray *queued;      /* StoreQueueTarget */
} CopyRows;

static void
copy_rows_init(CopyRows *rows, StoreDelivery *d, DeliveryJob *job, const DeliveryCopy *copy)
{
    const DeliveryEnvelope *env = &job->env;
    const HeaderSummary *h = &job->h;
    rows->prefixes = g_ptr_array_new_with_free_func(g_free);
    rows->targets = g_array_new(FALSE, TRUE, sizeof(StoreDeliveryTarget));
    for (guint i = 0; i < copy->mailboxes->len; i++) {
        char *prefix = g_strdup_printf("Delivered-To: %s@%s\r\n", (char *)copy->mailboxes->pdata[i],
                                       job->dir->default_domain);
        StoreDeliveryTarget t = { copy->mailboxes->pdata[i], prefix };
        g_ptr_array_add(rows->prefixes, prefix);
        g_array_append_val(rows->targets, t);
    }
    rows->queued = g_array_new(FALSE, TRUE, sizeof(StoreQueueTarget));
    for (guint i = 0; copy->remote != NULL && i < copy->remote->len; i++) {
        StoreQueueTarget q = { copy->remote->pdata[i], NULL, NULL };
        dsn_of(env, copy->routed, q.recipient, &q);
        g_array_append_val(rows->queued, q);
    }
    StoreMessage m = { copy->path, copy->size, job->received, env->sender,  h->subject,
                       h->from,    h->date,    h->message_id, env->dsn_ret, env->dsn_envid };
    /* Only the message itself records a collected UID, not a monitoring
     * copy. */
    if (!copy->monitor) {
        m.collector_id = env->collector_id;
        m.collector_uid = env->collector_uid;
    }
    m.mime = copy->mime;
    rows->message = m;
    d->message = &rows->message;
    d->targets = (const StoreDeliveryTarget *)rows->targets->data;
    d->n_targets = rows->targets->len;
    d->remote = (const StoreQueueTarget *)rows->queued->data;
    d->n_remote = rows->queued->len;
    d->alerts = job->alerts;
    d->message_id = 0;
}

static void
copy_rows_clear(CopyRows *rows)
{
    g_clear_pointer(&rows->prefixes, g_ptr_array_unref);
    g_clear_pointer(&rows->targets, g_array_unref);
    g_clear_pointer(&rows->queued, g_array_unref);
}

/* The rows of one copy, in the current transaction. */
static gint64
copy_rows(StoreConn *c, DeliveryJob *job, const DeliveryCopy *copy, GError **error)
{
    CopyRows rows;
    StoreDelivery d;
    copy_rows_init(&rows, &d, job, copy);
    gboolean ok = store_deliver_batch(c, &d, 1, error);
    copy_rows_clear(&rows);
    return ok ? d.message_id : 0;
}

static gboolean
copy_audit(StoreConn *c, const DeliverySettings *s, const DeliveryJob *job,
           const DeliveryCopy *copy, GError **error)
{
    const DeliveryEnvelope *env = &job->env;
    for (guint i = 0; s->msgaudit && i < copy->mailboxes->len; i++) {
        if (!store_msgaudit_add(c, "DIST", copy->mailboxes->pdata[i], env->auth_user, "A",
                                env->client_ip, "INBOX", job->h.subject, env->sender, job->h.date,
                                error))
            return FALSE;
    }
    return TRUE;
}

/* Every copy of every job in one transaction, with their msgaudit rows;
 * FALSE (all rolled back) if any of them fails. */
static gboolean
commit_together(StoreConn *c, const DeliverySettings *s, DeliveryJob *const *jobs, guint n)
{
    g_autoptr(GError) error = NULL;
    guint n_copies = 0;
    gboolean ok = FALSE;

    for (guint i = 0; i < n; i++)
        n_copies += jobs[i]->n_copies;
    g_autofree StoreDelivery *deliveries = g_new0(StoreDelivery, n_copies);
    g_autofree CopyRows *rows = g_new0(CopyRows, n_copies);
    for (guint i = 0, at = 0; i < n; i++) {
        for (guint k = 0; k < jobs[i]->n_copies; k++, at++)
            copy_rows_init(&rows[at], &deliveries[at], jobs[i], &jobs[i]->copies[k]);
    }
    if (store_begin(c, &error)) {
        ok = store_deliver_batch(c, deliveries, n_copies, &error);
        for (guint i = 0, at = 0; ok && i < n; i++) {
            for (guint k = 0; ok && k < jobs[i]->n_copies; k++, at++) {
                DeliveryCopy *copy = &jobs[i]->copies[k];
                copy->message_id = deliveries[at].message_id;
                ok = copy_audit(c, s, jobs[i], copy, &error);
            }
        }
        if (!ok)
            store_rollback(c);
        else
            ok = store_commit(c, &error);
    }
    for (guint i = 0; i < n_copies; i++)
        copy_rows_clear(&rows[i]);
    if (ok)
        return TRUE;
    g_debug("%u deliveries could not be committed together, retrying one by one: %s", n,
            error != NULL ? error->message : "?");
    for (guint i = 0; i < n; i++) {
        g_ptr_array_set_size(jobs[i]->alerts, 0);
        for (guint k = 0; k < jobs[i]->n_copies; k++)
            jobs[i]->copies[k].message_id = 0;
    }
    return FALSE;
}

/* One job in transactions of its own, as a single delivery always was:
 * the message, then its monitoring copy, whose failure only warns. */
static void
commit_alone(StoreConn *c, const DeliverySettings *s, DeliveryJob *job)
{
    for (guint k = 0; k < job->n_copies; k++) {
        DeliveryCopy *copy = &job->copies[k];
        g_autoptr(GError) local = NULL;

        if (job->error != NULL) {
            /* The message failed: its monitoring copy goes too. */
            delivery_copy_clear(s, copy, TRUE);
            continue;
        }
        if (store_begin(c, &local)) {
            copy->message_id = copy_rows(c, job, copy, &local);
            if (copy->message_id == 0)
                store_rollback(c);
            else if (!store_commit(c, &local))
                copy->message_id = 0;
        }
        if (copy->message_id != 0) {
            /* After the commit, as before batching: the audit trail must
             * not cost mail. */
            g_autoptr(GError) audit = NULL;
            if (!copy_audit(c, s, job, copy, &audit))
                g_warning("msgaudit not written: %s", audit->message);
            g_clear_pointer(&copy->path, g_free);
            continue;
        }
        delivery_copy_clear(s, copy, TRUE);
        if (copy->monitor)
            g_warning("monitoring copy not stored: %s", local->message);
        else
            job->error = g_steal_pointer(&local);
    }
}

static void send_quota_alert(StoreConn *c, const DeliverySettings *s, const RouterData *dir,
                             const StoreQuotaAlert *alert);

void
delivery_commit(StoreConn *c, const DeliverySettings *s, DeliveryJob *const *jobs, guint n)
{
    g_autoptr(GPtrArray) busy = g_ptr_array_new();

    for (guint i = 0; i < n; i++) {
        if (jobs[i]->error != NULL || jobs[i]->n_copies == 0)
            continue;
        g_ptr_array_add(busy, jobs[i]);
    }
    /* A single job is committed alone; so is each job when committing
     * them together fails, so that one bad message (a user deleted since
     * routing, say) cannot fail the others. */
    if (busy->len == 1 || !commit_together(c, s, (DeliveryJob *const *)busy->pdata, busy->len)) {
        for (guint i = 0; i < busy->len; i++)
            commit_alone(c, s, busy->pdata[i]);
    } else {
        for (guint i = 0; i < busy->len; i++) {
            DeliveryJob *job = busy->pdata[i];
            for (guint k = 0; k < job->n_copies; k++)
                g_clear_pointer(&job->copies[k].path, g_free);
        }
    }
    for (guint i = 0; i < busy->len; i++) {
        DeliveryJob *job = busy->pdata[i];
        if (job->error != NULL)
            continue;
        /* Only the message itself makes the report "stored": a monitoring
         * copy alone does not. */
        if (!job->copies[0].monitor)
            job->report->message_id = job->copies[0].message_id;
        /* Committed: IMAP sessions on these INBOXes (IDLE) hear of it. */
        for (guint k = 0; s->notify_host != NULL && k < job->n_copies; k++) {
            DeliveryCopy *copy = &job->copies[k];
            for (guint u = 0; copy->message_id != 0 && u < copy->mailboxes->len; u++)
                host_mailbox_inbox_changed(s->notify_host, copy->mailboxes->pdata[u]);
        }
        for (guint a = 0; a < job->alerts->len; a++)
            send_quota_alert(c, s, job->dir, job->alerts->pdata[a]);
        g_ptr_array_set_size(job->alerts, 0);
    }
}

DeliveryReport *
delivery_deliver(StoreConn *c, const DeliverySettings *s, const RouterData *dir, GBytes *message,
                 const DeliveryEnvelope *env, GError **error)
{
    g_autoptr(DeliveryJob) job = delivery_prepare(s, dir, message, env, error);
    if (job == NULL)
        return NULL;
    delivery_commit(c, s, &job, 1);
    return delivery_job_finish(job, error);
}

/* Quotas never bounce incoming mail (VPOP3's rule): the user, and from
 * 100 % the postmaster, get a note instead. An alert counts towards the
 * quota like any message, so it may announce the next level too; there are
 * only three levels, each announced once. */
static void
send_quota_alert(StoreConn *c, const DeliverySettings *s, const RouterData *dir,
                 const StoreQuotaAlert *alert)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *date = rfc5322_date(now);
    g_autofree char *text = g_strdup_printf(
        "From: Postroom <postmaster@%s>\r\nTo: %s@%s\r\nDate: %s\r\n"
        "Subject: Postroom Alert - Mailbox %d%% full - %s\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "The mailbox of %s uses %" G_GINT64_FORMAT " KiB of its %" G_GINT64_FORMAT
        " KiB quota (%d %%).\r\nIncoming mail is still accepted; please delete old messages.\r\n",
        dir->default_domain, alert->user, dir->default_domain, date, alert->level, alert->user,
        alert->user, alert->used / 1024, alert->quota / 1024, alert->level);
    g_autoptr(GBytes) bytes = g_bytes_new_take(g_steal_pointer(&text), strlen(text));
    const char *to_user[] = { alert->user, NULL };
    const char *to_both[] = { alert->user, s->postmaster, NULL };
    DeliveryEnvelope env = { "",
                             NULL,
                             TRUE,
                             NULL,
                             NULL,
                             "local",
                             alert->level >= 100 && s->postmaster != NULL ? to_both : to_user };
    DeliverySettings quiet = *s;
    quiet.disk_reserve = 0; /* the alert must get through when space is short */
    g_autoptr(GError) error = NULL;
    g_autoptr(DeliveryReport) r = delivery_deliver(c, &quiet, dir, bytes, &env, &error);
    if (r == NULL)
        g_warning("quota alert for %s not delivered: %s", alert->user, error->message);
    else
        pr_log_event(G_LOG_LEVEL_MESSAGE, "QUOTA_ALERT", "mailbox of %s is %d%% full", alert->user,
                     alert->level);
}
