/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The SMTP client (RFC 5321) that runs one job: find the servers (the
 * smarthost's list, a DNS override, or the domain's MX), connect to the
 * first that answers, EHLO (HELO when EHLO is refused), STARTTLS (RFC 3207)
 * and AUTH PLAIN or LOGIN when configured; then sender-txn.c runs the
 * transactions. This file also reads replies and writes commands.
 *
 * Exactly one asynchronous step is in flight at a time, so a session is
 * freed only from a completion, never under one. Timeouts cancel the step
 * in flight. */

#include "postroom-config.h"

#include <string.h>

#include "sender-session.h"

static void connect_next(SenderSession *s);
static void after_ehlo(SenderSession *s);
static void send_ehlo(SenderSession *s);

/* ---- plumbing ------------------------------------------------------------- */

static gboolean
timer_fired(gpointer data)
{
    SenderSession *s = data;

    g_clear_pointer(&s->timer, g_source_unref);
    s->timed_out = TRUE;
    g_cancellable_cancel(s->cancellable);
    return G_SOURCE_REMOVE;
}

static void
disarm(SenderSession *s)
{
    if (s->timer != NULL) {
        g_source_destroy(s->timer);
        g_clear_pointer(&s->timer, g_source_unref);
    }
}

void
sender_session_arm(SenderSession *s, gint64 seconds)
{
    disarm(s);
    s->timer = g_timeout_source_new_seconds((guint)MAX(seconds, 1));
    g_source_set_callback(s->timer, timer_fired, s, NULL);
    g_source_attach(s->timer, NULL);
}

typedef struct {
    Sender *sender;
    GIOStream *stream;
} CloseOp;

static void
close_done(GObject *source, GAsyncResult *result, gpointer data)
{
    CloseOp *op = data;

    g_io_stream_close_finish(op->stream, result, NULL);
    g_object_unref(op->stream);
    sender_op_end(op->sender);
    g_free(op);
}

/* Closing TLS writes close_notify, which can wait on the network: never
 * synchronously, and counted so that shutdown waits for it. */
static void
close_connection(SenderSession *s)
{
    if (s->stream != NULL) {
        CloseOp *op = g_new0(CloseOp, 1);
        op->sender = s->sender;
        op->stream = g_steal_pointer(&s->stream);
        sender_op_begin(s->sender);
        g_io_stream_close_async(op->stream, G_PRIORITY_DEFAULT, NULL, close_done, op);
    }
    g_clear_object(&s->socket);
    g_byte_array_set_size(s->inbuf, 0);
    g_ptr_array_set_size(s->lines, 0);
    s->tls = FALSE;
}

void
sender_session_end(SenderSession *s)
{
    disarm(s);
    close_connection(s);
    sender_session_ended(s->sender, s);
}

static char *
io_error_text(SenderSession *s, const GError *error, const char *what)
{
    if (s->timed_out)
        return g_strdup_printf("451 4.4.2 timed out %s", what);
    if (s->stopped)
        return g_strdup("451 4.3.2 shutting down");
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) ||
        g_error_matches(error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE))
        return g_strdup_printf("451 4.4.2 the server connection was closed unexpectedly %s", what);
    if (error == NULL)
        return g_strdup_printf("451 4.4.2 %s", what);
    return g_strdup_printf("451 4.4.2 %s (%s)", error->message, what);
}

void
sender_session_server_error(SenderSession *s, const char *error)
{
    pr_log_event(G_LOG_LEVEL_WARNING, "SENDER_SERVER_ERROR", "route %s, server %s: %s",
                 s->route->name, s->remote != NULL ? s->remote : "-", error);
    /* Errors from the ISP's relay are the administrator's business; a
     * remote domain's MX being down is not. */
    if (!s->route->direct)
        sender_alert(s->sender, s->route, s->remote, error);
}

/* ---- failing ---------------------------------------------------------------- */

static void
fail_done(GObject *source, GAsyncResult *result, gpointer data)
{
    SenderSession *s = data;

    sender_job_fail_finish(result);
    sender_session_end(s);
}

