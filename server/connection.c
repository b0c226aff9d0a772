/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "connection.h"

#include <glib/gi18n-lib.h>

#include "hooks.h"
#include "line-reader.h"
#include "poller.h"
#include "tls.h"

/* One client connection: a bounded line reader, a command dispatcher that
 * checks states and flags, an output queue written in whole batches, idle
 * timeouts and STARTTLS. Everything runs on the main thread; modules go
 * asynchronous by returning PR_COMMAND_ASYNC and calling
 * pr_connection_resume(), and reading stops meanwhile, so pipelined lines
 * wait in the reader's fixed buffer (Dovecot's client_handle_input). */

/* Stop reading while this much output waits: a client that pipelines
 * commands but does not read replies cannot grow our memory. */
#define OUTPUT_HIGH_WATER        (256 * 1024)
#define DEFAULT_IDLE_TIMEOUT     600
#define DEFAULT_MAX_BAD_COMMANDS 10

struct _PrConnection {
    gatomicrefcount ref;
    guint64 id;
    PrHost *host;
    Service *service;
    const PrLineProtocol *protocol;
    GIOStream *base;   /* the socket connection */
    GIOStream *stream; /* base, or the TLS connection over it */
    GPollableInputStream *in;
    GOutputStream *out;
    PollerWatch *watch;   /* reading: the socket is in the poller */
    GSource *read_again;  /* a read attempt the poller cannot signal (TLS) */
    gint64 last_activity; /* monotonic µs */
    guint idle_timeout;   /* seconds */
    LineReader *reader;
    GByteArray *outbuf; /* queued, not yet handed to the stream */
    GBytes *writing;    /* the write under way (GIO keeps no reference) */
    gsize in_flight;    /* its size */
    GCancellable *cancellable;
    char *peer_ip;
    guint32 state;
    PrLineFunc line_handler;
    PrModule *line_handler_module; /* the module that installed it */
    PrRawFunc raw_handler;
    PrModule *raw_handler_module;
    SaslState sasl;
    guint bad_commands;
    gpointer session;
    PrModule *current_module; /* owner of the command being handled */
    gboolean tls;
    gboolean trusted;
    gboolean counted;
    gboolean greeted;
    gboolean suspended; /* a handler went asynchronous */
    gboolean in_dispatch;
    gboolean in_handler;
    gboolean resumed_early; /* pr_connection_resume() before the handler returned */
    gboolean closing;       /* flush, then close */
    gboolean closed;        /* the stream is being closed */
    gboolean handshaking;
    gboolean starttls_after_flush;
    PrConnectionFunc drained; /* pr_connection_wait_output() */
    gpointer drained_data;
    GSource *drained_idle;
};

static guint64 next_id = 1;

static void start_reading(PrConnection *conn);
static void flush(PrConnection *conn);
static void finish_close(PrConnection *conn);

static void
host_reply(PrConnection *conn, PrHostReply reply)
{
    const char *text = conn->protocol->replies[reply];
    if (text != NULL)
        pr_connection_reply(conn, text);
}

static void
set_stream(PrConnection *conn, GIOStream *stream)
{
    g_set_object(&conn->stream, stream);
    conn->in = G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(stream));
    conn->out = g_io_stream_get_output_stream(stream);
}

/* Called every second by the host for every connection: one timer for
 * all of them instead of a source each. */
void
connection_check_idle(PrConnection *conn, gint64 now)
{
    if (conn->closed || now < conn->last_activity + (gint64)conn->idle_timeout * G_USEC_PER_SEC)
        return;
    g_debug("connection %" G_GUINT64_FORMAT " from %s: idle timeout", conn->id, conn->peer_ip);
    if (conn->greeted && !conn->closing && !conn->starttls_after_flush && !conn->suspended)
        host_reply(conn, PR_REPLY_IDLE_TIMEOUT);
    pr_connection_close(conn);
    if (!conn->closed && (conn->in_flight > 0 || conn->handshaking))
        finish_close(conn); /* a stuck peer or handshake: do not wait for it */
    else if (conn->closing && !conn->closed && conn->in_flight == 0)
        flush(conn);
}

