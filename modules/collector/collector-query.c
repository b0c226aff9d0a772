/* SPDX-License-Identifier: GPL-3.0-or-later */

/* VPOP3's Query (§2.5): a message held back (larger than max_size, or a
 * Query download rule) stays on the server and its recipients get a
 * notice; a reply within 14 days has it downloaded at the next session.
 *
 * The notice comes from the collector's own address
 * (`[collector] reply_address`, owned through pr_delivery_claim_address())
 * with a random token in the subaddress and the subject; the token is
 * stored with the UID (pr_collector_query_uid_async()). A reply carrying
 * the token, from one of the addresses the notice went to, makes the UID
 * requested and asks for a session now; the replier hears back. Replies
 * from anyone else are logged and ignored; so is mail from the null
 * sender or marked Auto-Submitted (bounces, vacation replies: no loops).
 * An unknown or expired token is explained, but only to a local sender,
 * so that the address does not answer the Internet's spam. */

#include "postroom-config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "collector-token.h"
#include "collector.h"

typedef enum {
    ANSWER_REQUESTED,
    ANSWER_UNKNOWN,
    ANSWER_EXPIRED,
    ANSWER_DOWNLOADED,
    ANSWER_FAILED,
} Answer;

typedef struct {
    CollectorModule *m;
    char *sender;
    char *auth_user;
    char *token;
    Answer answer; /* for a sender still to be checked */
    PrCollectorQuery *query;
} Reply;

static void
reply_end(Reply *r)
{
    collector_op_end(r->m);
    pr_collector_query_free(r->query);
    g_free(r->sender);
    g_free(r->auth_user);
    g_free(r->token);
    g_free(r);
}

static char *
domain_of_module(CollectorModule *m)
{
    const char *domain = pr_module_get_string(m->self, "delivery", "default_domain");
    return g_ascii_strdown(
        domain != NULL && *domain != '\0' ? domain : pr_host_get_hostname(m->host), -1);
}

/* Lower case, with the default domain when there is none (a notice to
 * "carol" went to carol@default-domain). */
static char *
normal_address(CollectorModule *m, const char *address)
{
    if (strchr(address, '@') != NULL)
        return g_ascii_strdown(address, -1);
    g_autofree char *domain = domain_of_module(m);
    g_autofree char *lower = g_ascii_strdown(address, -1);
    return g_strdup_printf("%s@%s", lower, domain);
}

/* One of the addresses the notice went to, by its address or by the
 * account it authenticated as (SMTP AUTH). */
static gboolean
sender_was_asked(CollectorModule *m, const PrCollectorQuery *q, const char *sender,
                 const char *auth_user)
{
    g_autofree char *from = normal_address(m, sender);

    for (guint i = 0; q->recipients[i] != NULL; i++) {
        g_autofree char *asked = normal_address(m, q->recipients[i]);
        if (strcmp(asked, from) == 0)
            return TRUE;
        if (auth_user != NULL) {
            const char *at = strchr(asked, '@');
            if (strlen(auth_user) == (gsize)(at - asked) &&
                g_ascii_strncasecmp(asked, auth_user, at - asked) == 0)
                return TRUE;
        }
    }
    return FALSE;
}

/* ---- answering ------------------------------------------------------------------ */

static void
send_answer(Reply *r)
{
    CollectorModule *m = r->m;
    const PrCollectorQuery *q = r->query;
    const char *subject = NULL;
    g_autofree char *body = NULL;

    switch (r->answer) {
    case ANSWER_REQUESTED:
        subject = _("Your message will be downloaded");
        body = g_strdup_printf(_("Thank you. The message you asked for (collector %s, UID %s) "
                                 "will be downloaded at the collector's next session, which "
                                 "starts within moments."),
                               q->collector, q->uid);
        break;
    case ANSWER_DOWNLOADED:
        subject = _("Your message was downloaded already");
        body = g_strdup_printf(_("The message you asked for (collector %s, UID %s) was "
                                 "downloaded already; look for it in your mailbox."),
                               q->collector, q->uid);
        break;
    case ANSWER_EXPIRED:
        subject = _("Your request came too late");
        body = g_strdup_printf(_("The message you asked for (collector %s, UID %s) was held "
                                 "back more than %d days ago, so a reply no longer fetches "
                                 "it. Ask your administrator if you still want it."),
                               q->collector, q->uid, COLLECTOR_QUERY_DAYS);
        break;
    case ANSWER_UNKNOWN:
        subject = _("Your request was not understood");
        body = g_strdup_printf(
            _("Your message to %s did not name a message waiting on the server: the reference "
              "([query:...] in the subject, or in the address replied to) is missing, wrong, "
              "or older than %d days. Reply to the notice itself, or ask your administrator."),
            m->query_address, COLLECTOR_QUERY_DAYS);
        break;
    case ANSWER_FAILED:
        subject = _("Your request could not be handled");
        body = g_strdup(_("Your request could not be recorded just now (a problem of the mail "
                          "server). Please reply to the notice again later."));
        break;
    }
    GString *t = collector_text_from(m, NULL, m->query_address, r->sender, subject, body, NULL);
    collector_deliver_text(m, r->sender, t, 0, NULL, NULL, NULL);
}

