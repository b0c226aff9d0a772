/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The POP3 client (see collector-pop3.h). One command is answered at a
 * time (the current one, p->task); single commands asked for meanwhile wait
 * in p->queue, already written when the server takes pipelined commands.
 * At most one read and one write are in flight, and the client is freed
 * only when neither is. A timer bounds every wait and cancels the
 * connection's operations when it runs out. */

#include "postroom-config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "collector-pop3.h"

#define READ_SIZE 16384
/* A header section (TOP n 0) is read at most this far. */
#define TOP_MAX_SIZE (1024 * 1024)

G_DEFINE_QUARK(collector - pop3 - error - quark, collector_pop3_error)

typedef enum {
    BODY_NONE,
    BODY_LISTING,
    BODY_MESSAGE,
} BodyKind;

typedef void (*ReplyFunc)(CollectorPop3 *p);

/* A single command waiting for the current one to be answered. */
typedef struct {
    GTask *task;
    char *line;
    const char *what;
    BodyKind body;
    gsize body_max;
    CollectorNulPolicy nul;
    char nul_char;
    ReplyFunc on_reply;
    gboolean sent; /* written already (pipelining) */
    gboolean top;  /* a TOP command */
} Queued;

struct _CollectorPop3 {
    char *server;
    guint16 port;
    CollectorTls tls;
    gboolean verify;
    GTlsDatabase *ca;
    CollectorAuth auth;
    char *username;
    char *password;
    guint connect_timeout;
    guint command_timeout;
    char *description;

    GCancellable *cancellable; /* of the read and write in flight: the timer and abort cancel it */
    GSource *timer;
    gboolean timed_out;
    gboolean aborted;
    GError *dead; /* the connection is unusable: every later command fails with this */

    GSocketConnection *socket;
    GIOStream *stream; /* the socket, or TLS over it */
    gboolean tls_active;
    GByteArray *inbuf;
    guint8 chunk[READ_SIZE];
    GBytes *wbuf;         /* the write in flight */
    gboolean wbuf_secret; /* it holds a password: wiped afterwards */
    GString *wpending;    /* lines to write after it */
    gboolean wpending_secret;
    gboolean writing;
    gboolean read_after_write; /* command(): the reply is read once the line is out */
    gboolean close_waits;      /* close_async() waits for the write in flight */
    gboolean pipelining;       /* CAPA PIPELINING (RFC 2449): queued commands go out at once */
    gboolean no_pipelining;    /* the options forbid it */
    GQueue queue;              /* Queued*: single commands after the current one */
    GSource *resume;           /* starts the next queued command */
    char *apop_stamp;
    gboolean capa_known;
    CollectorCapa capa;
    gboolean top_refused; /* a TOP was answered -ERR: later ones are not sent */

    /* the command in flight */
    GTask *task;
    const char *what;  /* what is being waited for, for error texts */
    gboolean task_top; /* it is a TOP */
    ReplyFunc on_reply;
    BodyKind body;
    gsize body_max;
    CollectorNulPolicy body_nul;
    char body_nul_char;
    gboolean in_body;
    CollectorStatus status;
    CollectorMultiline ml;
    GPtrArray *uidl; /* listing: the UIDL lines while LIST runs */
};

/* ---- plumbing ------------------------------------------------------------- */

static gboolean
timer_fired(gpointer data)
{
    CollectorPop3 *p = data;

    g_clear_pointer(&p->timer, g_source_unref);
    p->timed_out = TRUE;
    g_cancellable_cancel(p->cancellable);
    return G_SOURCE_REMOVE;
}

static void
disarm(CollectorPop3 *p)
{
    if (p->timer != NULL) {
        g_source_destroy(p->timer);
        g_clear_pointer(&p->timer, g_source_unref);
    }
}

static void
arm(CollectorPop3 *p, guint seconds)
{
    disarm(p);
    p->timer = g_timeout_source_new_seconds(MAX(seconds, 1));
    g_source_set_callback(p->timer, timer_fired, p, NULL);
    g_source_attach(p->timer, NULL);
}

static void
drop_connection(CollectorPop3 *p)
{
    /* A write in flight (pipelined lines) ends with an error soon; its
     * callback still comes, so the client lives until it has. */
    if (p->writing)
        g_cancellable_cancel(p->cancellable);
    /* A stream closed synchronously only shuts the socket down; nothing
     * waits on the network (TLS close_notify is skipped). */
    if (p->stream != NULL) {
        g_io_stream_close(p->stream, NULL, NULL);
        g_clear_object(&p->stream);
    }
    if (p->socket != NULL) {
        g_io_stream_close(G_IO_STREAM(p->socket), NULL, NULL);
        g_clear_object(&p->socket);
    }
    g_byte_array_set_size(p->inbuf, 0);
    p->tls_active = FALSE;
}

static gboolean resume_cb(gpointer data);

/* The current command's task, to be returned; the next queued command
 * starts from the main loop right after (its caller may queue more from
 * the callback, behind it). */
static GTask *
take_task(CollectorPop3 *p)
{
    GTask *task = g_steal_pointer(&p->task);

    disarm(p);
    p->on_reply = NULL;
    p->task_top = FALSE;
    p->read_after_write = FALSE;
    p->in_body = FALSE;
    p->body = BODY_NONE;
    collector_multiline_clear(&p->ml);
    g_clear_pointer(&p->uidl, g_ptr_array_unref);
    if (!g_queue_is_empty(&p->queue) && p->resume == NULL) {
        p->resume = g_idle_source_new();
        g_source_set_callback(p->resume, resume_cb, p, NULL);
        g_source_attach(p->resume, NULL);
    }
    return task;
}

