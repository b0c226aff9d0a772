/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Positive delivery status notifications for local recipients (RFC 3461
 * §5.2.2, RFC 3464): a recipient given with NOTIFY=SUCCESS whose message
 * the router resolved here gets one "delivered" report once the message is
 * stored ("expanded" when forwarding or a list took it further), all
 * such recipients of one message in one report. Remote recipients keep
 * their NOTIFY in the outbound queue and the sender reports for them ("relayed", or nothing when
 * the next hop takes DSN). The report is built by modules/common/dsn-report.c, like the sender's
 * failure reports, and delivered from the null sender. */

#include "postroom-config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "dsn-report.h"
#include "smtp.h"

/* RET=FULL returns the message only up to this size, as the sender's
 * default dsn_original_limit does; a larger one gets its header. */
#define SMTP_DSN_ORIGINAL_LIMIT (1024 * 1024)

struct _SmtpDsn {
    char *ret;         /* FULL, HDRS or NULL */
    char *envid;       /* xtext, or NULL */
    GPtrArray *notify; /* char* or NULL, parallel to SmtpSession.rcpts */
    GPtrArray *orcpt;  /* char* (xtext) or NULL, parallel too */
    GBytes *message;   /* kept while it is delivered, when a report is wanted */
    gboolean any_success;
};

SmtpDsn *
smtp_dsn_new(const char *ret, const char *envid)
{
    SmtpDsn *dsn = g_new0(SmtpDsn, 1);

    dsn->ret = g_strdup(ret);
    dsn->envid = g_strdup(envid);
    dsn->notify = g_ptr_array_new_with_free_func(g_free);
    dsn->orcpt = g_ptr_array_new_with_free_func(g_free);
    return dsn;
}

void
smtp_dsn_free(SmtpDsn *dsn)
{
    if (dsn == NULL)
        return;
    g_free(dsn->ret);
    g_free(dsn->envid);
    g_ptr_array_unref(dsn->notify);
    g_ptr_array_unref(dsn->orcpt);
    g_clear_pointer(&dsn->message, g_bytes_unref);
    g_free(dsn);
}

static gboolean
notify_has(const char *notify, const char *what)
{
    if (notify == NULL)
        return FALSE;
    g_auto(GStrv) words = g_strsplit(notify, ",", -1);
    for (guint i = 0; words[i] != NULL; i++) {
        if (g_ascii_strcasecmp(g_strstrip(words[i]), what) == 0)
            return TRUE;
    }
    return FALSE;
}

void
smtp_dsn_add_recipient(SmtpDsn *dsn, const char *notify, const char *orcpt)
{
    g_ptr_array_add(dsn->notify, g_strdup(notify));
    g_ptr_array_add(dsn->orcpt, g_strdup(orcpt));
    /* Without NOTIFY the MTA decides (RFC 3461 §4.1): no success report. */
    dsn->any_success = dsn->any_success || notify_has(notify, "SUCCESS");
}

void
smtp_dsn_keep_message(SmtpDsn *dsn, const char *sender, GBytes *message)
{
    if (dsn != NULL && dsn->any_success && *sender != '\0')
        dsn->message = g_bytes_ref(message);
}

static void
report_delivered(GObject *source, GAsyncResult *result, gpointer data)
{
    PrHost *host = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(PrDeliveryReport) report = pr_delivery_deliver_finish(host, result, &error);

    if (report == NULL || !pr_delivery_report_get_stored(report))
        pr_log_event(G_LOG_LEVEL_WARNING, "SMTP_DSN_LOST", _("delivery report not delivered: %s"),
                     error != NULL ? error->message : "the recipient was refused");
}

void
smtp_dsn_report_delivered(PrHost *host, const SmtpSession *s, const PrDeliveryReport *report)
{
    SmtpDsn *dsn = s->dsn;
    const char *hostname = pr_host_get_hostname(host);
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GArray) rcpts = g_array_new(FALSE, TRUE, sizeof(DsnRecipient));
    g_autoptr(GString) human = g_string_new(NULL);

    if (dsn == NULL || dsn->message == NULL)
        return; /* nobody asked, or the null sender: never a report to <> */
    g_string_append_printf(human,
                           "This is the mail server at %s.\r\n\r\n"
                           "Your message was delivered to the recipients below.\r\n\r\n",
                           hostname);
    for (guint i = 0; i < s->rcpts->len && i < dsn->notify->len; i++) {
        const char *orcpt = dsn->orcpt->pdata[i];
        DsnRecipient r = { 0 };
        /* Only what the router resolved here: remote recipients are the
         * sender module's to report. */
        if (!notify_has(dsn->notify->pdata[i], "SUCCESS") ||
            pr_delivery_report_get_status(report, i) != PR_RECIPIENT_LOCAL)
            continue;
        guint n_remote = 0;
        guint n_mailboxes = pr_delivery_report_get_mailboxes(report, i, &n_remote);
        /* RFC 3464 §2.3.3: one mailbox is "delivered"; forwarding or a
         * list sends it on as new deliveries (without NOTIFY), so this
         * is the last report: "expanded". */
        gboolean expanded = n_mailboxes != 1 || n_remote > 0;
        r.final_recipient = s->rcpts->pdata[i];
        if (orcpt != NULL && *orcpt != '\0') {
            char *decoded = dsn_xtext_decode(orcpt);
            g_ptr_array_add(strings, decoded);
            r.original_recipient = decoded;
        }
        r.action = expanded ? "expanded" : "delivered";
        r.status = "2.0.0";
        r.last_attempt = now;
        g_array_append_val(rcpts, r);
        g_string_append_printf(human, expanded ? "<%s> (forwarded or expanded)\r\n" : "<%s>\r\n",
                               (const char *)s->rcpts->pdata[i]);
    }
    if (rcpts->len == 0)
        return;
    g_string_append(human, "\r\n");

    g_autofree char *envid =
        dsn->envid != NULL && *dsn->envid != '\0' ? dsn_xtext_decode(dsn->envid) : NULL;
    DsnReport dr = {
        .hostname = hostname,
        .to = s->sender,
        .subject = "Successful Mail Delivery Report",
        .human = human->str,
        .envid = envid,
        .arrival = now,
        .recipients = (const DsnRecipient *)rcpts->data,
        .n_recipients = rcpts->len,
        .original = dsn->message,
        .headers_only = (dsn->ret != NULL && g_ascii_strcasecmp(dsn->ret, "HDRS") == 0) ||
                        g_bytes_get_size(dsn->message) > SMTP_DSN_ORIGINAL_LIMIT,
    };
    GString *text = dsn_report_build(&dr);
    gsize len = text->len;
    g_autoptr(GBytes) bytes = g_bytes_new_take(g_string_free(text, FALSE), len);
    g_autoptr(PrEnvelope) env = pr_envelope_new("");

    pr_envelope_add_recipient(env, s->sender, NULL, NULL);
    pr_log_event(G_LOG_LEVEL_MESSAGE, "SMTP_DSN_DELIVERED",
                 _("delivery report for %u recipients sent to <%s>"), rcpts->len, s->sender);
    /* Not cancellable: the message is stored, the report must follow. */
    pr_delivery_deliver_async(host, env, bytes, NULL, report_delivered, host);
}
