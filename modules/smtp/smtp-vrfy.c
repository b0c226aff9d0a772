/* SPDX-License-Identifier: GPL-3.0-or-later */

/* VRFY and EXPN (RFC 5321 §3.5). Off by default, as in VPOP3: they let
 * anyone harvest addresses. Then VRFY answers 252 ("cannot verify, but will
 * try", §3.5.3) and EXPN 502. When vrfy_expn=true, authenticated sessions,
 * noauth clients and the addresses in vrfy_expn_allow get real answers from
 * the router. EXPN expands users, lists (nested ones flattened) and the
 * built-in everyone through the router (pr_delivery_expand_async()) and
 * answers one mailbox per line (§3.5.2), "Full Name <address>" when the
 * user has a full name. */

#include "postroom-config.h"

#include <string.h>

#include "smtp.h"

#define CANNOT_VRFY "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery"

typedef struct {
    PrConnection *conn;
    PrEnvelope *envelope;
    char *address;
} VrfyData;

static void
vrfy_data_free(VrfyData *d)
{
    pr_connection_unref(d->conn);
    pr_envelope_free(d->envelope);
    g_free(d->address);
    g_free(d);
}

static gboolean
allowed(PrConnection *conn, SmtpSession *s)
{
    if (!smtp_module_bool(conn, "vrfy_expn"))
        return FALSE;
    return s->auth_user != NULL || pr_connection_is_trusted(conn) ||
           smtp_address_listed(pr_connection_get_module(conn), "vrfy_expn_allow",
                               pr_connection_get_peer_ip(conn));
}

static void
checked(GObject *source, GAsyncResult *result, gpointer user_data)
{
    VrfyData *d = user_data;
    PrConnection *conn = d->conn;
    g_autoptr(GError) error = NULL;
    PrRecipientStatus status;

    status = pr_delivery_check_recipient_finish(pr_connection_get_host(conn), result, &error);
    if (!pr_connection_is_closed(conn)) {
        if (error != NULL)
            pr_connection_reply(conn, "451 4.3.0 Temporary failure, try again later");
        else if (status == PR_RECIPIENT_LOCAL || status == PR_RECIPIENT_REFUSED ||
                 status == PR_RECIPIENT_LOOP)
            pr_connection_replyf(conn, "250 2.1.5 <%s>", d->address);
        else if (status == PR_RECIPIENT_UNKNOWN)
            pr_connection_replyf(conn, "550 5.1.1 <%s>: User unknown", d->address);
        else if (status == PR_RECIPIENT_REMOTE)
            pr_connection_reply(conn, CANNOT_VRFY);
        else
            pr_connection_replyf(conn, "501 5.1.3 <%s>: Bad address syntax", d->address);
        pr_connection_resume(conn);
    }
    vrfy_data_free(d);
}

/* The address is echoed in the reply: no spaces or control characters. */
static gboolean
printable(const char *text)
{
    for (const guchar *p = (const guchar *)text; *p != '\0'; p++) {
        if (*p <= ' ' || *p == 0x7f)
            return FALSE;
    }
    return TRUE;
}

/* Keeps a reply line within RFC 5321's 512 octets (§4.5.3.1.5) next to
 * an address of up to SMTP_MAX_PATH. */
#define MAX_NAME_CHARS 60

/* A full name as it may stand before <address> on a reply line: control
 * characters become spaces, angle brackets go, and it is not too long. */
static void
append_name(GString *out, const char *name)
{
    g_autofree char *utf8 = g_utf8_make_valid(name, -1);
    g_autofree char *valid =
        g_utf8_substring(utf8, 0, MIN(g_utf8_strlen(utf8, -1), MAX_NAME_CHARS));

    for (const guchar *p = (const guchar *)valid; *p != '\0'; p++) {
        if (*p != '<' && *p != '>')
            g_string_append_c(out, *p < ' ' || *p == 0x7f ? ' ' : *p);
    }
}

