/* SPDX-License-Identifier: GPL-3.0-or-later */

/* RFC 3464 delivery status notifications (see dsn-report.h). */

#include "dsn-report.h"

#include <string.h>

static const char *const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

char *
dsn_rfc5322_date(gint64 unix_time)
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

char *
dsn_one_line(const char *text)
{
    char *copy = g_strdup(text != NULL ? text : "");

    for (char *p = copy; *p != '\0'; p++) {
        if ((guchar)*p < ' ')
            *p = ' ';
    }
    return copy;
}

char *
dsn_xtext_decode(const char *text)
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
    return dsn_one_line(raw);
}

gsize
dsn_header_length(GBytes *message)
{
    gsize len;
    const char *p = g_bytes_get_data(message, &len);
    const char *end = g_strstr_len(p, (gssize)len, "\r\n\r\n");

    return end != NULL ? (gsize)(end - p) + 2 : len;
}

static void
append_recipient(GString *t, const DsnRecipient *r)
{
    g_autofree char *rcpt = dsn_one_line(r->final_recipient);
    g_autofree char *diagnostic = dsn_one_line(r->diagnostic);

    g_string_append(t, "\r\n");
    if (r->original_recipient != NULL && *r->original_recipient != '\0') {
        g_autofree char *orcpt = dsn_one_line(r->original_recipient);
        g_string_append_printf(t, "Original-Recipient: %s\r\n", orcpt);
    }
    g_string_append_printf(t, "Final-Recipient: rfc822; %s\r\n", rcpt);
    g_string_append_printf(t, "Action: %s\r\n", r->action);
    g_string_append_printf(t, "Status: %s\r\n", r->status);
    if (r->remote_mta != NULL && *r->remote_mta != '\0') {
        g_autofree char *mta = dsn_one_line(r->remote_mta);
        g_string_append_printf(t, "Remote-MTA: dns; %s\r\n", mta);
    }
    /* RFC 3464 §2.3.6: "smtp" for an SMTP reply, else a private type. */
    if (g_ascii_isdigit(diagnostic[0]) && g_ascii_isdigit(diagnostic[1]) &&
        g_ascii_isdigit(diagnostic[2]))
        g_string_append_printf(t, "Diagnostic-Code: smtp; %s\r\n", diagnostic);
    else if (*diagnostic != '\0')
        g_string_append_printf(t, "Diagnostic-Code: x-postroom; %s\r\n", diagnostic);
    if (r->last_attempt > 0) {
        g_autofree char *last = dsn_rfc5322_date(r->last_attempt);
        g_string_append_printf(t, "Last-Attempt-Date: %s\r\n", last);
    }
    if (r->will_retry_until > 0) {
        g_autofree char *until = dsn_rfc5322_date(r->will_retry_until);
        g_string_append_printf(t, "Will-Retry-Until: %s\r\n", until);
    }
}

/* A success report ("delivered", "relayed") returns the message too, but
 * not as an undelivered one. */
static gboolean
any_undelivered(const DsnReport *r)
{
    for (guint i = 0; i < r->n_recipients; i++) {
        if (g_ascii_strcasecmp(r->recipients[i].action, "failed") == 0 ||
            g_ascii_strcasecmp(r->recipients[i].action, "delayed") == 0)
            return TRUE;
    }
    return FALSE;
}

GString *
dsn_report_build(const DsnReport *r)
{
    g_autofree char *uuid = g_uuid_string_random();
    g_autofree char *boundary = g_strdup_printf("=_%s", uuid);
    g_autofree char *date = dsn_rfc5322_date(g_get_real_time() / G_USEC_PER_SEC);
    g_autofree char *msgid = g_uuid_string_random();
    g_autofree char *arrival = dsn_rfc5322_date(r->arrival);
    g_autofree char *to = dsn_one_line(r->to);
    g_autofree char *subject = dsn_one_line(r->subject);
    GString *t = g_string_new(NULL);

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
                           r->hostname, to, date, subject, msgid, r->hostname, boundary, boundary);
    g_string_append(t, r->human);
    g_string_append_printf(t,
                           "--%s\r\n"
                           "Content-Type: message/delivery-status\r\n"
                           "Content-Description: Delivery report\r\n"
                           "\r\n"
                           "Reporting-MTA: dns; %s\r\n",
                           boundary, r->hostname);
    if (r->envid != NULL && *r->envid != '\0') {
        g_autofree char *envid = dsn_one_line(r->envid);
        g_string_append_printf(t, "Original-Envelope-Id: %s\r\n", envid);
    }
    g_string_append_printf(t, "Arrival-Date: %s\r\n", arrival);
    for (guint i = 0; i < r->n_recipients; i++)
        append_recipient(t, &r->recipients[i]);
    g_string_append(t, "\r\n");
    if (r->original != NULL) {
        gsize len;
        const char *p = g_bytes_get_data(r->original, &len);
        if (r->headers_only)
            len = dsn_header_length(r->original);
        g_string_append_printf(t,
                               "--%s\r\n"
                               "Content-Type: %s\r\n"
                               "Content-Description: %s\r\n"
                               "\r\n",
                               boundary, r->headers_only ? "text/rfc822-headers" : "message/rfc822",
                               r->headers_only      ? "Message header"
                               : any_undelivered(r) ? "Undelivered message"
                                                    : "Delivered message");
        g_string_append_len(t, p, (gssize)len);
        if (len < 2 || p[len - 2] != '\r' || p[len - 1] != '\n')
            g_string_append(t, "\r\n");
    }
    g_string_append_printf(t, "--%s--\r\n", boundary);
    return t;
}