static void
sender_checked(GObject *source, GAsyncResult *result, gpointer data)
{
    Reply *r = data;
    g_autoptr(GError) error = NULL;
    PrRecipientStatus status = pr_delivery_check_recipient_finish(r->m->host, result, &error);

    if (error == NULL && status == PR_RECIPIENT_LOCAL)
        send_answer(r);
    else
        pr_log_event(G_LOG_LEVEL_INFO, "COLLECTOR_REPLY_IGNORED",
                     "reply from <%s> names no waiting message; not answered (not a local "
                     "sender)",
                     r->sender);
    reply_end(r);
}

/* Explanations go to local senders only. */
static void
answer_if_local(Reply *r, Answer answer)
{
    g_autoptr(PrEnvelope) env = pr_envelope_new("");

    r->answer = answer;
    pr_delivery_check_recipient_async(r->m->host, env, r->sender, NULL, sender_checked, r);
}

static void
requested(GObject *source, GAsyncResult *result, gpointer data)
{
    Reply *r = data;
    g_autoptr(GError) error = NULL;

    if (pr_collector_request_uid_finish(r->m->host, result, &error)) {
        pr_log_event(G_LOG_LEVEL_MESSAGE, "COLLECTOR_QUERY_REQUESTED",
                     "collector %s: message %s requested by <%s>; a session is asked for",
                     r->query->collector, r->query->uid, r->sender);
        r->answer = ANSWER_REQUESTED;
    } else if (g_error_matches(error, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS)) {
        r->answer = ANSWER_DOWNLOADED;
    } else if (g_error_matches(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND)) {
        r->answer = ANSWER_UNKNOWN;
    } else {
        pr_log_event(G_LOG_LEVEL_WARNING, "COLLECTOR_QUERY_FAILED",
                     "collector %s: the request of <%s> for message %s was not recorded: %s",
                     r->query->collector, r->sender, r->query->uid, error->message);
        r->answer = ANSWER_FAILED;
    }
    send_answer(r);
    reply_end(r);
}

static void
found(GObject *source, GAsyncResult *result, gpointer data)
{
    Reply *r = data;
    CollectorModule *m = r->m;
    g_autoptr(GError) error = NULL;

    r->query = pr_collector_find_query_finish(m->host, result, &error);
    if (error != NULL) {
        pr_log_event(G_LOG_LEVEL_WARNING, "COLLECTOR_QUERY_FAILED",
                     "the reply of <%s> could not be looked up: %s", r->sender, error->message);
        reply_end(r);
        return;
    }
    if (r->query == NULL) {
        pr_log_event(G_LOG_LEVEL_INFO, "COLLECTOR_REPLY_UNKNOWN",
                     "reply from <%s> with an unknown query token", r->sender);
        answer_if_local(r, ANSWER_UNKNOWN);
        return;
    }
    const PrCollectorQuery *q = r->query;
    if (!sender_was_asked(m, q, r->sender, r->auth_user)) {
        pr_log_event(G_LOG_LEVEL_WARNING, "COLLECTOR_REPLY_IGNORED",
                     "collector %s: reply from <%s> about message %s ignored: the notice did "
                     "not go to that address",
                     q->collector, r->sender, q->uid);
        reply_end(r);
        return;
    }
    if (q->state == PR_COLLECTOR_UID_DOWNLOADED) {
        r->answer = ANSWER_DOWNLOADED;
    } else if (g_get_real_time() / G_USEC_PER_SEC - q->queried >=
               (gint64)COLLECTOR_QUERY_DAYS * 86400) {
        pr_log_event(G_LOG_LEVEL_INFO, "COLLECTOR_REPLY_EXPIRED",
                     "collector %s: reply from <%s> about message %s came after %d days",
                     q->collector, r->sender, q->uid, COLLECTOR_QUERY_DAYS);
        r->answer = ANSWER_EXPIRED;
    } else {
        pr_collector_request_uid_async(m->host, q->collector_id, q->uid, NULL, requested, r);
        return;
    }
    send_answer(r);
    reply_end(r);
}