/* Ends the command with @error; the connection stays usable. */
static void
command_failed(CollectorPop3 *p, GError *error)
{
    g_autoptr(GTask) task = take_task(p);

    g_task_return_error(task, error);
}

/* Ends the command with @error and the connection with it. */
static void
connection_failed(CollectorPop3 *p, GError *error)
{
    g_autoptr(GTask) task = take_task(p);

    drop_connection(p);
    if (p->dead == NULL)
        p->dead = g_error_copy(error);
    g_task_return_error(task, error);
}

/* The administrator's words for what went wrong with the connection. */
static GError *
io_error(CollectorPop3 *p, const GError *io)
{
    const char *what = p->what != NULL ? p->what : _("waiting for the server");

    if (p->aborted)
        return g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_CANCELLED,
                           _("The session was stopped (%s)"), what);
    if (p->timed_out || g_error_matches(io, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        return g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_TIMEOUT,
                           _("The server did not answer in time (%s)"), what);
    if (io == NULL || g_error_matches(io, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) ||
        g_error_matches(io, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE) ||
        g_error_matches(io, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED))
        return g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_CLOSED,
                           _("The server connection was closed unexpectedly (%s)"), what);
    if (g_error_matches(io, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
        return g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_CONNECT,
                           _("The server refused the connection: nothing listens on port %u of "
                             "%s, or a firewall blocks it"),
                           p->port, p->server);
    if (io->domain == G_RESOLVER_ERROR)
        return g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_CONNECT,
                           _("The server's name %s could not be found (%s)"), p->server,
                           io->message);
    if (g_error_matches(io, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE) ||
        g_error_matches(io, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE))
        return g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_CONNECT,
                           _("The server cannot be reached over the network (%s)"), io->message);
    if (io->domain == G_TLS_ERROR)
        return g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_TLS,
                           _("The encrypted connection could not be set up: %s"), io->message);
    if (p->stream == NULL)
        return g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_CONNECT,
                           _("Could not connect to the server: %s"), io->message);
    return g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_CLOSED,
                       _("The connection to the server failed (%s): %s"), what, io->message);
}

static void
io_failed(CollectorPop3 *p, const GError *io)
{
    /* A pipelined write that failed first said what went wrong. */
    connection_failed(p, p->dead != NULL ? g_error_copy(p->dead) : io_error(p, io));
}

/* "-ERR [CODE] text" as the server sent it, for the administrator. */
static char *
server_said(const CollectorStatus *st)
{
    if (st->code != NULL)
        return g_strdup_printf("-ERR [%s] %s", st->code, st->text);
    return g_strdup_printf("-ERR %s", st->text);
}

static void
refused(CollectorPop3 *p, CollectorPop3Error code, const char *format_what)
{
    g_autofree char *said = server_said(&p->status);

    command_failed(p, g_error_new(COLLECTOR_POP3_ERROR, code, "%s: %s", format_what, said));
}

static void
protocol_error(CollectorPop3 *p, const char *detail)
{
    connection_failed(p, g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_PROTOCOL,
                                     _("The server's reply broke the POP3 protocol (%s): %s"),
                                     p->what != NULL ? p->what : "", detail));
}

/* Starts a command: FALSE (and the callback gets the error) if the
 * connection is already gone. */
static gboolean
begin(CollectorPop3 *p, gpointer tag, GAsyncReadyCallback callback, gpointer user_data)
{
    /* Steps of several commands (login, listing) run alone. */
    g_return_val_if_fail(p->task == NULL && g_queue_is_empty(&p->queue), FALSE);
    p->task = g_task_new(NULL, NULL, callback, user_data);
    g_task_set_source_tag(p->task, tag);
    if (p->dead != NULL) {
        command_failed(p, g_error_copy(p->dead));
        return FALSE;
    }
    if (p->stream == NULL && tag != collector_pop3_login_async) {
        command_failed(
            p, g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_CLOSED, _("Not connected")));
        return FALSE;
    }
    return TRUE;
}

/* ---- replies ---------------------------------------------------------------- */

static void parse_buffer(CollectorPop3 *p);

static void
read_done(GObject *source, GAsyncResult *result, gpointer data)
{
    CollectorPop3 *p = data;
    g_autoptr(GError) error = NULL;
    gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), result, &error);

    if (n <= 0) {
        io_failed(p, error);
        return;
    }
    g_byte_array_append(p->inbuf, p->chunk, (guint)n);
    parse_buffer(p);
}

static void
read_more(CollectorPop3 *p)
{
    /* Re-armed at every read: a long message may take long, a stall may not. */
    arm(p, p->command_timeout);
    g_input_stream_read_async(g_io_stream_get_input_stream(p->stream), p->chunk, sizeof p->chunk,
                              G_PRIORITY_DEFAULT, p->cancellable, read_done, p);
}

/* A reply is a status line and, for some commands after +OK, a
 * multi-line body that follows it in the same buffer. */