/* Settles every recipient the session has not settled and ends it. */
void
sender_session_fail_all(SenderSession *s, SenderResult result, const char *reply)
{
    if (s->stopped)
        result = SENDER_RESULT_RELEASE;
    disarm(s);
    close_connection(s);
    sender_job_fail_async(s->job, s->msg_index, result, reply, s->remote, fail_done, s);
}

/* The current server is no use. Smarthosts are tried in order until one
 * accepts the connection; once one has answered, its errors stand
 * (VPOP3's rule). Every MX is tried until one takes the transaction. */
static void
target_failed(SenderSession *s, const char *error, gboolean fall_through)
{
    g_free(s->last_error);
    s->last_error = g_strdup(error);
    g_debug("route %s, server %s: %s", s->route->name, s->remote, error);
    close_connection(s);
    if (s->stopped) {
        sender_session_fail_all(s, SENDER_RESULT_RELEASE, error);
        return;
    }
    if (fall_through || s->route->direct) {
        s->target_index++;
        connect_next(s);
        return;
    }
    sender_session_server_error(s, error);
    sender_session_fail_all(s, SENDER_RESULT_TEMPORARY, error);
}

static void
io_failed(SenderSession *s, const GError *error, const char *what)
{
    g_autofree char *text = io_error_text(s, error, what);

    if (s->quitting) {
        sender_session_end(s); /* everything is settled: nobody cares how QUIT went */
        return;
    }
    if (s->ready)
        sender_txn_session_failed(s, text);
    else
        target_failed(s, text, !s->answered);
}

/* ---- replies ---------------------------------------------------------------- */

SenderResult
sender_reply_classify(int code)
{
    if (code >= 200 && code < 300)
        return SENDER_RESULT_OK;
    if (code >= 500 && code < 600)
        return SENDER_RESULT_PERMANENT;
    return SENDER_RESULT_TEMPORARY;
}

static void parse_buffer(SenderSession *s);

static void
read_done(GObject *source, GAsyncResult *result, gpointer data)
{
    SenderSession *s = data;
    g_autoptr(GError) error = NULL;
    gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), result, &error);

    if (n <= 0) {
        if (n == 0)
            g_set_error_literal(&error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED, "closed");
        io_failed(s, error, "waiting for a reply");
        return;
    }
    g_byte_array_append(s->inbuf, s->chunk, (guint)n);
    parse_buffer(s);
}

static void
parse_buffer(SenderSession *s)
{
    g_autofree char *error = NULL;

    switch (sender_reply_take(s->inbuf, s->lines, &error)) {
    case SENDER_REPLY_MORE:
        g_input_stream_read_async(g_io_stream_get_input_stream(s->stream), s->chunk,
                                  sizeof s->chunk, G_PRIORITY_DEFAULT, s->cancellable, read_done,
                                  s);
        return;
    case SENDER_REPLY_MALFORMED:
        io_failed(s, NULL, error);
        return;
    case SENDER_REPLY_COMPLETE:
        break;
    }
    /* The handler may start the next read, which needs s->lines. */
    g_autoptr(GPtrArray) lines = g_steal_pointer(&s->lines);
    s->lines = g_ptr_array_new_with_free_func(g_free);
    Reply r = sender_reply_build(lines);
    r.lines = lines;
    disarm(s);
    g_debug("%s <- %s", s->remote, r.text);
    s->on_reply(s, &r);
    g_free(r.text);
}

void
sender_session_read_reply(SenderSession *s, ReplyFunc func)
{
    const SenderConfig *config = s->sender->config;

    s->on_reply = func;
    /* RFC 5321 §4.5.3.2.6: wait at least 10 minutes for the final reply. */
    sender_session_arm(s, s->final_dot ? MAX(config->command_timeout * 2, 600)
                                       : config->command_timeout);
    parse_buffer(s);
}

static void
write_done(GObject *source, GAsyncResult *result, gpointer data)
{
    SenderSession *s = data;
    g_autoptr(GError) error = NULL;

    g_clear_pointer(&s->wbuf, g_bytes_unref);
    if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), result, NULL, &error)) {
        io_failed(s, error, "sending");
        return;
    }
    sender_session_read_reply(s, s->on_reply);
}