PrConnection *
connection_new(PrHost *host, Service *service, GSocketConnection *socket, const char *peer_ip,
               gboolean trusted, gboolean counted)
{
    PrConnection *conn = g_new0(PrConnection, 1);
    g_atomic_ref_count_init(&conn->ref);
    conn->id = next_id++;
    conn->host = host;
    conn->service = service;
    conn->protocol = service->protocol->protocol;
    conn->base = g_object_ref(G_IO_STREAM(socket));
    set_stream(conn, conn->base);
    conn->cancellable = g_cancellable_new();
    conn->peer_ip = g_strdup(peer_ip);
    conn->trusted = trusted;
    conn->counted = counted;
    conn->idle_timeout = service->idle_timeout > 0          ? service->idle_timeout
                         : conn->protocol->idle_timeout > 0 ? conn->protocol->idle_timeout
                                                            : DEFAULT_IDLE_TIMEOUT;
    conn->last_activity = g_get_monotonic_time();

    /* The host's set owns the first reference until the connection ends. */
    g_hash_table_add(host->connections, conn);
    if (counted)
        service_connection_opened(host, service, peer_ip);
    return conn;
}

static void
connection_free(PrConnection *conn)
{
    g_clear_object(&conn->stream);
    g_clear_object(&conn->base);
    g_clear_object(&conn->cancellable);
    g_clear_pointer(&conn->reader, line_reader_free);
    sasl_state_clear(&conn->sasl);
    g_clear_pointer(&conn->outbuf, g_byte_array_unref);
    g_clear_pointer(&conn->writing, g_bytes_unref);
    if (conn->drained_idle != NULL) {
        g_source_destroy(conn->drained_idle);
        g_source_unref(conn->drained_idle);
    }
    g_free(conn->session);
    g_free(conn->peer_ip);
    g_free(conn);
}

PrConnection *
pr_connection_ref(PrConnection *conn)
{
    g_return_val_if_fail(conn != NULL, NULL);
    g_atomic_ref_count_inc(&conn->ref);
    return conn;
}

void
pr_connection_unref(PrConnection *conn)
{
    if (conn != NULL && g_atomic_ref_count_dec(&conn->ref))
        connection_free(conn);
}

/* ---- output ---- */

static gboolean
output_full(PrConnection *conn)
{
    return (conn->outbuf != NULL ? conn->outbuf->len : 0) + conn->in_flight > OUTPUT_HIGH_WATER;
}

static void
stop_reading(PrConnection *conn)
{
    g_clear_pointer(&conn->watch, poller_remove);
    if (conn->read_again != NULL) {
        g_source_destroy(conn->read_again);
        g_clear_pointer(&conn->read_again, g_source_unref);
    }
}

static void begin_handshake(PrConnection *conn);

static void
notify_drained(PrConnection *conn)
{
    PrConnectionFunc func = conn->drained;
    if (conn->drained_idle != NULL) {
        g_source_destroy(conn->drained_idle);
        g_clear_pointer(&conn->drained_idle, g_source_unref);
    }
    if (func == NULL)
        return;
    conn->drained = NULL;
    func(conn, conn->drained_data);
}

static gboolean
drained_idle_cb(gpointer data)
{
    PrConnection *conn = data;
    g_clear_pointer(&conn->drained_idle, g_source_unref);
    notify_drained(conn);
    return G_SOURCE_REMOVE;
}

gsize
pr_connection_get_output_pending(PrConnection *conn)
{
    g_return_val_if_fail(conn != NULL, 0);
    return (conn->outbuf != NULL ? conn->outbuf->len : 0) + conn->in_flight;
}