static void
parse_buffer(CollectorPop3 *p)
{
    g_autofree char *error = NULL;
    CollectorRead r = COLLECTOR_READ_MORE;

    if (!p->in_body) {
        r = collector_reply_status(p->inbuf, &p->status, &error);
        if (r == COLLECTOR_READ_DONE && p->body != BODY_NONE &&
            p->status.kind == COLLECTOR_STATUS_OK) {
            if (p->body == BODY_LISTING)
                collector_multiline_init_listing(&p->ml);
            else
                collector_multiline_init_message(&p->ml, p->body_max, p->body_nul,
                                                 p->body_nul_char);
            p->in_body = TRUE;
        }
    }
    if (p->in_body)
        r = collector_multiline_take(&p->ml, p->inbuf, &error);
    switch (r) {
    case COLLECTOR_READ_MORE:
        read_more(p);
        return;
    case COLLECTOR_READ_MALFORMED:
        protocol_error(p, error);
        return;
    case COLLECTOR_READ_DONE: {
        ReplyFunc func = p->on_reply;
        disarm(p);
        p->in_body = FALSE;
        p->on_reply = NULL;
        func(p);
        return;
    }
    }
}

static void
read_reply(CollectorPop3 *p, BodyKind body, ReplyFunc func)
{
    p->body = body;
    p->on_reply = func;
    p->in_body = FALSE;
    parse_buffer(p);
}

static void start_close(CollectorPop3 *p);
static void flush_writes(CollectorPop3 *p);

static void
wipe_wbuf(CollectorPop3 *p)
{
    if (p->wbuf == NULL)
        return;
    if (p->wbuf_secret) {
        gsize len = 0;
        char *text = g_bytes_unref_to_data(g_steal_pointer(&p->wbuf), &len);
        explicit_bzero(text, len);
        g_free(text);
    }
    g_clear_pointer(&p->wbuf, g_bytes_unref);
    p->wbuf_secret = FALSE;
}

static void
write_done(GObject *source, GAsyncResult *result, gpointer data)
{
    CollectorPop3 *p = data;
    g_autoptr(GError) error = NULL;
    gboolean ok = g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), result, NULL, &error);

    wipe_wbuf(p);
    p->writing = FALSE;
    if (ok && p->stream != NULL && p->wpending->len > 0) {
        flush_writes(p);
        return;
    }
    if (p->close_waits) {
        p->close_waits = FALSE;
        start_close(p);
        return;
    }
    if (!ok && p->read_after_write) {
        p->read_after_write = FALSE;
        io_failed(p, error);
        return;
    }
    if (!ok) {
        /* Pipelined lines: the replies being waited for will not come. The
         * read in flight, if any, fails with this error (io_failed()). */
        if (p->dead == NULL)
            p->dead = io_error(p, error);
        g_cancellable_cancel(p->cancellable);
        return;
    }
    if (p->read_after_write) {
        p->read_after_write = FALSE;
        read_reply(p, p->body, p->on_reply);
    }
}

/* Hands what waits in p->wpending to the stream, unless a write is in
 * flight (its callback comes back for the rest). */
static void
flush_writes(CollectorPop3 *p)
{
    if (p->writing || p->wpending->len == 0 || p->stream == NULL)
        return;
    gsize len = p->wpending->len;
    char *text = g_string_free(g_steal_pointer(&p->wpending), FALSE);
    p->wpending = g_string_new(NULL);
    p->wbuf = g_bytes_new_take(text, len);
    p->wbuf_secret = p->wpending_secret;
    p->wpending_secret = FALSE;
    p->writing = TRUE;
    g_output_stream_write_all_async(g_io_stream_get_output_stream(p->stream), text, len,
                                    G_PRIORITY_DEFAULT, p->cancellable, write_done, p);
}

static void
send_line(CollectorPop3 *p, const char *line, gboolean secret)
{
    g_debug("%s -> %s", p->description, secret ? "***" : line);
    g_string_append(p->wpending, line);
    g_string_append(p->wpending, "\r\n");
    p->wpending_secret = p->wpending_secret || secret;
    flush_writes(p);
}

/* Sends @line and reads the reply (with a body after +OK, as @body says)
 * once it is written. */
static void
command(CollectorPop3 *p, const char *line, gboolean secret, const char *what, BodyKind body,
        ReplyFunc func)
{
    p->what = what;
    p->body = body;
    p->on_reply = func;
    p->read_after_write = TRUE;
    arm(p, p->command_timeout);
    send_line(p, line, secret);
}

/* ---- single commands, queued --------------------------------------------- */

static void
queued_free(Queued *q)
{
    g_clear_object(&q->task);
    g_free(q->line);
    g_free(q);
}

/* Some servers lack TOP (it is optional, RFC 1939 §7) and answer -ERR:
 * once one TOP was refused, those not sent yet fail with this at once. */
static GError *
top_unsupported(void)
{
    return g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_UNSUPPORTED,
                       _("The server does not support TOP"));
}

/* Makes the first queued command the current one: its reply is read (it
 * went out already) or it is sent now. */
static void
start_next(CollectorPop3 *p)
{
    Queued *q = g_queue_pop_head(&p->queue);

    if (q == NULL)
        return;
    g_assert(p->task == NULL);
    p->task = g_steal_pointer(&q->task);
    p->task_top = q->top;
    p->body_max = q->body_max;
    p->body_nul = q->nul;
    p->body_nul_char = q->nul_char;
    if (p->dead != NULL) {
        command_failed(p, g_error_copy(p->dead));
    } else if (p->stream == NULL) {
        command_failed(
            p, g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_CLOSED, _("Not connected")));
    } else if (q->top && p->top_refused && !q->sent) {
        command_failed(p, top_unsupported());
    } else if (q->sent) {
        p->what = q->what;
        read_reply(p, q->body, q->on_reply);
    } else {
        command(p, q->line, FALSE, q->what, q->body, q->on_reply);
    }
    queued_free(q);
}

