/* SPDX-License-Identifier: GPL-3.0-or-later */

/* AUTH (RFC 4954) with SASL PLAIN (RFC 4616), LOGIN and, when the service
 * sets cram_md5=true and the host stores the secrets it needs ([auth]
 * store_secrets), CRAM-MD5 (RFC 2195). By default AUTH is offered only on
 * encrypted connections; CRAM-MD5 follows the same rules. */

#include "postroom-config.h"

#include "smtp.h"

gboolean
smtp_auth_offered(PrConnection *conn, SmtpSession *s)
{
    return s->auth_user == NULL && pr_connection_auth_allowed(conn) &&
           (pr_connection_is_tls(conn) || smtp_service_bool(conn, "plaintext_auth"));
}

/* The mechanisms of this service: the settings' choice, less what the
 * host cannot check. */
PrSaslMechanisms
smtp_auth_mechanisms(PrConnection *conn)
{
    PrSaslMechanisms wanted = PR_SASL_MECH_PLAIN | PR_SASL_MECH_LOGIN;

    if (smtp_service_bool(conn, "cram_md5"))
        wanted |= PR_SASL_MECH_CRAM_MD5;
    return pr_sasl_mechanisms_available(pr_connection_get_host(conn), wanted);
}

/* A failed attempt: counts for the intrusion prevention, which may end
 * the session. */
static gboolean
auth_failed(PrConnection *conn, const char *reply)
{
    if (smtp_ips_record(conn, SMTP_IPS_BAD_AUTH)) {
        pr_connection_reply(conn, smtp_ips_blocked_reply);
        return FALSE;
    }
    pr_connection_reply(conn, reply);
    return TRUE;
}

static void
verify_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    g_autoptr(PrConnection) conn = user_data;
    g_autofree char *login = NULL;
    gboolean go_on = TRUE;
    PrAuthResult verdict;
    SmtpSession *s;

    verdict = pr_auth_verify_finish(conn, result, &login);
    if (pr_connection_is_closed(conn))
        return;
    s = pr_connection_get_session(conn);
    switch (verdict) {
    case PR_AUTH_OK:
        s->auth_user = g_steal_pointer(&login);
        g_info("authenticated user=%s ip=%s service=%s connection=%" G_GUINT64_FORMAT, s->auth_user,
               pr_connection_get_peer_ip(conn), pr_connection_get_service(conn),
               pr_connection_get_id(conn));
        pr_connection_reply(conn, "235 2.7.0 Authentication successful");
        break;
    case PR_AUTH_LOCKED:
        go_on = auth_failed(conn, "454 4.7.0 Too many failed logins from your address, try "
                                  "again later");
        break;
    case PR_AUTH_TEMPFAIL:
        pr_connection_reply(conn, "454 4.7.0 Temporary authentication failure");
        break;
    case PR_AUTH_DISABLED:
    case PR_AUTH_FAILED:
    default:
        go_on = auth_failed(conn, "535 5.7.8 Authentication credentials invalid");
        break;
    }
    if (go_on)
        pr_connection_resume(conn);
    else
        pr_connection_close(conn);
}

/* RFC 4954 §4: "334", a space, and the base64 challenge. */
static const PrSaslExchange smtp_sasl = {
    .continuation = "334 ",
    .unknown_mechanism = "504 5.5.4 Unrecognized authentication type",
    .cancelled = "501 5.0.0 Authentication cancelled",
    .malformed = "501 5.5.2 Cannot decode the SASL response",
    .verified = verify_done,
};

PrCommandResult
smtp_cmd_auth(PrConnection *conn, gpointer session, const char *args)
{
    SmtpSession *s = session;
    g_auto(GStrv) parts = NULL;

    if (s->auth_user != NULL) {
        pr_connection_reply(conn, "503 5.5.1 Already authenticated");
        return pr_connection_bad_command(conn) ? PR_COMMAND_CLOSE : PR_COMMAND_DONE;
    }
    if (!smtp_auth_offered(conn, s)) {
        /* RFC 4954 §4 and §6: encryption first. */
        if (pr_connection_can_starttls(conn))
            pr_connection_reply(conn, "530 5.7.0 Must issue a STARTTLS command first");
        else
            pr_connection_reply(conn, "538 5.7.11 Encryption required for requested "
                                      "authentication mechanism");
        return PR_COMMAND_DONE;
    }
    parts = g_strsplit(args, " ", 2);
    return pr_sasl_exchange_start_full(conn, parts[0], parts[1], &smtp_sasl,
                                       smtp_auth_mechanisms(conn));
}
