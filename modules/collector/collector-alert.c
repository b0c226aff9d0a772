/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Mail the collector writes itself, all from the null sender so that it is
 * never bounced (RFC 5321 §6.1): the administrator's "Error with Pop3
 * Client" and "POP3 Client Connection Problem" alerts (VPOP3 §2.8, at most
 * one per collector per alert_interval), the "Non-existent user" alert
 * (VPOP3 §2.4, one per message: it stands for the message), bounces for
 * route_error=bounce, and notices (oversized or queried messages, download
 * rules' warnings). */

#include "postroom-config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "collector.h"
#include "dsn-report.h"

static const char *const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* RFC 5322 §3.3, in English whatever the process's locale. */
static char *
rfc5322_date(gint64 unix_time)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local(unix_time);
    gint64 offset = g_date_time_get_utc_offset(dt) / G_USEC_PER_SEC / 60;

    return g_strdup_printf(
        "%s, %d %s %d %02d:%02d:%02d %c%02d%02d", days[g_date_time_get_day_of_week(dt) - 1],
        g_date_time_get_day_of_month(dt), months[g_date_time_get_month(dt) - 1],
        g_date_time_get_year(dt), g_date_time_get_hour(dt), g_date_time_get_minute(dt),
        g_date_time_get_second(dt), offset < 0 ? '-' : '+', (int)(ABS(offset) / 60),
        (int)(ABS(offset) % 60));
}

/* Text that goes into a header field or a line: one line, printable,
 * bounded. */
static char *
one_line(const char *text)
{
    char *copy = g_utf8_make_valid(text != NULL ? text : "", -1);

    for (char *p = copy; *p != '\0'; p++) {
        if ((guchar)*p < ' ' || *p == 0x7f)
            *p = ' ';
    }
    if (strlen(copy) > 900) {
        const char *end = g_utf8_find_prev_char(copy, copy + 900);
        copy[end != NULL ? end - copy : 0] = '\0';
    }
    return copy;
}

/* From postmaster, or (@from not NULL) from the collector's own address,
 * which replies go to (the Query flow). */
static void
append_head_from(GString *t, CollectorModule *m, const char *from, const char *to,
                 const char *subject, const char *auto_submitted)
{
    const char *hostname = pr_host_get_hostname(m->host);
    g_autofree char *date = rfc5322_date(g_get_real_time() / G_USEC_PER_SEC);
    g_autofree char *msgid = g_uuid_string_random();
    g_autofree char *shown_to = one_line(to);
    g_autofree char *shown_subject = one_line(subject);

    if (from != NULL) {
        g_autofree char *shown_from = one_line(from);
        g_string_append_printf(t, "From: Postroom Collector <%s>\nReply-To: %s\n", shown_from,
                               shown_from);
    } else {
        g_string_append_printf(t, "From: Postroom <postmaster@%s>\n", hostname);
    }
    g_string_append_printf(t,
                           "To: %s\n"
                           "Date: %s\n"
                           "Subject: %s\n"
                           "Message-ID: <%s@%s>\n"
                           "Auto-Submitted: %s\n"
                           "MIME-Version: 1.0\n"
                           "Content-Type: text/plain; charset=utf-8\n"
                           "Content-Transfer-Encoding: 8bit\n"
                           "\n",
                           shown_to, date, shown_subject, msgid, hostname, auto_submitted);
}

static void
append_head(GString *t, CollectorModule *m, const char *to, const char *subject,
            const char *auto_submitted)
{
    append_head_from(t, m, NULL, to, subject, auto_submitted);
}

/* From, To, Subject, Date and Message-ID of a collected message, for the
 * reader of a notice. */
static void
append_summary(GString *t, const CollectorHeaders *headers)
{
    static const char *const names[] = { "From", "To", "Cc", "Subject", "Date", "Message-ID" };

    if (headers == NULL)
        return;
    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        const char *v = collector_headers_lookup(headers, names[i]);
        if (v == NULL)
            continue;
        g_autofree char *decoded = collector_header_decode(v);
        g_autofree char *shown = one_line(decoded);
        g_string_append_printf(t, "    %s: %s\n", names[i], shown);
    }
}

/* ---- delivering ------------------------------------------------------------- */

typedef struct {
    CollectorModule *m;
    char *to;
    GAsyncReadyCallback callback;
    gpointer user_data;
} DeliverOp;

static void
delivered(GObject *source, GAsyncResult *result, gpointer data)
{
    DeliverOp *op = data;

    if (op->callback != NULL) {
        op->callback(source, result, op->user_data);
    } else {
        g_autoptr(GError) error = NULL;
        g_autoptr(PrDeliveryReport) report =
            pr_delivery_deliver_finish(op->m->host, result, &error);
        if (report == NULL)
            pr_log_event(G_LOG_LEVEL_WARNING, "COLLECTOR_NOTICE_LOST",
                         "notice to %s not delivered: %s", op->to, error->message);
        else if (!pr_delivery_report_get_stored(report))
            pr_log_event(G_LOG_LEVEL_WARNING, "COLLECTOR_NOTICE_LOST",
                         "notice to %s not delivered: the recipient was refused", op->to);
    }
    collector_op_end(op->m);
    g_free(op->to);
    g_free(op);
}

