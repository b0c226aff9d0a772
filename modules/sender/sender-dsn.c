/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Messages the sender writes itself: RFC 3464 delivery status
 * notifications (failures and delay warnings) to the sender of a queued
 * message, and the administrator's "Error with SMTP Client" alerts, at most
 * one per route per alert_interval. Both go back through the host's
 * delivery with the null sender, so that they are never bounced
 * themselves (RFC 5321 §6.1, RFC 3464 §2). */

#include "postroom-config.h"

#include <string.h>

#include "sender.h"

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

/* Text that goes into a header field: one line, printable. */
static char *
one_line(const char *text)
{
    char *copy = g_strdup(text != NULL ? text : "");

    for (char *p = copy; *p != '\0'; p++) {
        if (*p == '\r' || *p == '\n' || *p == '\t' || (guchar)*p < ' ')
            *p = ' ';
    }
    return copy;
}

/* RFC 3461 §4: ORCPT and ENVID are xtext ("+2B" for '+'). */
static char *
xtext_decode(const char *text)
{
    GString *out = g_string_new(NULL);

    for (const char *p = text; *p != '\0'; p++) {
        if (p[0] == '+' && g_ascii_isxdigit(p[1]) && g_ascii_isxdigit(p[2])) {
            g_string_append_c(out,
                              (char)(g_ascii_xdigit_value(p[1]) * 16 + g_ascii_xdigit_value(p[2])));
            p += 2;
        } else {
            g_string_append_c(out, *p);
        }
    }
    g_autofree char *raw = g_string_free(out, FALSE);
    return one_line(raw);
}

/* "550 5.1.1 text" -> "5.1.1"; else a status from the reply's class. */
static char *
status_of(const SenderNotice *n)
{
    const char *r = n->reply != NULL ? n->reply : "";
    int klass = g_ascii_isdigit(r[0]) ? r[0] - '0' : 0;

    if (strlen(r) > 5 && g_ascii_isdigit(r[4]) && r[5] == '.' && (r[4] - '0') == klass) {
        const char *p = r + 6;
        int dots = 0;
        gsize len = 6;
        while (g_ascii_isdigit(*p) || (*p == '.' && dots++ == 0))
            p++, len++;
        if (dots == 1 && g_ascii_isdigit(r[len - 1]))
            return g_strndup(r + 4, len - 4);
    }
    if (n->gave_up)
        return g_strdup("4.4.7");
    return g_strdup(klass == 5 ? "5.0.0" : "4.0.0");
}

static char *
remote_host(const char *remote)
{
    if (remote == NULL)
        return NULL;
    gsize len = strcspn(remote, " :");
    return len > 0 ? g_strndup(remote, len) : NULL;
}

static gsize
header_length(GBytes *data)
{
    gsize len;
    const char *p = g_bytes_get_data(data, &len);
    const char *end = g_strstr_len(p, (gssize)len, "\r\n\r\n");

    return end != NULL ? (gsize)(end - p) + 2 : len;
}

typedef struct {
    Sender *sender;
    char *what;
} DeliverOp;

static void
delivered(GObject *source, GAsyncResult *result, gpointer data)
{
    DeliverOp *op = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(PrDeliveryReport) report =
        pr_delivery_deliver_finish(op->sender->host, result, &error);

    if (report == NULL)
        pr_log_event(G_LOG_LEVEL_WARNING, "SENDER_NOTICE_LOST", "%s not delivered: %s", op->what,
                     error->message);
    else if (!pr_delivery_report_get_stored(report))
        pr_log_event(G_LOG_LEVEL_WARNING, "SENDER_NOTICE_LOST",
                     "%s not delivered: the recipient was refused", op->what);
    sender_op_end(op->sender);
    g_free(op->what);
    g_free(op);
}

static void
deliver(Sender *sender, const char *to, GString *text, char *what)
{
    g_autoptr(PrEnvelope) env = pr_envelope_new("");
    gsize len = text->len;
    g_autoptr(GBytes) bytes = g_bytes_new_take(g_string_free(text, FALSE), len);
    DeliverOp *op = g_new0(DeliverOp, 1);

    pr_envelope_add_recipient(env, to, NULL, NULL);
    op->sender = sender;
    op->what = what;
    sender_op_begin(sender);
    /* Not cancellable: a notice whose outcome is recorded must go out. */
    pr_delivery_deliver_async(sender->host, env, bytes, NULL, delivered, op);
}