void
pr_connection_wait_output(PrConnection *conn, PrConnectionFunc func, gpointer user_data)
{
    g_return_if_fail(conn != NULL && func != NULL && conn->drained == NULL);
    conn->drained = func;
    conn->drained_data = user_data;
    if (!conn->in_dispatch)
        flush(conn);
    /* Nothing to wait for (or nothing ever will be written): next turn. */
    if (conn->closed || pr_connection_get_output_pending(conn) == 0) {
        conn->drained_idle = g_idle_source_new();
        g_source_set_callback(conn->drained_idle, drained_idle_cb, pr_connection_ref(conn),
                              (GDestroyNotify)pr_connection_unref);
        g_source_attach(conn->drained_idle, NULL);
    }
}

static void
write_cb(GObject *source, GAsyncResult *result, gpointer data)
{
    PrConnection *conn = data;
    g_autoptr(GError) error = NULL;

    conn->in_flight = 0;
    g_clear_pointer(&conn->writing, g_bytes_unref);
    if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), result, NULL, &error)) {
        g_debug("connection %" G_GUINT64_FORMAT " from %s: write failed: %s", conn->id,
                conn->peer_ip, error->message);
        g_clear_pointer(&conn->outbuf, g_byte_array_unref);
        conn->closing = TRUE;
        finish_close(conn);
    } else if (conn->starttls_after_flush && !conn->closing &&
               (conn->outbuf == NULL || conn->outbuf->len == 0)) {
        /* Only once the STARTTLS answer itself is out: it may have been
         * queued behind an earlier reply that was still being written. */
        conn->starttls_after_flush = FALSE;
        begin_handshake(conn);
    } else {
        flush(conn);
        if (!conn->closing)
            start_reading(conn);
    }
    if (conn->in_flight == 0 || conn->closed)
        notify_drained(conn);
    pr_connection_unref(conn);
}

static void
flush(PrConnection *conn)
{
    if (conn->closed || conn->in_flight > 0)
        return;
    if (conn->outbuf == NULL || conn->outbuf->len == 0) {
        if (conn->closing)
            finish_close(conn);
        return;
    }
    /* One write for everything queued: each reply line reaches the socket
     * whole, which STARTTLS clients rely on, and pipelined replies go out
     * together. */
    conn->writing = g_byte_array_free_to_bytes(g_steal_pointer(&conn->outbuf));
    const void *data = g_bytes_get_data(conn->writing, &conn->in_flight);
    g_output_stream_write_all_async(conn->out, data, conn->in_flight, G_PRIORITY_DEFAULT, NULL,
                                    write_cb, pr_connection_ref(conn));
}

void
pr_connection_write(PrConnection *conn, const void *data, gsize len)
{
    g_return_if_fail(conn != NULL);
    if (conn->closed)
        return;
    if (conn->outbuf == NULL)
        conn->outbuf = g_byte_array_sized_new(MAX(len, 256));
    g_byte_array_append(conn->outbuf, data, len);
    if (!conn->in_dispatch)
        flush(conn);
    if (output_full(conn))
        stop_reading(conn);
}

void
pr_connection_reply(PrConnection *conn, const char *line)
{
    g_return_if_fail(conn != NULL && line != NULL);
    gsize len = strlen(line);
    if (conn->closed)
        return;
    if (conn->outbuf == NULL)
        conn->outbuf = g_byte_array_sized_new(MAX(len + 2, 256));
    g_byte_array_append(conn->outbuf, (const guint8 *)line, len);
    g_byte_array_append(conn->outbuf, (const guint8 *)"\r\n", 2);
    if (!conn->in_dispatch)
        flush(conn);
    if (output_full(conn))
        stop_reading(conn);
}

void
pr_connection_replyf(PrConnection *conn, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *line = g_strdup_vprintf(format, ap);
    va_end(ap);
    pr_connection_reply(conn, line);
}

/* ---- closing ---- */

static void
release(PrConnection *conn)
{
    notify_drained(conn); /* a waiting stream learns that the client is gone */
    if (conn->greeted && conn->protocol->session_finish != NULL)
        conn->protocol->session_finish(conn, conn->session);
    if (conn->counted)
        service_connection_closed(conn->host, conn->service, conn->peer_ip);
    g_debug("connection %" G_GUINT64_FORMAT " from %s closed", conn->id, conn->peer_ip);
    g_hash_table_remove(conn->host->connections, conn); /* drops the host's reference */
}