static gboolean
resume_cb(gpointer data)
{
    CollectorPop3 *p = data;

    g_clear_pointer(&p->resume, g_source_unref);
    if (p->task == NULL)
        start_next(p);
    return G_SOURCE_REMOVE;
}

/* A command of one line and one reply. It waits behind the commands asked
 * for before it; when the server takes pipelined commands it is written at
 * once, so that the server never waits for the client's next command. */
static void
enqueue(CollectorPop3 *p, gpointer tag, GAsyncReadyCallback callback, gpointer user_data,
        const char *line, const char *what, BodyKind body, gsize body_max, CollectorNulPolicy nul,
        char nul_char, ReplyFunc func)
{
    Queued *q = g_new0(Queued, 1);

    q->task = g_task_new(NULL, NULL, callback, user_data);
    g_task_set_source_tag(q->task, tag);
    q->line = g_strdup(line);
    q->what = what;
    q->body = body;
    q->body_max = body_max;
    q->nul = nul;
    q->nul_char = nul_char;
    q->on_reply = func;
    q->top = tag == collector_pop3_fetch_async && g_str_has_prefix(line, "TOP ");
    if (p->pipelining && p->dead == NULL && p->stream != NULL && !(q->top && p->top_refused)) {
        send_line(p, line, FALSE);
        q->sent = TRUE;
    }
    g_queue_push_tail(&p->queue, q);
    if (p->task == NULL)
        start_next(p);
}

/* ---- connecting and logging in ------------------------------------------------ */

static void after_tls(CollectorPop3 *p);
static void on_greeting(CollectorPop3 *p);

static void
login_done(CollectorPop3 *p)
{
    g_autoptr(GTask) task = take_task(p);

    /* RFC 2449 §6.6: the server reads commands as they come. */
    p->pipelining = p->capa_known && p->capa.pipelining && !p->no_pipelining;
    g_debug("%s: logged in as %s%s", p->description, p->username,
            p->pipelining ? " (pipelining)" : "");
    g_task_return_boolean(task, TRUE);
}

static void
on_auth_final(CollectorPop3 *p)
{
    if (p->status.kind != COLLECTOR_STATUS_OK) {
        g_autofree char *what =
            g_strdup_printf(_("The server did not accept the login as %s"), p->username);
        /* A continuation here means a mechanism we do not speak further. */
        if (p->status.kind == COLLECTOR_STATUS_CONTINUE) {
            command(p, "*", FALSE, _("cancelling the authentication"), BODY_NONE, on_auth_final);
            return;
        }
        refused(p, COLLECTOR_POP3_ERROR_AUTH, what);
        return;
    }
    login_done(p);
}

static void
on_user(CollectorPop3 *p)
{
    if (p->status.kind != COLLECTOR_STATUS_OK) {
        on_auth_final(p);
        return;
    }
    g_autofree char *line = g_strconcat("PASS ", p->password, NULL);
    command(p, line, TRUE, _("waiting for the answer to PASS"), BODY_NONE, on_auth_final);
    explicit_bzero(line, strlen(line));
}

static void
on_plain_continue(CollectorPop3 *p)
{
    if (p->status.kind != COLLECTOR_STATUS_CONTINUE) {
        on_auth_final(p);
        return;
    }
    gsize ulen = strlen(p->username), plen = strlen(p->password);
    g_autofree char *raw = g_malloc(ulen + plen + 2);
    raw[0] = '\0';
    memcpy(raw + 1, p->username, ulen);
    raw[ulen + 1] = '\0';
    memcpy(raw + ulen + 2, p->password, plen);
    g_autofree char *enc = g_base64_encode((const guchar *)raw, ulen + plen + 2);
    explicit_bzero(raw, ulen + plen + 2);
    command(p, enc, TRUE, _("waiting for the answer to AUTH PLAIN"), BODY_NONE, on_auth_final);
    explicit_bzero(enc, strlen(enc));
}

char *
collector_pop3_cram_md5_response(const char *username, const char *password, const char *challenge,
                                 gsize challenge_len)
{
    g_autofree char *digest =
        g_compute_hmac_for_data(G_CHECKSUM_MD5, (const guchar *)password, strlen(password),
                                (const guchar *)challenge, challenge_len);
    return g_strconcat(username, " ", digest, NULL);
}

char *
collector_pop3_apop_digest(const char *timestamp, const char *password)
{
    g_autofree char *text = g_strconcat(timestamp, password, NULL);
    char *digest = g_compute_checksum_for_string(G_CHECKSUM_MD5, text, -1);

    explicit_bzero(text, strlen(text));
    return digest;
}

static void
on_cram_challenge(CollectorPop3 *p)
{
    if (p->status.kind != COLLECTOR_STATUS_CONTINUE) {
        on_auth_final(p);
        return;
    }
    gsize len = 0;
    g_autofree guchar *challenge = g_base64_decode(p->status.text, &len);
    if (len == 0) {
        protocol_error(p, _("the CRAM-MD5 challenge is not base64"));
        return;
    }
    g_autofree char *response =
        collector_pop3_cram_md5_response(p->username, p->password, (const char *)challenge, len);
    g_autofree char *enc = g_base64_encode((const guchar *)response, strlen(response));
    command(p, enc, TRUE, _("waiting for the answer to AUTH CRAM-MD5"), BODY_NONE, on_auth_final);
}