/* Automatic mail (RFC 3834) is never answered nor acted on. */
static gboolean
automatic(const CollectorHeaders *h)
{
    const char *v = collector_headers_lookup(h, "Auto-Submitted");
    if (v == NULL)
        return FALSE;
    g_autofree char *copy = g_ascii_strdown(v, -1);
    return strncmp(g_strstrip(copy), "no", 2) != 0;
}

static void
owned_mail(PrHost *host, const PrOwnedMail *mail, gpointer data)
{
    CollectorModule *m = data;
    gsize len = 0;
    const char *text = g_bytes_get_data(mail->message, &len);
    g_autoptr(CollectorHeaders) h = collector_headers_parse(text, len);

    if (*mail->sender == '\0' || automatic(h)) {
        pr_log_event(G_LOG_LEVEL_INFO, "COLLECTOR_REPLY_IGNORED",
                     "automatic mail from <%s> to <%s> ignored", mail->sender, mail->recipient);
        return;
    }
    const char *subject = collector_headers_lookup(h, "Subject");
    g_autofree char *decoded = subject != NULL ? collector_header_decode(subject) : NULL;
    Reply *r = g_new0(Reply, 1);
    r->m = m;
    r->sender = g_strdup(mail->sender);
    r->auth_user = g_strdup(mail->auth_user);
    r->token = collector_token_parse(mail->detail, decoded);
    collector_op_begin(m);
    if (r->token == NULL) {
        pr_log_event(G_LOG_LEVEL_INFO, "COLLECTOR_REPLY_UNKNOWN",
                     "mail from <%s> to <%s> carries no query token", mail->sender,
                     mail->recipient);
        answer_if_local(r, ANSWER_UNKNOWN);
        return;
    }
    pr_collector_find_query_async(m->host, r->token, NULL, found, r);
}

/* ---- the notice ------------------------------------------------------------------- */

GString *
collector_query_notice(CollectorModule *m, const PrCollector *c, const char *to, const char *token,
                       guint64 size, gboolean by_rule, const CollectorHeaders *headers)
{
    const char *why = by_rule ? _("a download rule holds it back")
                              : _("it is larger than the collector's maximum message size");
    unsigned long long kib = (size + 1023) / 1024;

    if (token == NULL || m->query_address == NULL) {
        /* No address to reply to: the administrator fetches it. */
        g_autofree char *body = g_strdup_printf(
            _("A message for you of %llu KiB is waiting on the mail server of your Internet "
              "provider and was not downloaded (%s). Ask your administrator to collect it "
              "within %d days if you want it."),
            kib, why, COLLECTOR_QUERY_DAYS);
        return collector_text_notice(m, c, to, _("A message is waiting on the server"), body,
                                     headers);
    }
    const char *at = strchr(m->query_address, '@');
    g_autofree char *from =
        g_strdup_printf("%.*s+%s%s", (int)(at - m->query_address), m->query_address, token, at);
    g_autofree char *tag = collector_token_subject_tag(token);
    g_autofree char *subject = g_strconcat(_("A message is waiting on the server"), tag, NULL);
    g_autofree char *body = g_strdup_printf(
        _("A message for you of %llu KiB is waiting on the mail server of your Internet "
          "provider and was not downloaded (%s).\n\n"
          "To have it downloaded, reply to this notice within %d days; what the reply says "
          "does not matter. Otherwise it stays on the server."),
        kib, why, COLLECTOR_QUERY_DAYS);
    return collector_text_from(m, c, from, to, subject, body, headers);
}

/* ---- the address ------------------------------------------------------------------ */

void
collector_query_init(CollectorModule *m)
{
    const char *local = pr_module_get_string(m->self, NULL, "reply_address");
    g_autoptr(GError) error = NULL;

    if (local == NULL || *local == '\0') {
        pr_log_event(G_LOG_LEVEL_INFO, "COLLECTOR_QUERY_NO_ADDRESS",
                     "no reply_address: query notices ask recipients to see the administrator");
        return;
    }
    if (!pr_delivery_claim_address(m->host, m->self, local, owned_mail, m, &error)) {
        pr_log_event(G_LOG_LEVEL_WARNING, "COLLECTOR_QUERY_NO_ADDRESS",
                     "replies to query notices are off: %s", error->message);
        return;
    }
    g_autofree char *domain = domain_of_module(m);
    g_autofree char *lower = g_ascii_strdown(local, -1);
    m->query_address = g_strdup_printf("%s@%s", lower, domain);
}

void
collector_query_fini(CollectorModule *m)
{
    if (m->query_address == NULL)
        return;
    g_autofree char *local = g_strndup(m->query_address, strcspn(m->query_address, "@"));
    pr_delivery_release_address(m->host, m->self, local);
}