static void
close_cb(GObject *source, GAsyncResult *result, gpointer data)
{
    PrConnection *conn = data;
    g_io_stream_close_finish(G_IO_STREAM(source), result, NULL);
    release(conn);
    pr_connection_unref(conn);
}

static void
finish_close(PrConnection *conn)
{
    if (conn->closed)
        return;
    conn->closed = TRUE;
    conn->closing = TRUE;
    g_cancellable_cancel(conn->cancellable);
    stop_reading(conn);
    if (conn->in_flight > 0 || conn->handshaking) {
        /* A stream with an operation under way cannot be closed (GIO says
         * PENDING), and a peer that reads nothing would keep it so forever:
         * close the socket under it; the pending callbacks then fail. */
        g_socket_close(g_socket_connection_get_socket(G_SOCKET_CONNECTION(conn->base)), NULL);
        release(conn);
        return;
    }
    g_io_stream_close_async(conn->stream, G_PRIORITY_DEFAULT, NULL, close_cb,
                            pr_connection_ref(conn));
}

void
pr_connection_close(PrConnection *conn)
{
    g_return_if_fail(conn != NULL);
    if (conn->closing)
        return;
    conn->closing = TRUE;
    g_cancellable_cancel(conn->cancellable);
    stop_reading(conn);
    if (!conn->in_dispatch)
        flush(conn);
}

gboolean
pr_connection_is_closed(PrConnection *conn)
{
    g_return_val_if_fail(conn != NULL, TRUE);
    return conn->closing;
}

void
connection_reject(PrConnection *conn, PrHostReply reply)
{
    host_reply(conn, reply);
    pr_connection_close(conn);
}

void
connection_shutdown(PrConnection *conn)
{
    if (conn->closing)
        return;
    if (conn->greeted && !conn->starttls_after_flush)
        host_reply(conn, PR_REPLY_SHUTDOWN);
    pr_connection_close(conn);
}

gboolean
pr_connection_bad_command(PrConnection *conn)
{
    g_return_val_if_fail(conn != NULL, TRUE);
    guint max = conn->protocol->max_bad_commands > 0 ? conn->protocol->max_bad_commands
                                                     : DEFAULT_MAX_BAD_COMMANDS;
    if (++conn->bad_commands < max)
        return conn->closing;
    g_info("connection %" G_GUINT64_FORMAT " from %s: too many bad commands", conn->id,
           conn->peer_ip);
    connection_reject(conn, PR_REPLY_TOO_MANY_ERRORS);
    return TRUE;
}

/* ---- dispatch ---- */

static void
apply_result(PrConnection *conn, PrCommandResult result)
{
    if (result == PR_COMMAND_ASYNC && !conn->resumed_early) {
        conn->suspended = TRUE;
        stop_reading(conn);
    } else if (result == PR_COMMAND_CLOSE) {
        pr_connection_close(conn);
    }
}

/* Plaintext after the STARTTLS command would be read as if it had come
 * through TLS (CVE-2011-0411 and its many siblings): such a client is
 * refused and the connection closed. Returns FALSE then. */
static gboolean
starttls_refuse_injection(PrConnection *conn)
{
    if (line_reader_pending(conn->reader) == 0)
        return TRUE;
    pr_log_security("STARTTLS_INJECTION",
                    "connection %" G_GUINT64_FORMAT " from %s sent data after %s; closed", conn->id,
                    conn->peer_ip, conn->protocol->starttls_command);
    connection_reject(conn, PR_REPLY_STARTTLS_PIPELINED);
    return FALSE;
}

static void
begin_starttls(PrConnection *conn)
{
    conn->starttls_after_flush = TRUE;
    conn->suspended = TRUE;
    stop_reading(conn);
}