void
collector_deliver_text(CollectorModule *m, const char *to, GString *text, gint64 collector_id,
                       const char *uid, GAsyncReadyCallback callback, gpointer user_data)
{
    g_autoptr(PrEnvelope) env = pr_envelope_new("");
    gsize len = text->len;
    g_autoptr(GBytes) bytes = g_bytes_new_take(g_string_free(text, FALSE), len);
    DeliverOp *op = g_new0(DeliverOp, 1);

    pr_envelope_add_recipient(env, to, NULL, NULL);
    if (uid != NULL)
        pr_envelope_set_collected(env, collector_id, uid);
    op->m = m;
    op->to = g_strdup(to);
    op->callback = callback;
    op->user_data = user_data;
    collector_op_begin(m);
    /* Not cancellable: what it stands for is recorded with it. */
    pr_delivery_deliver_async(m->host, env, bytes, NULL, delivered, op);
}

/* ---- the administrator's alerts ------------------------------------------------ */

/* VPOP3 describes socket errors in words; collector-pop3.c already words
 * its errors, this adds what the administrator can do about them. */
static const char *
advice(const GError *error)
{
    if (error->domain != COLLECTOR_POP3_ERROR)
        return _("Check the collector's settings with `postroomctl collector show`.");
    switch ((CollectorPop3Error)error->code) {
    case COLLECTOR_POP3_ERROR_CONNECT:
        return _("Check the server's name and port in the collector's settings, and that this "
                 "machine can reach it (network, firewall, the ISP's service).");
    case COLLECTOR_POP3_ERROR_TLS:
        return _("Check the collector's encryption settings (tls, verify_cert, ca_file) against "
                 "what the server offers.");
    case COLLECTOR_POP3_ERROR_TIMEOUT:
        return _("The server or the network is slow or stalled; the session was ended and "
                 "nothing was lost.");
    case COLLECTOR_POP3_ERROR_CLOSED:
        return _("The connection dropped in the middle of the session; messages not yet "
                 "deleted stay on the server and nothing was lost.");
    case COLLECTOR_POP3_ERROR_PROTOCOL:
        return _("The server sent something that is not POP3; the session was ended.");
    case COLLECTOR_POP3_ERROR_AUTH:
        return _("The ISP did not accept the user name or the password of the collector; "
                 "check them with `postroomctl collector set`.");
    case COLLECTOR_POP3_ERROR_REFUSED:
        return _("The ISP's server reported an error (its reply is quoted above).");
    case COLLECTOR_POP3_ERROR_UNSUPPORTED:
        return _("The server lacks a feature the collector's settings need.");
    case COLLECTOR_POP3_ERROR_CANCELLED:
        break;
    }
    return "";
}

void
collector_alert_error(CollectorModule *m, const PrCollector *c, const char *server,
                      const GError *error)
{
    gint64 now = g_get_monotonic_time();
    gpointer last = NULL;

    if (g_error_matches(error, COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_CANCELLED))
        return;
    pr_log_event(G_LOG_LEVEL_WARNING, "COLLECTOR_ERROR", "collector %s (%s): %s", c->name,
                 server != NULL ? server : "-", error->message);
    if (m->alert_interval <= 0)
        return;
    if (g_hash_table_lookup_extended(m->alerts, c->name, NULL, &last) &&
        now - *(gint64 *)last < m->alert_interval * G_USEC_PER_SEC) {
        g_debug("alert for collector %s suppressed (one per %" G_GINT64_FORMAT " s)", c->name,
                m->alert_interval);
        return;
    }
    gint64 *stamp = g_new(gint64, 1);
    *stamp = now;
    g_hash_table_replace(m->alerts, g_strdup(c->name), stamp);

    gboolean connecting =
        g_error_matches(error, COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_CONNECT);
    g_autofree char *shown = one_line(server != NULL ? server : "-");
    g_autofree char *name = one_line(c->name);
    g_autofree char *line = one_line(error->message);
    /* VPOP3's subjects, which administrators filter on. */
    g_autofree char *subject =
        g_strdup_printf(connecting ? "POP3 Client Connection Problem (%s (%s))"
                                   : "Error with Pop3 Client (%s (%s))",
                        name, shown);
    GString *t = g_string_new(NULL);
    append_head(t, m, m->admin_address, subject, "auto-generated");
    if (connecting)
        g_string_append_printf(t,
                               _("Postroom could not connect to the POP3 server of the "
                                 "collector %s.\n\n"),
                               name);
    else
        g_string_append_printf(t,
                               _("Postroom had a problem collecting mail with the collector "
                                 "%s.\n\n"),
                               name);
    g_string_append_printf(t, _("Server: %s\nError: %s\n\n%s\n\n"), shown, line, advice(error));
    g_string_append_printf(t,
                           _("Mail left on the server is collected at the next session. This "
                             "alert is sent at most once every %lld minutes for this collector.\n"),
                           (long long)MAX(m->alert_interval / 60, 1));
    pr_log_event(G_LOG_LEVEL_WARNING, "COLLECTOR_ADMIN_ALERT", "collector %s: alert sent to %s",
                 c->name, m->admin_address);
    collector_deliver_text(m, m->admin_address, t, 0, NULL, NULL, NULL);
}