static void
authenticate(CollectorPop3 *p)
{
    switch (p->auth) {
    case COLLECTOR_AUTH_USER: {
        g_autofree char *line = g_strconcat("USER ", p->username, NULL);
        command(p, line, FALSE, _("waiting for the answer to USER"), BODY_NONE, on_user);
        return;
    }
    case COLLECTOR_AUTH_APOP: {
        if (p->apop_stamp == NULL) {
            command_failed(p, g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_UNSUPPORTED,
                                          _("The server does not offer APOP (its greeting has "
                                            "no timestamp)")));
            return;
        }
        g_autofree char *digest = collector_pop3_apop_digest(p->apop_stamp, p->password);
        g_autofree char *line = g_strdup_printf("APOP %s %s", p->username, digest);
        command(p, line, TRUE, _("waiting for the answer to APOP"), BODY_NONE, on_auth_final);
        return;
    }
    case COLLECTOR_AUTH_PLAIN:
        if (p->capa_known && !p->capa.sasl_plain)
            g_debug("%s: CAPA does not list SASL PLAIN; trying it anyway", p->description);
        command(p, "AUTH PLAIN", FALSE, _("waiting for the answer to AUTH PLAIN"), BODY_NONE,
                on_plain_continue);
        return;
    case COLLECTOR_AUTH_CRAM_MD5:
        command(p, "AUTH CRAM-MD5", FALSE, _("waiting for the answer to AUTH CRAM-MD5"), BODY_NONE,
                on_cram_challenge);
        return;
    }
}

static gboolean
accept_certificate(GTlsConnection *conn, GTlsCertificate *cert, GTlsCertificateFlags errors,
                   gpointer data)
{
    CollectorPop3 *p = data;

    return !p->verify;
}

static void
handshake_done(GObject *source, GAsyncResult *result, gpointer data)
{
    CollectorPop3 *p = data;
    g_autoptr(GError) error = NULL;
    GIOStream *tls = G_IO_STREAM(source);

    if (!g_tls_connection_handshake_finish(G_TLS_CONNECTION(tls), result, &error)) {
        g_object_unref(tls);
        io_failed(p, error);
        return;
    }
    g_clear_object(&p->stream);
    p->stream = tls;
    p->tls_active = TRUE;
    g_free(p->description);
    p->description = g_strdup_printf("%s:%u (TLS)", p->server, p->port);
    after_tls(p);
}

static void
start_tls(CollectorPop3 *p)
{
    g_autoptr(GSocketConnectable) identity = g_network_address_new(p->server, p->port);
    g_autoptr(GError) error = NULL;
    GIOStream *tls = g_tls_client_connection_new(p->stream, identity, &error);

    if (tls == NULL) {
        connection_failed(p, g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_TLS,
                                         _("TLS is not available: %s"), error->message));
        return;
    }
    if (p->ca != NULL)
        g_tls_connection_set_database(G_TLS_CONNECTION(tls), p->ca);
    g_tls_connection_set_require_close_notify(G_TLS_CONNECTION(tls), FALSE);
    g_signal_connect(tls, "accept-certificate", G_CALLBACK(accept_certificate), p);
    p->what = _("in the TLS handshake");
    arm(p, p->command_timeout);
    g_tls_connection_handshake_async(G_TLS_CONNECTION(tls), G_PRIORITY_DEFAULT, p->cancellable,
                                     handshake_done, p);
}

static void
on_stls(CollectorPop3 *p)
{
    if (p->status.kind != COLLECTOR_STATUS_OK) {
        if (p->tls == COLLECTOR_TLS_STLS) {
            refused(p, COLLECTOR_POP3_ERROR_UNSUPPORTED, _("The server refused STLS"));
            return;
        }
        authenticate(p);
        return;
    }
    /* RFC 2595 §4 (and CVE-2011-0411): nothing read before the handshake
     * may be taken for a reply after it. */
    if (p->inbuf->len > 0) {
        protocol_error(p, _("data after the STLS reply"));
        return;
    }
    start_tls(p);
}

static void
on_capa(CollectorPop3 *p)
{
    if (p->status.kind == COLLECTOR_STATUS_OK) {
        collector_capa_parse(p->ml.lines, &p->capa);
        p->capa_known = TRUE;
    } else {
        memset(&p->capa, 0, sizeof p->capa);
        p->capa_known = FALSE;
    }
    collector_multiline_clear(&p->ml);
    if (!p->tls_active && p->tls == COLLECTOR_TLS_STLS) {
        if (p->capa_known && !p->capa.stls) {
            command_failed(p, g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_UNSUPPORTED,
                                          _("The server does not offer STLS, which the "
                                            "collector's settings require")));
            return;
        }
        command(p, "STLS", FALSE, _("waiting for the answer to STLS"), BODY_NONE, on_stls);
        return;
    }
    if (!p->tls_active && p->tls == COLLECTOR_TLS_STLS_IF_AVAILABLE && p->capa.stls) {
        command(p, "STLS", FALSE, _("waiting for the answer to STLS"), BODY_NONE, on_stls);
        return;
    }
    authenticate(p);
}

static void
send_capa(CollectorPop3 *p)
{
    command(p, "CAPA", FALSE, _("waiting for the answer to CAPA"), BODY_LISTING, on_capa);
}

/* RFC 2595 §4: what the server said before TLS is forgotten. */
static void
after_tls(CollectorPop3 *p)
{
    memset(&p->capa, 0, sizeof p->capa);
    p->capa_known = FALSE;
    if (p->tls == COLLECTOR_TLS_IMPLICIT) {
        p->what = _("waiting for the greeting");
        read_reply(p, BODY_NONE, on_greeting);
        return;
    }
    send_capa(p);
}