/* Writes @data in one write (a whole pipelined group, or a message) and
 * then reads the reply to the first command in it. */
void
sender_session_write(SenderSession *s, GBytes *data, ReplyFunc func)
{
    gsize len;
    const void *p = g_bytes_get_data(data, &len);

    s->wbuf = data;
    s->on_reply = func;
    sender_session_arm(s, s->sender->config->command_timeout);
    g_output_stream_write_all_async(g_io_stream_get_output_stream(s->stream), p, len,
                                    G_PRIORITY_DEFAULT, s->cancellable, write_done, s);
}

void
sender_session_send_line(SenderSession *s, const char *line, gboolean secret, ReplyFunc func)
{
    char *text = g_strconcat(line, "\r\n", NULL);

    g_debug("%s -> %s", s->remote, secret ? "AUTH ***" : line);
    sender_session_write(s, g_bytes_new_take(text, strlen(text)), func);
}

/* ---- connecting ------------------------------------------------------------- */

static gboolean
accept_certificate(GTlsConnection *conn, GTlsCertificate *cert, GTlsCertificateFlags errors,
                   gpointer data)
{
    SenderSession *s = data;

    /* Direct delivery encrypts opportunistically (RFC 7435): an unverified
     * certificate is still better than plaintext. */
    return !s->route->verify;
}

static void
handshake_done(GObject *source, GAsyncResult *result, gpointer data)
{
    SenderSession *s = data;
    g_autoptr(GError) error = NULL;
    GIOStream *tls = G_IO_STREAM(source);

    if (!g_tls_connection_handshake_finish(G_TLS_CONNECTION(tls), result, &error)) {
        g_autofree char *text = io_error_text(s, error, "in the TLS handshake");
        g_object_unref(tls);
        /* Opportunistic TLS that fails is retried once on a new connection
         * without it, as other MTAs do. */
        if (!s->stopped && !s->timed_out && s->route->tls == SENDER_TLS_STARTTLS_IF_AVAILABLE &&
            !s->route->verify) {
            SenderTarget *again = sender_target_copy(s->targets->pdata[s->target_index]);
            if (!again->plaintext) {
                again->plaintext = TRUE;
                g_ptr_array_insert(s->targets, (gint)s->target_index + 1, again);
                target_failed(s, text, TRUE);
                return;
            }
            sender_target_free(again);
        }
        target_failed(s, text, FALSE);
        return;
    }
    g_clear_object(&s->stream);
    s->stream = tls;
    s->tls = TRUE;
    s->after_tls(s);
}

static void
start_tls(SenderSession *s, StepFunc next)
{
    const SenderTarget *t = s->targets->pdata[s->target_index];
    g_autoptr(GSocketConnectable) identity = g_network_address_new(t->host, t->port);
    g_autoptr(GError) error = NULL;
    GIOStream *tls = g_tls_client_connection_new(s->stream, identity, &error);

    if (tls == NULL) {
        g_autofree char *text = g_strdup_printf("451 4.7.5 TLS unavailable: %s", error->message);
        target_failed(s, text, FALSE);
        return;
    }
    if (s->route->ca != NULL)
        g_tls_connection_set_database(G_TLS_CONNECTION(tls), s->route->ca);
    g_tls_connection_set_require_close_notify(G_TLS_CONNECTION(tls), FALSE);
    g_signal_connect(tls, "accept-certificate", G_CALLBACK(accept_certificate), s);
    s->after_tls = next;
    sender_session_arm(s, s->sender->config->command_timeout);
    g_tls_connection_handshake_async(G_TLS_CONNECTION(tls), G_PRIORITY_DEFAULT, s->cancellable,
                                     handshake_done, s);
}

static void
on_greeting(SenderSession *s, const Reply *r)
{
    if (r->code != 220) {
        target_failed(s, r->text, FALSE);
        return;
    }
    send_ehlo(s);
}

static void
read_greeting(SenderSession *s)
{
    s->answered = TRUE;
    sender_session_read_reply(s, on_greeting);
}