/* ---- notices about one message ---------------------------------------------------- */

GString *
collector_text_nonexistent(CollectorModule *m, const PrCollector *c, const char *server,
                           const char *username, const CollectorHeaders *headers, const char *to,
                           gboolean copy_follows)
{
    g_autofree char *user = one_line(username);
    g_autofree char *name = one_line(c->name);
    g_autofree char *shown = one_line(server);
    g_autofree char *subject = g_strdup_printf("Postroom Alert - Non-existent user - %s", user);
    GString *t = g_string_new(NULL);

    append_head(t, m, to, subject, "auto-generated");
    /* VPOP3's exact opening lines. */
    g_string_append_printf(t,
                           "Delivery Failure Report.\n\n"
                           "There was incoming mail for non-existent user \"%s\".\n\n",
                           user);
    g_string_append_printf(t, _("Collector: %s (%s)\nThe message:\n"), name, shown);
    append_summary(t, headers);
    g_string_append(t, "\n");
    if (copy_follows)
        g_string_append(t, _("The message itself is delivered to you separately.\n"));
    else
        g_string_append(t, _("The message was not delivered. Add a user, list or mapping for "
                             "the address, or change the collector's route_error setting.\n"));
    return t;
}

/* An RFC 3464 report (modules/common/dsn-report.c, as the sender's): one
 * failed recipient per unknown address, with the original's header. */
GString *
collector_text_bounce(CollectorModule *m, const char *sender, const GPtrArray *unknown,
                      const CollectorHeaders *headers, GBytes *message)
{
    const char *hostname = pr_host_get_hostname(m->host);
    g_autoptr(GString) human = g_string_new(NULL);
    g_autofree DsnRecipient *rcpts = g_new0(DsnRecipient, MAX(unknown->len, 1));
    gsize len = 0;
    const char *data = g_bytes_get_data(message, &len);
    gsize head_len = MIN(dsn_header_length(message), 64 * 1024);
    g_autoptr(GBytes) head = g_bytes_new(data, head_len);

    /* VPOP3's opening line, then what RFC 3464 readers expect. */
    g_string_append_printf(human,
                           "Delivery Failure Report.\r\n\r\n"
                           "This is the mail server at %s. It collected your message from a "
                           "mailbox at its Internet provider, but could not deliver it to "
                           "these recipients:\r\n\r\n",
                           hostname);
    for (guint i = 0; i < unknown->len; i++) {
        g_autofree char *a = one_line(unknown->pdata[i]);
        g_string_append_printf(human, "<%s>:\r\n    no such user here\r\n\r\n", a);
        rcpts[i] = (DsnRecipient){
            .final_recipient = unknown->pdata[i],
            .action = "failed",
            .status = "5.1.1",
            .diagnostic = "no such user here",
        };
    }
    g_autoptr(GString) summary = g_string_new(NULL);
    append_summary(summary, headers);
    if (summary->len > 0) {
        g_string_append(human, "Your message:\r\n");
        for (const char *p = summary->str; *p != '\0'; p++) {
            if (*p == '\n')
                g_string_append_c(human, '\r');
            g_string_append_c(human, *p);
        }
        g_string_append(human, "\r\n");
    }
    g_string_append(human, "Its header is attached.\r\n\r\n");
    DsnReport report = {
        .hostname = hostname,
        .to = sender,
        .subject = "Delivery Failure Report",
        .human = human->str,
        .arrival = g_get_real_time() / G_USEC_PER_SEC,
        .recipients = rcpts,
        .n_recipients = unknown->len,
        .original = head,
        .headers_only = TRUE,
    };
    return dsn_report_build(&report);
}

GString *
collector_text_notice(CollectorModule *m, const PrCollector *c, const char *to, const char *subject,
                      const char *body, const CollectorHeaders *headers)
{
    GString *t = g_string_new(NULL);
    g_autofree char *name = one_line(c->name);

    append_head(t, m, to, subject, "auto-generated");
    g_string_append(t, body);
    g_string_append(t, "\n\n");
    append_summary(t, headers);
    g_string_append_printf(t, _("\nCollector: %s\n"), name);
    return t;
}

GString *
collector_text_from(CollectorModule *m, const PrCollector *c, const char *from, const char *to,
                    const char *subject, const char *body, const CollectorHeaders *headers)
{
    GString *t = g_string_new(NULL);

    append_head_from(t, m, from, to, subject, "auto-generated");
    g_string_append(t, body);
    g_string_append(t, "\n");
    if (headers != NULL) {
        g_string_append(t, "\n");
        append_summary(t, headers);
    }
    if (c != NULL) {
        g_autofree char *name = one_line(c->name);
        g_string_append_printf(t, _("\nCollector: %s\n"), name);
    }
    return t;
}