static void
on_greeting(CollectorPop3 *p)
{
    if (p->status.kind != COLLECTOR_STATUS_OK) {
        g_autofree char *said = server_said(&p->status);
        connection_failed(p, g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_REFUSED,
                                         _("The server refused the session: %s"), said));
        return;
    }
    g_clear_pointer(&p->apop_stamp, g_free);
    p->apop_stamp = collector_apop_timestamp(p->status.text);
    send_capa(p);
}

static void
connected(GObject *source, GAsyncResult *result, gpointer data)
{
    CollectorPop3 *p = data;
    g_autoptr(GError) error = NULL;
    GSocketConnection *conn =
        g_socket_client_connect_finish(G_SOCKET_CLIENT(source), result, &error);

    if (conn == NULL) {
        io_failed(p, error);
        return;
    }
    /* Our own timer bounds every step from here on. */
    g_socket_set_timeout(g_socket_connection_get_socket(conn), 0);
    p->socket = conn;
    p->stream = G_IO_STREAM(g_object_ref(conn));
    g_debug("%s: connected", p->description);
    if (p->tls == COLLECTOR_TLS_IMPLICIT) {
        start_tls(p);
        return;
    }
    p->what = _("waiting for the greeting");
    read_reply(p, BODY_NONE, on_greeting);
}

void
collector_pop3_login_async(CollectorPop3 *p, GAsyncReadyCallback callback, gpointer user_data)
{
    if (!begin(p, collector_pop3_login_async, callback, user_data))
        return;
    g_return_if_fail(p->stream == NULL);
    g_autoptr(GSocketClient) client = g_socket_client_new();
    g_socket_client_set_timeout(client, p->connect_timeout);
    /* Straight to the ISP, never through a desktop's proxy. */
    g_socket_client_set_enable_proxy(client, FALSE);
    p->what = _("connecting");
    arm(p, p->connect_timeout + 5);
    g_socket_client_connect_to_host_async(client, p->server, p->port, p->cancellable, connected, p);
}

gboolean
collector_pop3_login_finish(CollectorPop3 *p, GAsyncResult *result, GError **error)
{
    return g_task_propagate_boolean(G_TASK(result), error);
}

/* ---- commands -------------------------------------------------------------- */

typedef struct {
    guint count;
    guint64 size;
} Stat;

static void
on_stat(CollectorPop3 *p)
{
    Stat st = { 0 };

    if (p->status.kind != COLLECTOR_STATUS_OK) {
        refused(p, COLLECTOR_POP3_ERROR_REFUSED, _("The server refused STAT"));
        return;
    }
    if (!collector_parse_stat(p->status.text, &st.count, &st.size)) {
        protocol_error(p, p->status.text);
        return;
    }
    g_autoptr(GTask) task = take_task(p);
    g_task_return_pointer(task, g_memdup2(&st, sizeof st), g_free);
}

void
collector_pop3_stat_async(CollectorPop3 *p, GAsyncReadyCallback callback, gpointer user_data)
{
    enqueue(p, collector_pop3_stat_async, callback, user_data, "STAT",
            _("waiting for the answer to STAT"), BODY_NONE, 0, COLLECTOR_NUL_REFUSE, ' ', on_stat);
}

gboolean
collector_pop3_stat_finish(CollectorPop3 *p, GAsyncResult *result, guint *count, guint64 *size,
                           GError **error)
{
    g_autofree Stat *st = g_task_propagate_pointer(G_TASK(result), error);

    if (st == NULL)
        return FALSE;
    *count = st->count;
    *size = st->size;
    return TRUE;
}

static void
entry_free(gpointer data)
{
    CollectorPop3Entry *e = data;

    if (e == NULL)
        return;
    g_free(e->uid);
    g_free(e);
}

static int
entry_compare(gconstpointer a, gconstpointer b)
{
    const CollectorPop3Entry *x = *(CollectorPop3Entry *const *)a;
    const CollectorPop3Entry *y = *(CollectorPop3Entry *const *)b;

    return x->msgno < y->msgno ? -1 : x->msgno > y->msgno;
}

