/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Messages the sender writes itself: RFC 3464 delivery status
 * notifications (failures and delay warnings) to the sender of a queued
 * message, and the administrator's "Error with SMTP Client" alerts, at most
 * one per route per alert_interval. Both go back through the host's
 * delivery with the null sender, so that they are never bounced
 * themselves (RFC 5321 §6.1, RFC 3464 §2). */

#include "postroom-config.h"

#include <string.h>

#include "dsn-report.h"
#include "sender.h"

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
    return g_strdup(klass == 5 ? "5.0.0" : klass == 2 ? "2.0.0" : "4.0.0");
}

static char *
remote_host(const char *remote)
{
    if (remote == NULL)
        return NULL;
    gsize len = strcspn(remote, " :");
    return len > 0 ? g_strndup(remote, len) : NULL;
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

/* One notification for every recipient of @msg in the list, in one
 * multipart/report (RFC 3462) with a human part, the machine-readable
 * delivery-status part and the original (RFC 3461 §4.3: RET=HDRS, or any
 * delay warning, gets only its header; so does a message larger than
 * dsn_original_limit). The report itself is written by
 * modules/common/dsn-report.c, which the collector's bounces share.
 * "Relayed" (RFC 3461 §5.2.3) is the success a recipient asked for with
 * NOTIFY=SUCCESS when the next hop could not be given the request: the
 * last word anyone will send about it. */
void
sender_dsn_send(Sender *sender, SenderMessage *msg, SenderDsnKind kind)
{
    const SenderConfig *config = sender->config;
    gboolean delayed = kind == SENDER_DSN_DELAYED;
    gboolean relayed = kind == SENDER_DSN_RELAYED;
    GPtrArray *notices = delayed ? msg->delayed : relayed ? msg->relayed : msg->failed;
    const SenderNotice *first = notices->pdata[0];
    const PrQueueEntry *e0 = first->entry;
    const char *hostname = pr_host_get_hostname(sender->host);
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    gboolean headers_only =
        delayed || (e0->ret != NULL && g_ascii_strcasecmp(e0->ret, "HDRS") == 0) ||
        (msg->data != NULL && (gint64)g_bytes_get_size(msg->data) > config->dsn_original_limit);

    if (msg->sender[0] == '\0')
        return; /* never a notification to the null sender */
    g_autoptr(GString) human = g_string_new(NULL);
    if (delayed)
        g_string_append_printf(human,
                               "This is the mail server at %s.\r\n\r\n"
                               "Your message has not been delivered yet to the recipients "
                               "below.\r\nThe server keeps trying; you do not need to send it "
                               "again.\r\n\r\n",
                               hostname);
    else if (relayed)
        g_string_append_printf(human,
                               "This is the mail server at %s.\r\n\r\n"
                               "Your message was handed on to the recipients below as you "
                               "asked.\r\nThe next server does not support delivery "
                               "notifications, so\r\nthis is the last report you will get "
                               "about them.\r\n\r\n",
                               hostname);
    else
        g_string_append_printf(human,
                               "This is the mail server at %s.\r\n\r\n"
                               "Your message could not be delivered to the recipients "
                               "below.\r\n\r\n",
                               hostname);
    for (guint i = 0; i < notices->len; i++) {
        const SenderNotice *n = notices->pdata[i];
        g_autofree char *reply = dsn_one_line(n->reply);
        g_string_append_printf(human, "<%s>:\r\n    %s\r\n", n->entry->recipient, reply);
        if (n->remote != NULL)
            g_string_append_printf(human, relayed ? "    (to %s)\r\n" : "    (from %s)\r\n",
                                   n->remote);
        if (delayed) {
            g_autofree char *until = dsn_rfc5322_date(n->entry->created + config->give_up_after);
            g_string_append_printf(human, "    It will be tried again until %s.\r\n", until);
        } else if (n->gave_up) {
            g_string_append_printf(
                human, "    The server gave up after trying for %" G_GINT64_FORMAT " hours.\r\n",
                (now - n->entry->created) / 3600);
        }
        g_string_append(human, "\r\n");
    }

    /* The strings the recipients' fields point to live as long as these. */
    g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func(g_free);
    g_autofree DsnRecipient *rcpts = g_new0(DsnRecipient, notices->len);
    for (guint i = 0; i < notices->len; i++) {
        const SenderNotice *n = notices->pdata[i];
        const PrQueueEntry *e = n->entry;
        DsnRecipient *r = &rcpts[i];
        char *status = status_of(n);
        char *host = remote_host(n->remote);
        g_ptr_array_add(strings, status);
        g_ptr_array_add(strings, host);
        if (e->orcpt != NULL && *e->orcpt != '\0') {
            char *orcpt = dsn_xtext_decode(e->orcpt);
            g_ptr_array_add(strings, orcpt);
            r->original_recipient = orcpt;
        }
        r->final_recipient = e->recipient;
        r->action = delayed ? "delayed" : relayed ? "relayed" : "failed";
        r->status = status;
        r->remote_mta = host;
        r->diagnostic = n->reply;
        r->last_attempt = now;
        r->will_retry_until = delayed ? e->created + config->give_up_after : 0;
    }
    g_autofree char *envid =
        e0->envid != NULL && *e0->envid != '\0' ? dsn_xtext_decode(e0->envid) : NULL;
    DsnReport report = {
        .hostname = hostname,
        .to = msg->sender,
        .subject = delayed   ? "Delivery Delay Report"
                   : relayed ? "Successful Mail Delivery Report"
                             : "Delivery Failure Report",
        .human = human->str,
        .envid = envid,
        .arrival = e0->created,
        .recipients = rcpts,
        .n_recipients = notices->len,
        .original = msg->data,
        .headers_only = headers_only,
    };
    GString *t = dsn_report_build(&report);

    const char *what = delayed   ? "delay warning"
                       : relayed ? "relay report"
                                 : "delivery failure report";
    pr_log_event(G_LOG_LEVEL_MESSAGE,
                 delayed   ? "SENDER_DELAY_WARNING"
                 : relayed ? "SENDER_DSN_RELAYED"
                           : "SENDER_DSN",
                 "%s for message %" G_GINT64_FORMAT " (%u recipients) sent to <%s>", what,
                 msg->message_id, notices->len, msg->sender);
    deliver(sender, msg->sender, t,
            g_strdup_printf("%s for message %" G_GINT64_FORMAT, what, msg->message_id));
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

    g_autofree char *date = dsn_rfc5322_date(g_get_real_time() / G_USEC_PER_SEC);
    g_autofree char *msgid = g_uuid_string_random();
    g_autofree char *line = dsn_one_line(error);
    g_autofree char *shown = dsn_one_line(server != NULL ? server : "-");
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