static void
do_starttls(PrConnection *conn)
{
    if ((conn->protocol->starttls_states & conn->state) == 0) {
        host_reply(conn, PR_REPLY_BAD_STATE);
        pr_connection_bad_command(conn);
    } else if (!pr_connection_can_starttls(conn)) {
        host_reply(conn, PR_REPLY_STARTTLS_UNAVAILABLE);
    } else if (starttls_refuse_injection(conn)) {
        host_reply(conn, PR_REPLY_STARTTLS_OK);
        begin_starttls(conn);
    }
}

gboolean
pr_connection_start_tls(PrConnection *conn, const char *reply)
{
    g_return_val_if_fail(conn != NULL && reply != NULL, FALSE);
    if (!pr_connection_can_starttls(conn) || conn->closing)
        return FALSE;
    if (!starttls_refuse_injection(conn))
        return FALSE;
    pr_connection_reply(conn, reply);
    begin_starttls(conn);
    return TRUE;
}

static void
handle_line(PrConnection *conn, Line *line)
{
    if ((line->bare_lf && conn->protocol->line_end == PR_LINE_END_CRLF_ONLY) ||
        (line->has_nul && conn->protocol->nul == PR_NUL_REJECT)) {
        host_reply(conn, PR_REPLY_BAD_LINE);
        pr_connection_bad_command(conn);
        return;
    }
    if (conn->line_handler != NULL) {
        conn->in_handler = TRUE;
        conn->resumed_early = FALSE;
        conn->current_module = conn->line_handler_module;
        PrCommandResult r = conn->line_handler(conn, conn->session, line->text, line->len);
        conn->current_module = NULL;
        conn->in_handler = FALSE;
        apply_result(conn, r);
        return;
    }

    char *space = strchr(line->text, ' ');
    const char *args = "";
    if (space != NULL) {
        *space = '\0';
        args = space + 1;
    }
    const char *verb = line->text;
    const CommandEntry *entry =
        *verb != '\0' ? protocol_find_command(conn->service->protocol, verb) : NULL;
    if (entry == NULL) {
        const char *starttls = conn->protocol->starttls_command;
        if (starttls != NULL && g_ascii_strcasecmp(verb, starttls) == 0 && *args == '\0') {
            do_starttls(conn);
            return;
        }
        host_reply(conn, PR_REPLY_UNKNOWN_COMMAND);
        pr_connection_bad_command(conn);
        return;
    }

    const PrCommand *cmd = entry->command;
    if ((cmd->states & conn->state) == 0) {
        host_reply(conn, PR_REPLY_BAD_STATE);
        pr_connection_bad_command(conn);
        return;
    }
    if (((cmd->flags & PR_COMMAND_FLAG_ARGS_REQUIRED) && *args == '\0') ||
        ((cmd->flags & PR_COMMAND_FLAG_NO_ARGS) && *args != '\0')) {
        host_reply(conn, PR_REPLY_SYNTAX_ERROR);
        pr_connection_bad_command(conn);
        return;
    }
    if ((cmd->flags & PR_COMMAND_FLAG_AUTH) && !pr_connection_auth_allowed(conn)) {
        host_reply(conn, PR_REPLY_TLS_REQUIRED);
        return;
    }
    g_debug("connection %" G_GUINT64_FORMAT ": %s %s", conn->id, cmd->name,
            (cmd->flags & PR_COMMAND_FLAG_SECRET) ? "***" : args);
    conn->in_handler = TRUE;
    conn->resumed_early = FALSE;
    conn->current_module = entry->owner;
    PrCommandResult r = cmd->handler(conn, conn->session, args);
    conn->current_module = NULL;
    conn->in_handler = FALSE;
    apply_result(conn, r);
}

/* Hands buffered bytes to the raw handler. Returns FALSE when it needs
 * more input than is buffered. */