static void
append_recipient_fields(GString *t, const SenderConfig *config, const SenderNotice *n,
                        gboolean delayed, gint64 now)
{
    const PrQueueEntry *e = n->entry;
    g_autofree char *status = status_of(n);
    g_autofree char *host = remote_host(n->remote);
    g_autofree char *reply = one_line(n->reply);
    g_autofree char *last = rfc5322_date(now);

    g_string_append(t, "\r\n");
    if (e->orcpt != NULL && *e->orcpt != '\0') {
        g_autofree char *orcpt = xtext_decode(e->orcpt);
        g_string_append_printf(t, "Original-Recipient: %s\r\n", orcpt);
    }
    g_string_append_printf(t, "Final-Recipient: rfc822; %s\r\n", e->recipient);
    g_string_append_printf(t, "Action: %s\r\n", delayed ? "delayed" : "failed");
    g_string_append_printf(t, "Status: %s\r\n", status);
    if (host != NULL)
        g_string_append_printf(t, "Remote-MTA: dns; %s\r\n", host);
    if (g_ascii_isdigit(reply[0]) && g_ascii_isdigit(reply[1]) && g_ascii_isdigit(reply[2]))
        g_string_append_printf(t, "Diagnostic-Code: smtp; %s\r\n", reply);
    else if (*reply != '\0')
        g_string_append_printf(t, "Diagnostic-Code: x-postroom; %s\r\n", reply);
    g_string_append_printf(t, "Last-Attempt-Date: %s\r\n", last);
    if (delayed) {
        g_autofree char *until = rfc5322_date(e->created + config->give_up_after);
        g_string_append_printf(t, "Will-Retry-Until: %s\r\n", until);
    }
}

/* One notification for every recipient of @msg in the list, in one
 * multipart/report (RFC 3462) with a human part, the machine-readable
 * delivery-status part and the original (RFC 3461 §4.3: RET=HDRS, or any
 * delay warning, gets only its header; so does a message larger than
 * dsn_original_limit). */
void
sender_dsn_send(Sender *sender, SenderMessage *msg, gboolean delayed)
{
    const SenderConfig *config = sender->config;
    GPtrArray *notices = delayed ? msg->delayed : msg->failed;
    const SenderNotice *first = notices->pdata[0];
    const PrQueueEntry *e0 = first->entry;
    const char *hostname = pr_host_get_hostname(sender->host);
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    g_autofree char *uuid = g_uuid_string_random();
    g_autofree char *boundary = g_strdup_printf("=_%s", uuid);
    g_autofree char *date = rfc5322_date(now);
    g_autofree char *msgid = g_uuid_string_random();
    g_autofree char *arrival = rfc5322_date(e0->created);
    gboolean headers_only =
        delayed || (e0->ret != NULL && g_ascii_strcasecmp(e0->ret, "HDRS") == 0) ||
        (msg->data != NULL && (gint64)g_bytes_get_size(msg->data) > config->dsn_original_limit);
    GString *t = g_string_new(NULL);

    if (msg->sender[0] == '\0')
        return; /* never a notification to the null sender */
    g_string_append_printf(t,
                           "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n"
                           "To: <%s>\r\n"
                           "Date: %s\r\n"
                           "Subject: %s\r\n"
                           "Message-ID: <%s@%s>\r\n"
                           "Auto-Submitted: auto-replied\r\n"
                           "MIME-Version: 1.0\r\n"
                           "Content-Type: multipart/report; report-type=delivery-status;\r\n"
                           "\tboundary=\"%s\"\r\n"
                           "\r\n"
                           "This is a MIME-encapsulated message.\r\n"
                           "\r\n"
                           "--%s\r\n"
                           "Content-Type: text/plain; charset=utf-8\r\n"
                           "Content-Description: Notification\r\n"
                           "\r\n",
                           hostname, msg->sender, date,
                           delayed ? "Delivery Delay Report" : "Delivery Failure Report", msgid,
                           hostname, boundary, boundary);
    if (delayed)
        g_string_append_printf(t,
                               "This is the mail server at %s.\r\n\r\n"
                               "Your message has not been delivered yet to the recipients "
                               "below.\r\nThe server keeps trying; you do not need to send it "
                               "again.\r\n\r\n",
                               hostname);
    else
        g_string_append_printf(t,
                               "This is the mail server at %s.\r\n\r\n"
                               "Your message could not be delivered to the recipients "
                               "below.\r\n\r\n",
                               hostname);
    for (guint i = 0; i < notices->len; i++) {
        const SenderNotice *n = notices->pdata[i];
        g_autofree char *reply = one_line(n->reply);
        g_string_append_printf(t, "<%s>:\r\n    %s\r\n", n->entry->recipient, reply);
        if (n->remote != NULL)
            g_string_append_printf(t, "    (from %s)\r\n", n->remote);
        if (delayed) {
            g_autofree char *until = rfc5322_date(n->entry->created + config->give_up_after);
            g_string_append_printf(t, "    It will be tried again until %s.\r\n", until);
        } else if (n->gave_up) {
            g_string_append_printf(
                t, "    The server gave up after trying for %" G_GINT64_FORMAT " hours.\r\n",
                (now - n->entry->created) / 3600);
        }
        g_string_append(t, "\r\n");
    }
    g_string_append_printf(t,
                           "--%s\r\n"
                           "Content-Type: message/delivery-status\r\n"
                           "Content-Description: Delivery report\r\n"
                           "\r\n"
                           "Reporting-MTA: dns; %s\r\n",
                           boundary, hostname);
    if (e0->envid != NULL && *e0->envid != '\0') {
        g_autofree char *envid = xtext_decode(e0->envid);
        g_string_append_printf(t, "Original-Envelope-Id: %s\r\n", envid);
    }
    g_string_append_printf(t, "Arrival-Date: %s\r\n", arrival);
    for (guint i = 0; i < notices->len; i++)
        append_recipient_fields(t, config, notices->pdata[i], delayed, now);
    g_string_append(t, "\r\n");
    if (msg->data != NULL) {
        gsize len;
        const char *p = g_bytes_get_data(msg->data, &len);
        if (headers_only)
            len = header_length(msg->data);
        g_string_append_printf(t,
                               "--%s\r\n"
                               "Content-Type: %s\r\n"
                               "Content-Description: %s\r\n"
                               "\r\n",
                               boundary, headers_only ? "text/rfc822-headers" : "message/rfc822",
                               headers_only ? "Message header" : "Undelivered message");
        g_string_append_len(t, p, (gssize)len);
        if (len < 2 || p[len - 2] != '\r' || p[len - 1] != '\n')
            g_string_append(t, "\r\n");
    }
    g_string_append_printf(t, "--%s--\r\n", boundary);

    pr_log_event(G_LOG_LEVEL_MESSAGE, delayed ? "SENDER_DELAY_WARNING" : "SENDER_DSN",
                 "%s for message %" G_GINT64_FORMAT " (%u recipients) sent to <%s>",
                 delayed ? "delay warning" : "delivery failure report", msg->message_id,
                 notices->len, msg->sender);
    deliver(sender, msg->sender, t,
            g_strdup_printf("%s for message %" G_GINT64_FORMAT,
                            delayed ? "delay warning" : "delivery failure report",
                            msg->message_id));
}