static void
on_list(CollectorPop3 *p)
{
    if (p->status.kind != COLLECTOR_STATUS_OK) {
        refused(p, COLLECTOR_POP3_ERROR_REFUSED, _("The server refused LIST"));
        return;
    }
    g_autoptr(GHashTable) sizes =
        g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    for (guint i = 0; i < p->ml.lines->len; i++) {
        guint msgno;
        guint64 size;
        if (!collector_parse_list_line(p->ml.lines->pdata[i], &msgno, &size)) {
            protocol_error(p, p->ml.lines->pdata[i]);
            return;
        }
        g_hash_table_replace(sizes, GUINT_TO_POINTER(msgno), g_memdup2(&size, sizeof size));
    }

    /* Number -> UID, UID -> how often listed. */
    g_autoptr(GHashTable) uid_count = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) by_number = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func(entry_free);
    for (guint i = 0; i < p->uidl->len; i++) {
        guint msgno;
        char *uid = NULL;
        if (!collector_parse_uidl_line(p->uidl->pdata[i], &msgno, &uid)) {
            protocol_error(p, p->uidl->pdata[i]);
            return;
        }
        if (g_hash_table_contains(by_number, GUINT_TO_POINTER(msgno))) {
            g_free(uid);
            continue;
        }
        CollectorPop3Entry *e = g_new0(CollectorPop3Entry, 1);
        e->msgno = msgno;
        e->uid = uid;
        const guint64 *size = g_hash_table_lookup(sizes, GUINT_TO_POINTER(msgno));
        e->size = size != NULL ? *size : 0;
        g_hash_table_insert(by_number, GUINT_TO_POINTER(msgno), e);
        g_hash_table_insert(
            uid_count, e->uid,
            GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(uid_count, e->uid)) + 1));
        g_ptr_array_add(entries, e);
    }
    GPtrArray *result = g_ptr_array_new_with_free_func(entry_free);
    for (guint i = 0; i < entries->len; i++) {
        CollectorPop3Entry *e = entries->pdata[i];
        if (GPOINTER_TO_UINT(g_hash_table_lookup(uid_count, e->uid)) > 1) {
            g_message("%s: UID %s is listed for more than one message; those are left on the "
                      "server",
                      p->description, e->uid);
            continue;
        }
        entries->pdata[i] = NULL;
        g_ptr_array_add(result, e);
    }
    g_ptr_array_sort(result, entry_compare);
    g_autoptr(GTask) task = take_task(p);
    g_task_return_pointer(task, result, (GDestroyNotify)g_ptr_array_unref);
}

static void
on_uidl(CollectorPop3 *p)
{
    if (p->status.kind != COLLECTOR_STATUS_OK) {
        refused(p, COLLECTOR_POP3_ERROR_UNSUPPORTED,
                _("The server does not support UIDL, which collecting each message exactly "
                  "once needs"));
        return;
    }
    p->uidl = g_steal_pointer(&p->ml.lines);
    collector_multiline_clear(&p->ml);
    command(p, "LIST", FALSE, _("waiting for the answer to LIST"), BODY_LISTING, on_list);
}

void
collector_pop3_listing_async(CollectorPop3 *p, GAsyncReadyCallback callback, gpointer user_data)
{
    if (begin(p, collector_pop3_listing_async, callback, user_data))
        command(p, "UIDL", FALSE, _("waiting for the answer to UIDL"), BODY_LISTING, on_uidl);
}

GPtrArray *
collector_pop3_listing_finish(CollectorPop3 *p, GAsyncResult *result, GError **error)
{
    return g_task_propagate_pointer(G_TASK(result), error);
}

void
collector_pop3_message_free(CollectorPop3Message *m)
{
    if (m == NULL)
        return;
    g_clear_pointer(&m->data, g_bytes_unref);
    g_free(m);
}

static void
on_fetch(CollectorPop3 *p)
{
    if (p->status.kind != COLLECTOR_STATUS_OK) {
        if (p->task_top) {
            p->top_refused = TRUE;
            refused(p, COLLECTOR_POP3_ERROR_UNSUPPORTED,
                    _("The server could not send the message's header (TOP)"));
            return;
        }
        refused(p, COLLECTOR_POP3_ERROR_REFUSED, _("The server could not send the message"));
        return;
    }
    CollectorPop3Message *m = g_new0(CollectorPop3Message, 1);
    m->octets = p->ml.octets;
    m->nuls = p->ml.nuls;
    m->oversize = p->ml.oversize;
    m->data = g_byte_array_free_to_bytes(g_steal_pointer(&p->ml.data));
    g_autoptr(GTask) task = take_task(p);
    g_task_return_pointer(task, m, (GDestroyNotify)collector_pop3_message_free);
}

void
collector_pop3_fetch_async(CollectorPop3 *p, guint msgno, int top_lines, gsize max_size,
                           CollectorNulPolicy nul, char nul_char, GAsyncReadyCallback callback,
                           gpointer user_data)
{
    g_autofree char *line = top_lines < 0 ? g_strdup_printf("RETR %u", msgno)
                                          : g_strdup_printf("TOP %u %d", msgno, top_lines);
    gsize bound =
        top_lines < 0 ? max_size : (max_size > 0 ? MIN(max_size, TOP_MAX_SIZE) : TOP_MAX_SIZE);

    enqueue(p, collector_pop3_fetch_async, callback, user_data, line,
            top_lines < 0 ? _("downloading a message (RETR)")
                          : _("downloading a message's header (TOP)"),
            BODY_MESSAGE, bound, nul, nul_char, on_fetch);
}

CollectorPop3Message *
collector_pop3_fetch_finish(CollectorPop3 *p, GAsyncResult *result, GError **error)
{
    return g_task_propagate_pointer(G_TASK(result), error);
}

static void
on_dele(CollectorPop3 *p)
{
    if (p->status.kind != COLLECTOR_STATUS_OK) {
        refused(p, COLLECTOR_POP3_ERROR_REFUSED, _("The server refused to delete a message"));
        return;
    }
    g_autoptr(GTask) task = take_task(p);
    g_task_return_boolean(task, TRUE);
}

void
collector_pop3_dele_async(CollectorPop3 *p, guint msgno, GAsyncReadyCallback callback,
                          gpointer user_data)
{
    g_autofree char *line = g_strdup_printf("DELE %u", msgno);

    enqueue(p, collector_pop3_dele_async, callback, user_data, line,
            _("waiting for the answer to DELE"), BODY_NONE, 0, COLLECTOR_NUL_REFUSE, ' ', on_dele);
}

gboolean
collector_pop3_dele_finish(CollectorPop3 *p, GAsyncResult *result, GError **error)
{
    return g_task_propagate_boolean(G_TASK(result), error);
}