static gboolean
handle_raw(PrConnection *conn)
{
    gsize len = 0;
    const char *data = line_reader_peek(conn->reader, &len);
    if (len == 0)
        return FALSE;

    PrCommandResult r = PR_COMMAND_DONE;
    conn->in_handler = TRUE;
    conn->resumed_early = FALSE;
    conn->current_module = conn->raw_handler_module;
    gsize used = conn->raw_handler(conn, conn->session, (const guint8 *)data, len, &r);
    conn->current_module = NULL;
    conn->in_handler = FALSE;
    used = MIN(used, len);
    line_reader_consume(conn->reader, used);
    apply_result(conn, r);
    if (used > 0 || conn->raw_handler == NULL || r != PR_COMMAND_DONE)
        return TRUE;
    if (len >= conn->protocol->max_line) {
        /* The buffer is full and the handler still wants more: it can
         * never get it. */
        g_warning("connection %" G_GUINT64_FORMAT ": raw handler stalled on a full buffer",
                  conn->id);
        pr_connection_close(conn);
    }
    return FALSE;
}

static void
process_lines(PrConnection *conn)
{
    Line line;

    conn->in_dispatch = TRUE;
    while (!conn->suspended && !conn->closing) {
        if (conn->raw_handler != NULL) {
            if (!handle_raw(conn))
                break;
            continue;
        }
        LineStatus st = line_reader_next(conn->reader, &line);
        if (st == LINE_NEED_MORE)
            break;
        if (st == LINE_TOO_LONG) {
            host_reply(conn, PR_REPLY_LINE_TOO_LONG);
            pr_connection_bad_command(conn);
            continue;
        }
        handle_line(conn, &line);
    }
    conn->in_dispatch = FALSE;
    flush(conn);
}

/* Reads what the socket (or the TLS layer) has, a bounded number of times
 * so that one busy client cannot hold the loop. */