static void
connected(GObject *source, GAsyncResult *result, gpointer data)
{
    SenderSession *s = data;
    g_autoptr(GError) error = NULL;
    GSocketConnection *conn =
        g_socket_client_connect_finish(G_SOCKET_CLIENT(source), result, &error);

    if (conn == NULL) {
        g_autofree char *text = io_error_text(s, error, "connecting");
        target_failed(s, text, TRUE);
        return;
    }
    /* Our own timer bounds every step from here on. */
    g_socket_set_timeout(g_socket_connection_get_socket(conn), 0);
    s->socket = conn;
    s->stream = G_IO_STREAM(g_object_ref(conn));
    g_debug("route %s: connected to %s", s->route->name, s->remote);
    if (s->route->tls == SENDER_TLS_IMPLICIT)
        start_tls(s, read_greeting);
    else
        read_greeting(s);
}

static void
connect_next(SenderSession *s)
{
    const SenderConfig *config = s->sender->config;

    if (s->target_index >= s->targets->len) {
        g_autofree char *error =
            g_strdup_printf("451 4.4.1 no server of route %s accepted the connection: %s",
                            s->route->name, s->last_error != NULL ? s->last_error : "no servers");
        if (!s->stopped)
            sender_session_server_error(s, error);
        sender_session_fail_all(s, SENDER_RESULT_TEMPORARY, error);
        return;
    }
    const SenderTarget *t = s->targets->pdata[s->target_index];
    GSocketClient *client = g_socket_client_new();

    g_free(s->remote);
    s->remote = sender_target_describe(t);
    s->answered = FALSE;
    s->timed_out = FALSE;
    s->pipelining = s->starttls = s->dsn = s->eightbit = s->smtputf8 = FALSE;
    s->auth_plain = s->auth_login = s->has_size = s->no_starttls = FALSE;
    g_clear_object(&s->cancellable);
    s->cancellable = g_cancellable_new();
    g_socket_client_set_timeout(client, (guint)config->connect_timeout);
    /* SMTP goes straight to the server, never through a desktop's proxy. */
    g_socket_client_set_enable_proxy(client, FALSE);
    sender_session_arm(s, config->connect_timeout + 5);
    if (t->address != NULL) {
        g_autoptr(GSocketAddress) address = g_inet_socket_address_new(t->address, t->port);
        g_socket_client_connect_async(client, G_SOCKET_CONNECTABLE(address), s->cancellable,
                                      connected, s);
    } else {
        g_socket_client_connect_to_host_async(client, t->host, t->port, s->cancellable, connected,
                                              s);
    }
    g_object_unref(client); /* the connection attempt holds it */
}

/* ---- EHLO, STARTTLS, AUTH ----------------------------------------------------- */

static void
parse_ehlo(SenderSession *s, const GPtrArray *lines)
{
    SenderEhlo e = { 0 };

    sender_ehlo_parse(lines, &e);
    s->pipelining |= e.pipelining;
    s->starttls |= e.starttls;
    s->dsn |= e.dsn;
    s->eightbit |= e.eightbit;
    s->smtputf8 |= e.smtputf8;
    s->auth_plain |= e.auth_plain;
    s->auth_login |= e.auth_login;
    if (e.has_size) {
        s->has_size = TRUE;
        s->size_limit = e.size_limit;
    }
}

static void
on_helo(SenderSession *s, const Reply *r)
{
    if (sender_reply_classify(r->code) != SENDER_RESULT_OK) {
        target_failed(s, r->text, FALSE);
        return;
    }
    after_ehlo(s);
}

static void
on_ehlo(SenderSession *s, const Reply *r)
{
    if (r->code / 100 == 5) {
        g_autofree char *line = g_strdup_printf("HELO %s", s->sender->config->helo_name);
        sender_session_send_line(s, line, FALSE, on_helo);
        return;
    }
    if (sender_reply_classify(r->code) != SENDER_RESULT_OK) {
        target_failed(s, r->text, FALSE);
        return;
    }
    parse_ehlo(s, r->lines);
    after_ehlo(s);
}

static void
send_ehlo(SenderSession *s)
{
    g_autofree char *line = g_strdup_printf("EHLO %s", s->sender->config->helo_name);

    /* RFC 3207 §4.2: forget what the server said before TLS. */
    s->pipelining = s->starttls = s->dsn = s->eightbit = s->smtputf8 = FALSE;
    s->auth_plain = s->auth_login = s->has_size = FALSE;
    sender_session_send_line(s, line, FALSE, on_ehlo);
}