/* VPOP3's explanations of socket errors, by what GIO says. */
static const char *
explain(const char *error)
{
    if (strstr(error, "refused") != NULL)
        return "The server refused the connection: nothing listens on that port, or a "
               "firewall blocks it (Winsock 10061).";
    if (strstr(error, "timed out") != NULL)
        return "The server did not answer in time (Winsock 10060).";
    if (strstr(error, "closed unexpectedly") != NULL)
        return "The server connection was closed unexpectedly.";
    if (strstr(error, "resolv") != NULL || strstr(error, "not known") != NULL)
        return "The server's name could not be found (Winsock 11001).";
    if (strstr(error, "authentication") != NULL)
        return "The server did not accept the user name or password of the route.";
    if (strstr(error, "TLS") != NULL || strstr(error, "certificate") != NULL)
        return "The encrypted connection could not be set up; check the route's encryption "
               "and certificate settings.";
    return "The server reported an error.";
}

void
sender_alert(Sender *sender, const SenderRoute *route, const char *server, const char *error)
{
    const SenderConfig *config = sender->config;
    gint64 now = g_get_monotonic_time();
    gpointer last = NULL;
    const char *hostname = pr_host_get_hostname(sender->host);

    if (config->alert_interval <= 0)
        return;
    if (g_hash_table_lookup_extended(sender->alerts, route->name, NULL, &last) &&
        now - *(gint64 *)last < config->alert_interval * G_USEC_PER_SEC) {
        g_debug("alert for route %s suppressed (one per %" G_GINT64_FORMAT " s)", route->name,
                config->alert_interval);
        return;
    }
    gint64 *stamp = g_new(gint64, 1);
    *stamp = now;
    g_hash_table_replace(sender->alerts, g_strdup(route->name), stamp);

    g_autofree char *date = rfc5322_date(g_get_real_time() / G_USEC_PER_SEC);
    g_autofree char *msgid = g_uuid_string_random();
    g_autofree char *line = one_line(error);
    g_autofree char *shown = one_line(server != NULL ? server : "-");
    GString *t = g_string_new(NULL);
    g_string_append_printf(
        t,
        "From: Postroom <postmaster@%s>\r\n"
        "To: %s\r\n"
        "Date: %s\r\n"
        "Subject: Error with SMTP Client (%s (%s))\r\n"
        "Message-ID: <%s@%s>\r\n"
        "Auto-Submitted: auto-generated\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "Postroom could not send mail through the route %s.\r\n\r\n"
        "Server: %s\r\n"
        "Error: %s\r\n\r\n"
        "%s\r\n\r\n"
        "The mail stays in the queue and is tried again later. This alert "
        "is sent at most once every %" G_GINT64_FORMAT " minutes for this route.\r\n",
        hostname, config->admin_address, date, route->name, shown, msgid, hostname, route->name,
        shown, line, explain(line), config->alert_interval / 60);
    pr_log_event(G_LOG_LEVEL_WARNING, "SENDER_ADMIN_ALERT", "route %s: alert sent to %s: %s",
                 route->name, config->admin_address, line);
    deliver(sender, config->admin_address, t, g_strdup_printf("alert for route %s", route->name));
}