static void
read_ready(gpointer data)
{
    PrConnection *conn = data;

    pr_connection_ref(conn);
    for (int round = 0; round < 16 && conn->watch != NULL; round++) {
        g_autoptr(GError) error = NULL;
        gsize avail = 0;
        char *space = line_reader_space(conn->reader, &avail);
        gssize n = g_pollable_input_stream_read_nonblocking(conn->in, space, avail, NULL, &error);

        if (n < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            break;
        if (n <= 0) {
            g_debug("connection %" G_GUINT64_FORMAT " from %s: %s", conn->id, conn->peer_ip,
                    n == 0 ? "closed by the client" : error->message);
            /* Nobody reads replies any more: drop them and close. */
            g_clear_pointer(&conn->outbuf, g_byte_array_unref);
            conn->closing = TRUE;
            finish_close(conn);
            break;
        }
        line_reader_commit(conn->reader, n);
        conn->last_activity = g_get_monotonic_time();
        process_lines(conn);
        if (round == 15 && conn->watch != NULL && conn->tls)
            start_reading(conn); /* the TLS layer may hold more than the socket shows */
        /* A plain socket that gave less than asked for is empty now: skip
         * the recv() that would fail (and the GError GIO builds for it). */
        if (!conn->tls && (gsize)n < avail)
            break;
        /* A plain socket that gave less than asked for is empty: another
         * read would only fail with EAGAIN (and a GError), once per
         * command. The poller is level-triggered and reports new input. */
        if (!conn->tls && (gsize)n < avail)
            break;
    }
    pr_connection_unref(conn);
}

static gboolean
read_again_cb(gpointer data)
{
    PrConnection *conn = data;
    g_clear_pointer(&conn->read_again, g_source_unref);
    if (conn->watch != NULL)
        read_ready(conn);
    return G_SOURCE_REMOVE;
}

static void
start_reading(PrConnection *conn)
{
    if (conn->suspended || conn->closing || !conn->greeted || output_full(conn))
        return;
    if (conn->watch == NULL) {
        GSocket *socket = g_socket_connection_get_socket(G_SOCKET_CONNECTION(conn->base));
        conn->watch = poller_add(g_socket_get_fd(socket), read_ready, conn);
    }
    /* GnuTLS may already hold decrypted input (pipelined after the
     * handshake, or left over when reading stopped) that the socket will
     * never signal again: try once now. */
    if (conn->tls && conn->read_again == NULL) {
        conn->read_again = g_idle_source_new();
        g_source_set_callback(conn->read_again, read_again_cb, conn, NULL);
        g_source_attach(conn->read_again, NULL);
    }
}

void
pr_connection_resume(PrConnection *conn)
{
    g_return_if_fail(conn != NULL);
    if (conn->in_handler) {
        conn->resumed_early = TRUE;
        return;
    }
    if (!conn->suspended || conn->closing)
        return;
    conn->suspended = FALSE;
    if (conn->in_dispatch)
        return;
    /* Lines the client pipelined while we waited come first. */
    process_lines(conn);
    start_reading(conn);
}

/* ---- session start and TLS ---- */

static void
greet(PrConnection *conn)
{
    const PrLineProtocol *p = conn->protocol;
    conn->greeted = TRUE;
    conn->state = p->initial_state;
    conn->session = g_malloc0(MAX(p->session_size, 1));
    conn->reader = line_reader_new(p->max_line);
    conn->in_dispatch = TRUE;
    p->greeting(conn, conn->session);
    conn->in_dispatch = FALSE;
    flush(conn);
    start_reading(conn);
}

static void
connect_hook_done(PrHookContext *ctx, gboolean stopped, gpointer data)
{
    PrConnection *conn = data;
    if (conn->closing) {
        /* the client left while the hook ran */
    } else if (stopped) {
        const char *reply = pr_hook_context_get_reply(ctx);
        g_info("connection %" G_GUINT64_FORMAT " from %s refused by a connect hook", conn->id,
               conn->peer_ip);
        if (reply != NULL)
            pr_connection_reply(conn, reply);
        else
            host_reply(conn, PR_REPLY_ACCESS_DENIED);
        pr_connection_close(conn);
    } else {
        greet(conn);
    }
    pr_connection_unref(conn);
}

static void
begin_session(PrConnection *conn)
{
    if (!hooks_has_handlers(conn->host, PR_HOOK_CONNECT)) {
        greet(conn);
        return;
    }
    PrHookContext *ctx = pr_hook_context_new(PR_HOOK_CONNECT);
    pr_hook_context_set(ctx, "service", conn->service->name);
    pr_hook_context_set(ctx, "peer-ip", conn->peer_ip);
    pr_host_run_hook(conn->host, ctx, connect_hook_done, pr_connection_ref(conn));
    pr_hook_context_unref(ctx);
}

static void
handshake_cb(GObject *source, GAsyncResult *result, gpointer data)
{
    PrConnection *conn = data;
    g_autoptr(GError) error = NULL;

    conn->handshaking = FALSE;
    if (!g_tls_connection_handshake_finish(G_TLS_CONNECTION(source), result, &error)) {
        g_info("connection %" G_GUINT64_FORMAT " from %s: TLS handshake failed: %s", conn->id,
               conn->peer_ip, error->message);
        conn->closing = TRUE;
        finish_close(conn);
    } else if (!conn->closing) {
        set_stream(conn, G_IO_STREAM(source));
        conn->tls = TRUE;
        conn->last_activity = g_get_monotonic_time();
        if (!conn->greeted) {
            begin_session(conn);
        } else {
            /* RFC 2595 §4, RFC 3207 §4.2: forget what was said in plaintext. */
            conn->state = conn->protocol->initial_state;
            conn->line_handler = NULL;
            conn->raw_handler = NULL;
            sasl_state_clear(&conn->sasl);
            conn->suspended = FALSE;
            if (conn->protocol->tls_started != NULL)
                conn->protocol->tls_started(conn, conn->session);
            flush(conn);
            start_reading(conn);
        }
    }
    pr_connection_unref(conn);
}

static void
begin_handshake(PrConnection *conn)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GIOStream) tls = tls_wrap_server(conn->host->tls, conn->base, &error);
    if (tls == NULL) {
        g_warning("connection %" G_GUINT64_FORMAT ": cannot start TLS: %s", conn->id,
                  error->message);
        conn->closing = TRUE;
        finish_close(conn);
        return;
    }
    conn->handshaking = TRUE;
    g_tls_connection_handshake_async(G_TLS_CONNECTION(tls), G_PRIORITY_DEFAULT, conn->cancellable,
                                     handshake_cb, pr_connection_ref(conn));
}