static void
on_auth(SenderSession *s, const Reply *r)
{
    if (r->code != 235) {
        g_autofree char *text =
            g_strdup_printf("authentication as %s failed: %s", s->route->user, r->text);
        target_failed(s, text, FALSE);
        return;
    }
    g_debug("route %s: authenticated as %s", s->route->name, s->route->user);
    s->ready = TRUE;
    sender_txn_next(s);
}

static char *
b64(const char *text, gsize len)
{
    return g_base64_encode((const guchar *)text, len);
}

static void
on_login_password(SenderSession *s, const Reply *r)
{
    if (r->code != 334) {
        on_auth(s, r);
        return;
    }
    g_autofree char *pw = b64(s->route->password, strlen(s->route->password));
    sender_session_send_line(s, pw, TRUE, on_auth);
    explicit_bzero(pw, strlen(pw));
}

static void
on_login_user(SenderSession *s, const Reply *r)
{
    if (r->code != 334) {
        on_auth(s, r);
        return;
    }
    g_autofree char *user = b64(s->route->user, strlen(s->route->user));
    sender_session_send_line(s, user, TRUE, on_login_password);
}

static void
authenticate(SenderSession *s)
{
    if (s->auth_plain) {
        gsize ulen = strlen(s->route->user), plen = strlen(s->route->password);
        g_autofree char *raw = g_malloc(ulen + plen + 2);
        raw[0] = '\0';
        memcpy(raw + 1, s->route->user, ulen);
        raw[ulen + 1] = '\0';
        memcpy(raw + ulen + 2, s->route->password, plen);
        g_autofree char *enc = b64(raw, ulen + plen + 2);
        g_autofree char *line = g_strconcat("AUTH PLAIN ", enc, NULL);
        explicit_bzero(raw, ulen + plen + 2);
        sender_session_send_line(s, line, TRUE, on_auth);
        explicit_bzero(line, strlen(line));
        explicit_bzero(enc, strlen(enc));
    } else if (s->auth_login) {
        sender_session_send_line(s, "AUTH LOGIN", TRUE, on_login_user);
    } else {
        target_failed(s, "530 5.7.0 the server offers neither AUTH PLAIN nor AUTH LOGIN", FALSE);
    }
}

static void
on_starttls(SenderSession *s, const Reply *r)
{
    if (r->code != 220) {
        if (s->route->tls == SENDER_TLS_STARTTLS) {
            g_autofree char *text = g_strdup_printf("STARTTLS refused: %s", r->text);
            target_failed(s, text, FALSE);
            return;
        }
        s->no_starttls = TRUE;
        after_ehlo(s);
        return;
    }
    /* RFC 3207 §4.2 (and CVE-2011-0411): nothing read before the handshake
     * may be taken for a reply after it. */
    if (s->inbuf->len > 0) {
        target_failed(s, "451 4.7.0 data after the STARTTLS reply", FALSE);
        return;
    }
    start_tls(s, send_ehlo);
}

static void
after_ehlo(SenderSession *s)
{
    const SenderTarget *t = s->targets->pdata[s->target_index];
    SenderTlsMode mode = s->route->tls;

    if (!s->tls && !t->plaintext && !s->no_starttls &&
        (mode == SENDER_TLS_STARTTLS || mode == SENDER_TLS_STARTTLS_IF_AVAILABLE)) {
        if (s->starttls) {
            sender_session_send_line(s, "STARTTLS", FALSE, on_starttls);
            return;
        }
        if (mode == SENDER_TLS_STARTTLS) {
            target_failed(s, "530 5.7.0 the server does not offer STARTTLS", FALSE);
            return;
        }
    }
    if (s->route->user != NULL) {
        authenticate(s);
        return;
    }
    s->ready = TRUE;
    sender_txn_next(s);
}

/* ---- the job -------------------------------------------------------------- */