static void
expanded(GObject *source, GAsyncResult *result, gpointer user_data)
{
    VrfyData *d = user_data;
    PrConnection *conn = d->conn;
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) addresses = NULL;
    g_auto(GStrv) names = NULL;
    PrRecipientStatus status;

    status =
        pr_delivery_expand_finish(pr_connection_get_host(conn), result, &addresses, &names, &error);
    if (pr_connection_is_closed(conn)) {
        vrfy_data_free(d);
        return;
    }
    if (error != NULL) {
        pr_connection_reply(conn, "451 4.3.0 Temporary failure, try again later");
    } else if (status == PR_RECIPIENT_LOCAL && addresses[0] == NULL) {
        pr_connection_replyf(conn, "550 5.1.1 <%s>: List has no members", d->address);
    } else if (status == PR_RECIPIENT_LOCAL) {
        GString *out = g_string_new(NULL);
        guint n = g_strv_length(addresses);

        /* RFC 5321 §3.5.2: one mailbox per line; with RFC 2034 the status
         * code on every line. */
        for (guint i = 0; i < n; i++) {
            g_string_append_printf(out, "250%c2.1.5 ", i + 1 < n ? '-' : ' ');
            if (*names[i] != '\0') {
                append_name(out, names[i]);
                g_string_append_c(out, ' ');
            }
            g_string_append_printf(out, "<%s>\r\n", addresses[i]);
        }
        pr_connection_write(conn, out->str, out->len);
        g_string_free(out, TRUE);
    } else if (status == PR_RECIPIENT_UNKNOWN) {
        pr_connection_replyf(conn, "550 5.1.1 <%s>: User unknown", d->address);
    } else if (status == PR_RECIPIENT_REMOTE) {
        pr_connection_reply(conn, "252 2.1.5 Cannot EXPN an address that is not local");
    } else {
        pr_connection_replyf(conn, "501 5.1.3 <%s>: Bad address syntax", d->address);
    }
    pr_connection_resume(conn);
    vrfy_data_free(d);
}

static PrCommandResult
verify(PrConnection *conn, SmtpSession *s, const char *args, const char *verb)
{
    g_autofree char *address = g_strstrip(g_strdup(args));
    gsize len = strlen(address);
    VrfyData *d;

    if (len >= 2 && address[0] == '<' && address[len - 1] == '>') {
        memmove(address, address + 1, len - 2);
        address[len - 2] = '\0';
    }
    if (*address == '\0' || strlen(address) > SMTP_MAX_PATH || !printable(address) ||
        !g_utf8_validate(address, -1, NULL)) {
        pr_connection_replyf(conn, "501 5.5.4 Syntax: %s address", verb);
        return pr_connection_bad_command(conn) ? PR_COMMAND_CLOSE : PR_COMMAND_DONE;
    }
    d = g_new0(VrfyData, 1);
    d->conn = pr_connection_ref(conn);
    d->address = g_steal_pointer(&address);
    d->envelope = pr_envelope_new("");
    pr_envelope_set_client(d->envelope, pr_connection_get_peer_ip(conn), s->helo,
                           smtp_received_protocol(conn, s));
    pr_envelope_set_auth_user(d->envelope, s->auth_user);
    if (strcmp(verb, "EXPN") == 0)
        pr_delivery_expand_async(pr_connection_get_host(conn), d->address,
                                 pr_connection_get_cancellable(conn), expanded, d);
    else
        pr_delivery_check_recipient_async(pr_connection_get_host(conn), d->envelope, d->address,
                                          pr_connection_get_cancellable(conn), checked, d);
    return PR_COMMAND_ASYNC;
}

PrCommandResult
smtp_cmd_vrfy(PrConnection *conn, gpointer session, const char *args)
{
    if (!allowed(conn, session)) {
        pr_connection_reply(conn, CANNOT_VRFY);
        return PR_COMMAND_DONE;
    }
    return verify(conn, session, args, "VRFY");
}

PrCommandResult
smtp_cmd_expn(PrConnection *conn, gpointer session, const char *args)
{
    if (!allowed(conn, session)) {
        pr_connection_reply(conn, "502 5.5.1 EXPN not available");
        return PR_COMMAND_DONE;
    }
    return verify(conn, session, args, "EXPN");
}