void
connection_start(PrConnection *conn, gboolean tls)
{
    if (tls)
        begin_handshake(conn);
    else
        begin_session(conn);
}

/* ---- accessors ---- */

guint32
pr_connection_get_state(PrConnection *conn)
{
    g_return_val_if_fail(conn != NULL, 0);
    return conn->state;
}

void
pr_connection_set_state(PrConnection *conn, guint32 state)
{
    g_return_if_fail(conn != NULL);
    conn->state = state;
}

SaslState *
connection_sasl_state(PrConnection *conn)
{
    return &conn->sasl;
}

void
pr_connection_set_raw_handler(PrConnection *conn, PrRawFunc handler)
{
    g_return_if_fail(conn != NULL);
    conn->raw_handler = handler;
    conn->raw_handler_module = conn->current_module;
}

void
pr_connection_set_line_handler(PrConnection *conn, PrLineFunc handler)
{
    g_return_if_fail(conn != NULL);
    conn->line_handler = handler;
    conn->line_handler_module = conn->current_module;
}

GCancellable *
pr_connection_get_cancellable(PrConnection *conn)
{
    g_return_val_if_fail(conn != NULL, NULL);
    return conn->cancellable;
}

PrHost *
pr_connection_get_host(PrConnection *conn)
{
    g_return_val_if_fail(conn != NULL, NULL);
    return conn->host;
}

PrModule *
pr_connection_get_module(PrConnection *conn)
{
    g_return_val_if_fail(conn != NULL, NULL);
    return conn->current_module != NULL ? conn->current_module : conn->service->protocol->owner;
}

gpointer
pr_connection_get_session(PrConnection *conn)
{
    g_return_val_if_fail(conn != NULL, NULL);
    return conn->session;
}

guint64
pr_connection_get_id(PrConnection *conn)
{
    g_return_val_if_fail(conn != NULL, 0);
    return conn->id;
}

const char *
pr_connection_get_service(PrConnection *conn)
{
    g_return_val_if_fail(conn != NULL, NULL);
    return conn->service->name;
}

const char *
pr_connection_get_peer_ip(PrConnection *conn)
{
    g_return_val_if_fail(conn != NULL, NULL);
    return conn->peer_ip;
}

gboolean
pr_connection_is_tls(PrConnection *conn)
{
    g_return_val_if_fail(conn != NULL, FALSE);
    return conn->tls;
}

gboolean
pr_connection_can_starttls(PrConnection *conn)
{
    g_return_val_if_fail(conn != NULL, FALSE);
    return !conn->tls && conn->host->tls != NULL && conn->protocol->starttls_command != NULL;
}

gboolean
pr_connection_auth_allowed(PrConnection *conn)
{
    g_return_val_if_fail(conn != NULL, FALSE);
    return conn->tls || !conn->service->require_tls_for_auth;
}

gboolean
pr_connection_is_trusted(PrConnection *conn)
{
    g_return_val_if_fail(conn != NULL, FALSE);
    return conn->trusted;
}

void
pr_connection_set_idle_timeout(PrConnection *conn, guint seconds)
{
    g_return_if_fail(conn != NULL);
    conn->idle_timeout = seconds > 0                        ? seconds
                         : conn->service->idle_timeout > 0  ? conn->service->idle_timeout
                         : conn->protocol->idle_timeout > 0 ? conn->protocol->idle_timeout
                                                            : DEFAULT_IDLE_TIMEOUT;
    conn->last_activity = g_get_monotonic_time();
}