static void
dns_done(GObject *source, GAsyncResult *result, gpointer data)
{
    SenderSession *s = data;
    g_autoptr(GError) error = NULL;
    GPtrArray *targets = sender_dns_lookup_finish(result, &error);

    disarm(s);
    if (targets == NULL) {
        g_autofree char *text = NULL;
        SenderResult kind = SENDER_RESULT_TEMPORARY;
        if (g_error_matches(error, SENDER_DNS_ERROR, SENDER_DNS_ERROR_NOT_FOUND)) {
            text = g_strdup_printf("550 5.1.2 %s", error->message);
            kind = SENDER_RESULT_PERMANENT;
        } else if (g_error_matches(error, SENDER_DNS_ERROR, SENDER_DNS_ERROR_NULL_MX)) {
            text = g_strdup_printf("556 5.1.10 %s", error->message);
            kind = SENDER_RESULT_PERMANENT;
        } else if (s->stopped || s->timed_out) {
            text = io_error_text(s, error, "looking up the mail servers");
        } else {
            text = g_strdup_printf("451 4.4.3 %s", error->message);
        }
        pr_log_event(G_LOG_LEVEL_MESSAGE, "SENDER_DNS_FAILED", "domain %s: %s", s->job->domain,
                     text);
        sender_session_fail_all(s, kind, text);
        return;
    }
    g_ptr_array_unref(s->targets);
    s->targets = targets;
    connect_next(s);
}

static gboolean
begin(gpointer data)
{
    SenderSession *s = data;
    SenderJob *job = s->job;

    g_clear_pointer(&s->idle, g_source_unref);
    if (s->stopped) {
        sender_session_fail_all(s, SENDER_RESULT_RELEASE, NULL);
        return G_SOURCE_REMOVE;
    }
    if (job->route->direct && job->forced == NULL) {
        sender_session_arm(s, s->sender->config->command_timeout);
        sender_dns_lookup_async(s->sender->config, job->domain, s->cancellable, dns_done, s);
        return G_SOURCE_REMOVE;
    }
    if (job->forced != NULL)
        g_ptr_array_add(s->targets, sender_target_copy(job->forced));
    else
        for (guint i = 0; i < job->route->servers->len; i++)
            g_ptr_array_add(s->targets, sender_target_copy(job->route->servers->pdata[i]));
    connect_next(s);
    return G_SOURCE_REMOVE;
}

SenderSession *
sender_session_start(Sender *sender, SenderJob *job)
{
    SenderSession *s = g_new0(SenderSession, 1);

    s->sender = sender;
    s->job = sender_job_ref(job);
    s->route = job->route;
    s->cancellable = g_cancellable_new();
    s->targets = g_ptr_array_new_with_free_func((GDestroyNotify)sender_target_free);
    s->inbuf = g_byte_array_new();
    s->lines = g_ptr_array_new_with_free_func(g_free);
    s->cmds = g_ptr_array_new_with_free_func((GDestroyNotify)sender_txn_cmd_free);
    s->accepted = g_ptr_array_new();
    /* From an idle, so that the caller has registered the session before
     * anything can end it. */
    s->idle = g_idle_source_new();
    g_source_set_callback(s->idle, begin, s, NULL);
    g_source_attach(s->idle, NULL);
    return s;
}

/* Stops at shutdown. A message whose data has been sent waits for its final
 * reply unless @force: giving it back unanswered could deliver it twice. */
void
sender_session_stop(SenderSession *s, gboolean force)
{
    s->stopped = TRUE;
    if (!s->final_dot || force)
        g_cancellable_cancel(s->cancellable);
}

void
sender_session_free(SenderSession *s)
{
    disarm(s);
    if (s->idle != NULL) {
        g_source_destroy(s->idle);
        g_source_unref(s->idle);
    }
    close_connection(s);
    g_clear_object(&s->cancellable);
    g_ptr_array_unref(s->targets);
    g_byte_array_unref(s->inbuf);
    g_ptr_array_unref(s->lines);
    g_ptr_array_unref(s->cmds);
    g_ptr_array_unref(s->accepted);
    g_clear_pointer(&s->wbuf, g_bytes_unref);
    g_free(s->remote);
    g_free(s->last_error);
    sender_job_unref(s->job);
    g_free(s);
}