static void
on_quit(CollectorPop3 *p)
{
    gboolean ok = p->status.kind == COLLECTOR_STATUS_OK;

    if (!ok) {
        refused(p, COLLECTOR_POP3_ERROR_REFUSED,
                _("The server could not remove the deleted messages"));
        return;
    }
    g_autoptr(GTask) task = take_task(p);
    g_task_return_boolean(task, TRUE);
}

void
collector_pop3_quit_async(CollectorPop3 *p, GAsyncReadyCallback callback, gpointer user_data)
{
    enqueue(p, collector_pop3_quit_async, callback, user_data, "QUIT",
            _("waiting for the answer to QUIT"), BODY_NONE, 0, COLLECTOR_NUL_REFUSE, ' ', on_quit);
}

gboolean
collector_pop3_quit_finish(CollectorPop3 *p, GAsyncResult *result, GError **error)
{
    return g_task_propagate_boolean(G_TASK(result), error);
}

static void
close_done(GObject *source, GAsyncResult *result, gpointer data)
{
    CollectorPop3 *p = data;

    g_io_stream_close_finish(G_IO_STREAM(source), result, NULL);
    g_autoptr(GTask) task = take_task(p);
    drop_connection(p);
    if (p->dead == NULL)
        p->dead =
            g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_CLOSED, _("Not connected"));
    g_task_return_boolean(task, TRUE);
}

static void
start_close(CollectorPop3 *p)
{
    if (p->stream == NULL) {
        g_autoptr(GTask) task = take_task(p);
        g_task_return_boolean(task, TRUE);
        return;
    }
    /* TLS writes close_notify, which can wait on the network: bounded. */
    g_cancellable_reset(p->cancellable);
    arm(p, p->command_timeout);
    g_io_stream_close_async(p->stream, G_PRIORITY_DEFAULT, p->cancellable, close_done, p);
}

void
collector_pop3_close_async(CollectorPop3 *p, GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(p->task == NULL && g_queue_is_empty(&p->queue));
    p->task = g_task_new(NULL, NULL, callback, user_data);
    g_task_set_source_tag(p->task, collector_pop3_close_async);
    if (p->writing) {
        /* Pipelined lines whose replies came before the write's callback:
         * it comes in a moment (write_done() goes on here). */
        p->close_waits = TRUE;
        arm(p, p->command_timeout);
        return;
    }
    start_close(p);
}

void
collector_pop3_close_finish(CollectorPop3 *p, GAsyncResult *result)
{
    g_task_propagate_boolean(G_TASK(result), NULL);
}

/* ---- the object --------------------------------------------------------- */

CollectorPop3 *
collector_pop3_new(const CollectorPop3Options *o)
{
    CollectorPop3 *p = g_new0(CollectorPop3, 1);

    p->server = g_strdup(o->server);
    p->port = o->port;
    p->tls = o->tls;
    p->verify = o->verify_cert;
    p->ca = o->ca != NULL ? g_object_ref(o->ca) : NULL;
    p->auth = o->auth;
    p->username = g_strdup(o->username != NULL ? o->username : "");
    p->password = g_strdup(o->password != NULL ? o->password : "");
    p->connect_timeout = MAX(o->connect_timeout, 1);
    p->command_timeout = MAX(o->command_timeout, 1);
    p->no_pipelining = o->no_pipelining;
    p->description = g_strdup_printf("%s:%u", p->server, p->port);
    p->cancellable = g_cancellable_new();
    p->inbuf = g_byte_array_new();
    p->wpending = g_string_new(NULL);
    g_queue_init(&p->queue);
    return p;
}

void
collector_pop3_abort(CollectorPop3 *p)
{
    p->aborted = TRUE;
    g_cancellable_cancel(p->cancellable);
}

void
collector_pop3_free(CollectorPop3 *p)
{
    if (p == NULL)
        return;
    /* Freed under a read or write, the client would be used by its
     * callback: leaked instead. */
    g_return_if_fail(p->task == NULL && g_queue_is_empty(&p->queue) && !p->writing);
    disarm(p);
    if (p->resume != NULL) {
        g_source_destroy(p->resume);
        g_clear_pointer(&p->resume, g_source_unref);
    }
    drop_connection(p);
    collector_status_clear(&p->status);
    collector_multiline_clear(&p->ml);
    g_clear_pointer(&p->uidl, g_ptr_array_unref);
    wipe_wbuf(p);
    explicit_bzero(p->wpending->str, p->wpending->len);
    g_string_free(p->wpending, TRUE);
    g_clear_object(&p->cancellable);
    g_clear_object(&p->ca);
    g_byte_array_unref(p->inbuf);
    g_clear_error(&p->dead);
    g_free(p->server);
    explicit_bzero(p->password, strlen(p->password));
    g_free(p->password);
    g_free(p->username);
    g_free(p->apop_stamp);
    g_free(p->description);
    g_free(p);
}

const char *
collector_pop3_describe(CollectorPop3 *p)
{
    return p->description;
}

gboolean
collector_pop3_is_tls(CollectorPop3 *p)
{
    return p->tls_active;
}

const CollectorCapa *
collector_pop3_get_capa(CollectorPop3 *p)
{
    return &p->capa;
}

gboolean
collector_pop3_is_pipelining(CollectorPop3 *p)
{
    return p->pipelining;
}

gboolean
collector_pop3_has_top(CollectorPop3 *p)
{
    return !p->top_refused && (!p->capa_known || p->capa.top);
}
