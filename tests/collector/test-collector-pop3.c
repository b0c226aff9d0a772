/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The collector's POP3 client (modules/collector/collector-pop3.c) against
 * scripted servers on loopback: each test gives the lines the client must
 * send and what the server answers; the server runs in a thread with
 * blocking sockets, the client on the main loop. Covers the logins (USER,
 * APOP and CRAM-MD5 with RFC 1939's and RFC 2195's examples, AUTH PLAIN),
 * STAT, UIDL with LIST, RETR with dot-unstuffing and a size bound, -ERR in the
 * middle, a server that stalls (the command timeout ends it), a server that
 * drops the connection, a refused connection, STLS required but missing;
 * commands queued while others run, sent at once with PIPELINING (RFC 2449)
 * and one by one without it or when the options turn it off; a server
 * that refuses TOP (the TOPs queued behind are not sent).
 * TLS itself is tested against Dovecot (tests/collector/test_collector.py). */

#include "postroom-config.h"

#include <string.h>

#include "collector-pop3.h"

/* Every wait in this test is bounded by this many seconds. */
#define WAIT_SECONDS 20

typedef enum {
    STEP_EXPECT, /* read a line, compare with @text (a trailing '*' matches any rest) */
    STEP_SEND,   /* send @text as is */
    STEP_STALL,  /* read nothing and send nothing until the client goes away */
    STEP_CLOSE,  /* close the connection */
    STEP_QUIET,  /* fail if the client sends anything within QUIET_MS */
} StepKind;

/* How long STEP_QUIET listens: a client that sends the next command
 * before the reply to the last one does so at once. */
#define QUIET_MS 300

typedef struct {
    StepKind kind;
    const char *text;
} Step;

#define EXPECT(t)                                                                                  \
    {                                                                                              \
        STEP_EXPECT, t                                                                             \
    }
#define SEND(t)                                                                                    \
    {                                                                                              \
        STEP_SEND, t                                                                               \
    }
#define STALL                                                                                      \
    {                                                                                              \
        STEP_STALL, NULL                                                                           \
    }
#define CLOSE                                                                                      \
    {                                                                                              \
        STEP_CLOSE, NULL                                                                           \
    }
#define QUIET                                                                                      \
    {                                                                                              \
        STEP_QUIET, NULL                                                                           \
    }
#define END                                                                                        \
    { STEP_CLOSE, NULL },                                                                          \
    {                                                                                              \
        0, NULL                                                                                    \
    }

typedef struct {
    GSocket *listener;
    guint16 port;
    const Step *script;
    GThread *thread;
    char *failure; /* the first mismatch, or NULL */
    guint steps_done;
} Server;

static gboolean
read_line(GSocket *s, GString *line)
{
    g_string_truncate(line, 0);
    for (guint i = 0; i < 100000; i++) {
        char c;
        gssize n = g_socket_receive(s, &c, 1, NULL, NULL);
        if (n <= 0)
            return FALSE;
        if (c == '\n') {
            if (line->len > 0 && line->str[line->len - 1] == '\r')
                g_string_truncate(line, line->len - 1);
            return TRUE;
        }
        g_string_append_c(line, c);
    }
    return FALSE;
}

static gboolean
matches(const char *pattern, const char *line)
{
    gsize len = strlen(pattern);

    if (len > 0 && pattern[len - 1] == '*')
        return strncmp(pattern, line, len - 1) == 0;
    return strcmp(pattern, line) == 0;
}

static gpointer
server_thread(gpointer data)
{
    Server *srv = data;
    g_autoptr(GSocket) s = g_socket_accept(srv->listener, NULL, NULL);
    g_autoptr(GString) line = g_string_new(NULL);

    if (s == NULL) {
        srv->failure = g_strdup("accept failed");
        return NULL;
    }
    g_socket_set_timeout(s, WAIT_SECONDS);
    for (const Step *st = srv->script; st->kind != 0 || st->text != NULL; st++) {
        switch (st->kind) {
        case STEP_EXPECT:
            if (!read_line(s, line)) {
                srv->failure = g_strdup_printf("expected \"%s\", got end of input", st->text);
                return NULL;
            }
            if (!matches(st->text, line->str)) {
                srv->failure = g_strdup_printf("expected \"%s\", got \"%s\"", st->text, line->str);
                return NULL;
            }
            break;
        case STEP_SEND: {
            gsize len = strlen(st->text);
            if (g_socket_send(s, st->text, len, NULL, NULL) != (gssize)len) {
                srv->failure = g_strdup_printf("could not send \"%s\"", st->text);
                return NULL;
            }
            break;
        }
        case STEP_STALL:
            /* Until the client closes: a read returns 0 then. */
            while (read_line(s, line))
                ;
            break;
        case STEP_CLOSE:
            g_socket_close(s, NULL);
            srv->steps_done++;
            return NULL;
        case STEP_QUIET:
            if (g_socket_condition_timed_wait(s, G_IO_IN, QUIET_MS * 1000, NULL, NULL)) {
                srv->failure = g_strdup("the client sent a command before the reply to the "
                                        "one before (no PIPELINING)");
                return NULL;
            }
            break;
        }
        srv->steps_done++;
    }
    return NULL;
}

static Server *
server_start(const Step *script)
{
    Server *srv = g_new0(Server, 1);
    g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    g_autoptr(GSocketAddress) addr = g_inet_socket_address_new(lo, 0);
    g_autoptr(GError) error = NULL;

    srv->listener =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
    g_assert_no_error(error);
    g_socket_set_timeout(srv->listener, WAIT_SECONDS);
    g_assert_true(g_socket_bind(srv->listener, addr, TRUE, &error));
    g_assert_true(g_socket_listen(srv->listener, &error));
    g_autoptr(GSocketAddress) bound = g_socket_get_local_address(srv->listener, &error);
    srv->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
    srv->script = script;
    srv->thread = g_thread_new("pop3-server", server_thread, srv);
    return srv;
}

/* Waits for the server's thread; fails the test on a mismatch. */
static void
server_finish(Server *srv)
{
    g_thread_join(srv->thread);
    if (srv->failure != NULL)
        g_error("scripted server: %s", srv->failure);
    g_object_unref(srv->listener);
    g_free(srv);
}

/* ---- running the client ------------------------------------------------- */

typedef struct {
    GAsyncResult *result;
} Wait;

static void
got_result(GObject *source, GAsyncResult *result, gpointer data)
{
    Wait *w = data;

    w->result = g_object_ref(result);
}

static gboolean
deadline_passed(gpointer data)
{
    g_error("no result within %d seconds", WAIT_SECONDS);
    return G_SOURCE_REMOVE;
}

/* Runs the main loop until the operation started with @w calls back. */
static GAsyncResult *
wait_result(Wait *w)
{
    guint id = g_timeout_add_seconds(WAIT_SECONDS, deadline_passed, NULL);

    while (w->result == NULL)
        g_main_context_iteration(NULL, TRUE);
    g_source_remove(id);
    GAsyncResult *r = w->result;
    w->result = NULL;
    return r;
}

static CollectorPop3 *
client_new(guint16 port, CollectorAuth auth, CollectorTls tls, const char *user,
           const char *password)
{
    CollectorPop3Options o = {
        .server = "127.0.0.1",
        .port = port,
        .tls = tls,
        .verify_cert = TRUE,
        .auth = auth,
        .username = user,
        .password = password,
        .connect_timeout = 5,
        .command_timeout = 2,
    };
    return collector_pop3_new(&o);
}

static gboolean
login(CollectorPop3 *p, GError **error)
{
    Wait w = { 0 };

    collector_pop3_login_async(p, got_result, &w);
    g_autoptr(GAsyncResult) r = wait_result(&w);
    return collector_pop3_login_finish(p, r, error);
}

static CollectorPop3Message *
fetch(CollectorPop3 *p, guint msgno, int top, gsize max, CollectorNulPolicy nul, GError **error)
{
    Wait w = { 0 };

    collector_pop3_fetch_async(p, msgno, top, max, nul, '#', got_result, &w);
    g_autoptr(GAsyncResult) r = wait_result(&w);
    return collector_pop3_fetch_finish(p, r, error);
}

static gboolean
dele(CollectorPop3 *p, guint msgno, GError **error)
{
    Wait w = { 0 };

    collector_pop3_dele_async(p, msgno, got_result, &w);
    g_autoptr(GAsyncResult) r = wait_result(&w);
    return collector_pop3_dele_finish(p, r, error);
}

/* A command queued while others are in flight: RETR of the whole message
 * @msgno or, with @dele, DELE. run_queued() gives it its result and the
 * order in which the results came. */
typedef struct {
    gboolean dele;
    gboolean top; /* TOP msgno 0 rather than RETR */
    guint msgno;
    GAsyncResult *result;
    guint order;
    guint *counter;
} Slot;

static void
got_slot(GObject *source, GAsyncResult *result, gpointer data)
{
    Slot *slot = data;

    slot->result = g_object_ref(result);
    slot->order = ++*slot->counter;
}

/* Issues the @n commands of @slots at once, without waiting for any reply,
 * then waits for all of them: the replies must come in the order issued,
 * pipelined or not. */
static void
run_queued(CollectorPop3 *p, Slot *slots, guint n)
{
    guint counter = 0;
    guint id;

    for (guint i = 0; i < n; i++) {
        slots[i].counter = &counter;
        if (slots[i].dele)
            collector_pop3_dele_async(p, slots[i].msgno, got_slot, &slots[i]);
        else
            collector_pop3_fetch_async(p, slots[i].msgno, slots[i].top ? 0 : -1, 0,
                                       COLLECTOR_NUL_REFUSE, ' ', got_slot, &slots[i]);
    }
    id = g_timeout_add_seconds(WAIT_SECONDS, deadline_passed, NULL);
    while (counter < n)
        g_main_context_iteration(NULL, TRUE);
    g_source_remove(id);
    for (guint i = 0; i < n; i++) {
        g_assert_cmpuint(slots[i].order, ==, i + 1);
        slots[i].counter = NULL;
    }
}

static void
clear_slots(Slot *slots, guint n)
{
    for (guint i = 0; i < n; i++)
        g_clear_object(&slots[i].result);
}

static gboolean
quit(CollectorPop3 *p, GError **error)
{
    Wait w = { 0 };

    collector_pop3_quit_async(p, got_result, &w);
    g_autoptr(GAsyncResult) r = wait_result(&w);
    return collector_pop3_quit_finish(p, r, error);
}

static void
close_client(CollectorPop3 *p)
{
    Wait w = { 0 };

    collector_pop3_close_async(p, got_result, &w);
    g_autoptr(GAsyncResult) r = wait_result(&w);
    collector_pop3_close_finish(p, r);
    collector_pop3_free(p);
}

#define GREETING SEND("+OK POP3 ready\r\n")
#define NO_CAPA  EXPECT("CAPA"), SEND("-ERR unknown command\r\n")

/* ---- tests -------------------------------------------------------------- */

static void
test_session(void)
{
    static const Step script[] = {
        GREETING,
        EXPECT("CAPA"),
        SEND("+OK\r\nTOP\r\nUIDL\r\nUSER\r\n.\r\n"),
        EXPECT("USER alice"),
        SEND("+OK\r\n"),
        EXPECT("PASS s3cret"),
        SEND("+OK logged in\r\n"),
        EXPECT("STAT"),
        SEND("+OK 4 400\r\n"),
        EXPECT("UIDL"),
        /* 3 and 4 share a UID: neither can be fetched exactly once. */
        SEND("+OK\r\n1 uid-a\r\n2 uid-b\r\n3 dup\r\n4 dup\r\n.\r\n"),
        EXPECT("LIST"),
        SEND("+OK 4 messages\r\n1 120\r\n2 200\r\n3 40\r\n4 40\r\n.\r\n"),
        EXPECT("TOP 2 0"),
        SEND("+OK\r\nSubject: two\r\n\r\n.\r\n"),
        EXPECT("RETR 2"),
        SEND("+OK 200 octets\r\nSubject: two\r\n\r\n..dot\r\nline\n.\r\n"),
        EXPECT("DELE 2"),
        SEND("+OK\r\n"),
        EXPECT("DELE 9"),
        SEND("-ERR no such message\r\n"),
        EXPECT("QUIT"),
        SEND("+OK bye\r\n"),
        END,
    };
    Server *srv = server_start(script);
    CollectorPop3 *p =
        client_new(srv->port, COLLECTOR_AUTH_USER, COLLECTOR_TLS_NONE, "alice", "s3cret");
    g_autoptr(GError) error = NULL;
    Wait w = { 0 };

    g_assert_true(login(p, &error));
    g_assert_no_error(error);
    g_assert_true(collector_pop3_get_capa(p)->top);
    g_assert_false(collector_pop3_get_capa(p)->stls);

    guint count = 0;
    guint64 size = 0;
    collector_pop3_stat_async(p, got_result, &w);
    g_autoptr(GAsyncResult) r1 = wait_result(&w);
    g_assert_true(collector_pop3_stat_finish(p, r1, &count, &size, &error));
    g_assert_cmpuint(count, ==, 4);
    g_assert_cmpuint(size, ==, 400);

    collector_pop3_listing_async(p, got_result, &w);
    g_autoptr(GAsyncResult) r2 = wait_result(&w);
    g_autoptr(GPtrArray) listing = collector_pop3_listing_finish(p, r2, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(listing->len, ==, 2);
    const CollectorPop3Entry *e = listing->pdata[1];
    g_assert_cmpuint(e->msgno, ==, 2);
    g_assert_cmpstr(e->uid, ==, "uid-b");
    g_assert_cmpuint(e->size, ==, 200);

    g_autoptr(CollectorPop3Message) top = fetch(p, 2, 0, 0, COLLECTOR_NUL_REFUSE, &error);
    g_assert_no_error(error);
    g_assert_cmpmem(g_bytes_get_data(top->data, NULL), g_bytes_get_size(top->data),
                    "Subject: two\r\n\r\n", 16);

    g_autoptr(CollectorPop3Message) m = fetch(p, 2, -1, 0, COLLECTOR_NUL_REFUSE, &error);
    g_assert_no_error(error);
    const char want[] = "Subject: two\r\n\r\n.dot\r\nline\r\n";
    g_assert_cmpmem(g_bytes_get_data(m->data, NULL), g_bytes_get_size(m->data), want,
                    sizeof want - 1);
    g_assert_false(m->oversize);

    g_assert_true(dele(p, 2, &error));
    /* -ERR ends the command, not the connection. */
    g_assert_false(dele(p, 9, &error));
    g_assert_error(error, COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_REFUSED);
    g_assert_nonnull(strstr(error->message, "-ERR no such message"));
    g_clear_error(&error);
    g_assert_true(quit(p, &error));
    close_client(p);
    server_finish(srv);
}

static void
test_apop(void)
{
    /* RFC 1939 §7's example. */
    static const Step script[] = {
        SEND("+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"),
        NO_CAPA,
        EXPECT("APOP mrose c4c9334bac560ecc979e58001b3e22fb"),
        SEND("+OK maildrop has 1 message (369 octets)\r\n"),
        EXPECT("QUIT"),
        SEND("+OK\r\n"),
        END,
    };
    Server *srv = server_start(script);
    CollectorPop3 *p =
        client_new(srv->port, COLLECTOR_AUTH_APOP, COLLECTOR_TLS_NONE, "mrose", "tanstaaf");
    g_autoptr(GError) error = NULL;

    g_assert_true(login(p, &error));
    g_assert_true(quit(p, &error));
    close_client(p);
    server_finish(srv);
}

static void
test_apop_without_timestamp(void)
{
    static const Step script[] = {
        GREETING,
        NO_CAPA,
        STALL,
        END,
    };
    Server *srv = server_start(script);
    CollectorPop3 *p =
        client_new(srv->port, COLLECTOR_AUTH_APOP, COLLECTOR_TLS_NONE, "mrose", "tanstaaf");
    g_autoptr(GError) error = NULL;

    g_assert_false(login(p, &error));
    g_assert_error(error, COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_UNSUPPORTED);
    close_client(p);
    server_finish(srv);
}

static void
test_cram_md5(void)
{
    /* RFC 2195 §2's example. */
    static const Step script[] = {
        GREETING,
        EXPECT("CAPA"),
        SEND("+OK\r\nSASL CRAM-MD5\r\n.\r\n"),
        EXPECT("AUTH CRAM-MD5"),
        SEND("+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n"),
        EXPECT("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"),
        SEND("+OK CRAM authentication successful\r\n"),
        EXPECT("QUIT"),
        SEND("+OK\r\n"),
        END,
    };
    Server *srv = server_start(script);
    CollectorPop3 *p = client_new(srv->port, COLLECTOR_AUTH_CRAM_MD5, COLLECTOR_TLS_NONE, "tim",
                                  "tanstaaftanstaaf");
    g_autoptr(GError) error = NULL;

    g_assert_true(login(p, &error));
    g_assert_no_error(error);
    g_assert_true(quit(p, &error));
    close_client(p);
    server_finish(srv);
}

static void
test_plain_refused(void)
{
    static const Step script[] = {
        GREETING,
        NO_CAPA,
        EXPECT("AUTH PLAIN"),
        SEND("+ \r\n"),
        /* base64 of "\0bob\0wrong" */
        EXPECT("AGJvYgB3cm9uZw=="),
        SEND("-ERR [AUTH] Authentication failed.\r\n"),
        STALL,
        END,
    };
    Server *srv = server_start(script);
    CollectorPop3 *p =
        client_new(srv->port, COLLECTOR_AUTH_PLAIN, COLLECTOR_TLS_NONE, "bob", "wrong");
    g_autoptr(GError) error = NULL;

    g_assert_false(login(p, &error));
    g_assert_error(error, COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_AUTH);
    g_assert_nonnull(strstr(error->message, "-ERR [AUTH] Authentication failed."));
    g_assert_nonnull(strstr(error->message, "bob"));
    close_client(p);
    server_finish(srv);
}

static void
test_stls_required(void)
{
    static const Step script[] = {
        GREETING, EXPECT("CAPA"), SEND("+OK\r\nUSER\r\n.\r\n"), STALL, END,
    };
    Server *srv = server_start(script);
    CollectorPop3 *p = client_new(srv->port, COLLECTOR_AUTH_USER, COLLECTOR_TLS_STLS, "bob", "x");
    g_autoptr(GError) error = NULL;

    g_assert_false(login(p, &error));
    g_assert_error(error, COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_UNSUPPORTED);
    g_assert_nonnull(strstr(error->message, "STLS"));
    close_client(p);
    server_finish(srv);
}

/* Logs in with USER/PASS in scripts that start with LOGIN. */
#define LOGIN                                                                                      \
    GREETING, NO_CAPA, EXPECT("USER u"), SEND("+OK\r\n"), EXPECT("PASS p"), SEND("+OK\r\n")

static void
test_err_mid_download(void)
{
    static const Step script[] = {
        LOGIN,
        EXPECT("RETR 1"),
        SEND("-ERR Can't open the message file - it's gone!\r\n"),
        EXPECT("RETR 2"),
        SEND("+OK\r\nab\r\n.\r\n"),
        EXPECT("QUIT"),
        SEND("+OK\r\n"),
        END,
    };
    Server *srv = server_start(script);
    CollectorPop3 *p = client_new(srv->port, COLLECTOR_AUTH_USER, COLLECTOR_TLS_NONE, "u", "p");
    g_autoptr(GError) error = NULL;

    g_assert_true(login(p, &error));
    g_autoptr(CollectorPop3Message) gone = fetch(p, 1, -1, 0, COLLECTOR_NUL_REFUSE, &error);
    g_assert_null(gone);
    g_assert_error(error, COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_REFUSED);
    g_assert_nonnull(strstr(error->message, "it's gone!"));
    g_clear_error(&error);
    g_autoptr(CollectorPop3Message) m = fetch(p, 2, -1, 0, COLLECTOR_NUL_REPLACE, &error);
    g_assert_no_error(error);
    g_assert_nonnull(m);
    g_assert_true(quit(p, &error));
    close_client(p);
    server_finish(srv);
}

static void
test_stall(void)
{
    static const Step script[] = {
        LOGIN, EXPECT("RETR 1"), SEND("+OK\r\nhalf a line"), STALL, END,
    };
    Server *srv = server_start(script);
    CollectorPop3 *p = client_new(srv->port, COLLECTOR_AUTH_USER, COLLECTOR_TLS_NONE, "u", "p");
    g_autoptr(GError) error = NULL;
    gint64 start;

    g_assert_true(login(p, &error));
    start = g_get_monotonic_time();
    g_autoptr(CollectorPop3Message) m = fetch(p, 1, -1, 0, COLLECTOR_NUL_REFUSE, &error);
    g_assert_null(m);
    g_assert_error(error, COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_TIMEOUT);
    g_test_message("timed out after %" G_GINT64_FORMAT " ms",
                   (g_get_monotonic_time() - start) / 1000);
    g_clear_error(&error);
    /* The connection is gone: later commands fail at once. */
    g_assert_false(dele(p, 1, &error));
    g_assert_error(error, COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_TIMEOUT);
    close_client(p);
    server_finish(srv);
}

static void
test_drop(void)
{
    static const Step script[] = {
        LOGIN, EXPECT("RETR 1"), SEND("+OK\r\nSubject: cut\r\n"), CLOSE, { 0, NULL },
    };
    Server *srv = server_start(script);
    CollectorPop3 *p = client_new(srv->port, COLLECTOR_AUTH_USER, COLLECTOR_TLS_NONE, "u", "p");
    g_autoptr(GError) error = NULL;

    g_assert_true(login(p, &error));
    g_autoptr(CollectorPop3Message) m = fetch(p, 1, -1, 0, COLLECTOR_NUL_REFUSE, &error);
    g_assert_null(m);
    g_assert_error(error, COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_CLOSED);
    g_assert_nonnull(strstr(error->message, "closed unexpectedly"));
    close_client(p);
    server_finish(srv);
}

static void
test_refused(void)
{
    /* A port nothing listens on: bind one and close it again. */
    g_autoptr(GError) error = NULL;
    g_autoptr(GSocket) s =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
    g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    g_autoptr(GSocketAddress) addr = g_inet_socket_address_new(lo, 0);
    g_assert_true(g_socket_bind(s, addr, TRUE, &error));
    g_autoptr(GSocketAddress) bound = g_socket_get_local_address(s, &error);
    guint16 port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
    g_socket_close(s, NULL);

    CollectorPop3 *p = client_new(port, COLLECTOR_AUTH_USER, COLLECTOR_TLS_NONE, "u", "p");
    g_assert_false(login(p, &error));
    g_assert_error(error, COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_CONNECT);
    g_assert_nonnull(strstr(error->message, "refused the connection"));
    close_client(p);
}

static void
test_greeting_err(void)
{
    static const Step script[] = {
        SEND("-ERR [SYS/TEMP] Too many connections\r\n"),
        STALL,
        END,
    };
    Server *srv = server_start(script);
    CollectorPop3 *p = client_new(srv->port, COLLECTOR_AUTH_USER, COLLECTOR_TLS_NONE, "u", "p");
    g_autoptr(GError) error = NULL;

    g_assert_false(login(p, &error));
    g_assert_error(error, COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_REFUSED);
    g_assert_nonnull(strstr(error->message, "-ERR [SYS/TEMP] Too many connections"));
    close_client(p);
    server_finish(srv);
}

static void
test_oversize(void)
{
    static const Step script[] = {
        LOGIN,          EXPECT("RETR 1"), SEND("+OK\r\n0123456789\r\n0123456789\r\n.\r\n"),
        EXPECT("QUIT"), SEND("+OK\r\n"),  END,
    };
    Server *srv = server_start(script);
    CollectorPop3 *p = client_new(srv->port, COLLECTOR_AUTH_USER, COLLECTOR_TLS_NONE, "u", "p");
    g_autoptr(GError) error = NULL;

    g_assert_true(login(p, &error));
    g_autoptr(CollectorPop3Message) m = fetch(p, 1, -1, 16, COLLECTOR_NUL_REFUSE, &error);
    g_assert_no_error(error);
    g_assert_true(m->oversize);
    g_assert_cmpuint(m->octets, ==, 24);
    g_assert_true(quit(p, &error));
    close_client(p);
    server_finish(srv);
}

#define PIPELINING_CAPA                                                                            \
    GREETING, EXPECT("CAPA"), SEND("+OK\r\nUIDL\r\nPIPELINING\r\nUSER\r\n.\r\n"),                  \
        EXPECT("USER u"), SEND("+OK\r\n"), EXPECT("PASS p"), SEND("+OK\r\n")

/* With PIPELINING the queued commands go out at once: the server reads all
 * three before it answers any (a client that waited would time out), and
 * -ERR for the first ends only that one. */
static void
test_pipelining(void)
{
    static const Step script[] = {
        PIPELINING_CAPA,
        EXPECT("RETR 1"),
        EXPECT("RETR 2"),
        EXPECT("DELE 2"),
        SEND("-ERR gone\r\n+OK\r\nSubject: two\r\n\r\n..dot\r\n.\r\n+OK deleted\r\n"),
        EXPECT("QUIT"),
        SEND("+OK\r\n"),
        END,
    };
    Server *srv = server_start(script);
    CollectorPop3 *p = client_new(srv->port, COLLECTOR_AUTH_USER, COLLECTOR_TLS_NONE, "u", "p");
    g_autoptr(GError) error = NULL;
    Slot q[] = { { .msgno = 1 }, { .msgno = 2 }, { .dele = TRUE, .msgno = 2 } };

    g_assert_true(login(p, &error));
    g_assert_true(collector_pop3_get_capa(p)->pipelining);
    run_queued(p, q, G_N_ELEMENTS(q));
    g_autoptr(CollectorPop3Message) m1 = collector_pop3_fetch_finish(p, q[0].result, &error);
    g_assert_null(m1);
    g_assert_error(error, COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_REFUSED);
    g_clear_error(&error);
    g_autoptr(CollectorPop3Message) m2 = collector_pop3_fetch_finish(p, q[1].result, &error);
    g_assert_no_error(error);
    const char want[] = "Subject: two\r\n\r\n.dot\r\n";
    g_assert_cmpmem(g_bytes_get_data(m2->data, NULL), g_bytes_get_size(m2->data), want,
                    sizeof want - 1);
    g_assert_true(collector_pop3_dele_finish(p, q[2].result, &error));
    g_assert_no_error(error);
    g_assert_true(quit(p, &error));
    close_client(p);
    server_finish(srv);
    clear_slots(q, G_N_ELEMENTS(q));
}

/* Without PIPELINING, queued commands wait for the reply before them. */
static void
test_queue_without_pipelining(void)
{
    static const Step script[] = {
        LOGIN,
        EXPECT("RETR 1"),
        QUIET,
        SEND("+OK\r\none\r\n.\r\n"),
        EXPECT("DELE 1"),
        QUIET,
        SEND("+OK\r\n"),
        EXPECT("RETR 2"),
        SEND("+OK\r\ntwo\r\n.\r\n"),
        EXPECT("QUIT"),
        SEND("+OK\r\n"),
        END,
    };
    Server *srv = server_start(script);
    CollectorPop3 *p = client_new(srv->port, COLLECTOR_AUTH_USER, COLLECTOR_TLS_NONE, "u", "p");
    g_autoptr(GError) error = NULL;
    Slot q[] = { { .msgno = 1 }, { .dele = TRUE, .msgno = 1 }, { .msgno = 2 } };

    g_assert_true(login(p, &error));
    g_assert_false(collector_pop3_get_capa(p)->pipelining);
    run_queued(p, q, G_N_ELEMENTS(q));
    g_autoptr(CollectorPop3Message) m1 = collector_pop3_fetch_finish(p, q[0].result, &error);
    g_assert_no_error(error);
    g_assert_true(collector_pop3_dele_finish(p, q[1].result, &error));
    g_autoptr(CollectorPop3Message) m2 = collector_pop3_fetch_finish(p, q[2].result, &error);
    g_assert_no_error(error);
    g_assert_cmpmem(g_bytes_get_data(m2->data, NULL), g_bytes_get_size(m2->data), "two\r\n", 5);
    g_assert_true(quit(p, &error));
    close_client(p);
    server_finish(srv);
    clear_slots(q, G_N_ELEMENTS(q));
}

/* The connection drops with pipelined commands out: each fails, in order,
 * with the same error, and so does a command asked for afterwards. */
static void
test_pipelining_drop(void)
{
    static const Step script[] = {
        PIPELINING_CAPA,
        EXPECT("RETR 1"),
        EXPECT("RETR 2"),
        EXPECT("DELE 1"),
        SEND("+OK\r\nSubject: cut\r\n"),
        CLOSE,
        { 0, NULL },
    };
    Server *srv = server_start(script);
    CollectorPop3 *p = client_new(srv->port, COLLECTOR_AUTH_USER, COLLECTOR_TLS_NONE, "u", "p");
    g_autoptr(GError) error = NULL;
    Slot q[] = { { .msgno = 1 }, { .msgno = 2 }, { .dele = TRUE, .msgno = 1 } };

    g_assert_true(login(p, &error));
    run_queued(p, q, G_N_ELEMENTS(q));
    g_assert_null(collector_pop3_fetch_finish(p, q[0].result, &error));
    g_assert_error(error, COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_CLOSED);
    g_clear_error(&error);
    g_assert_null(collector_pop3_fetch_finish(p, q[1].result, &error));
    g_assert_error(error, COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_CLOSED);
    g_clear_error(&error);
    g_assert_false(collector_pop3_dele_finish(p, q[2].result, &error));
    g_assert_error(error, COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_CLOSED);
    g_clear_error(&error);
    g_assert_false(quit(p, &error));
    g_assert_error(error, COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_CLOSED);
    close_client(p);
    server_finish(srv);
    clear_slots(q, G_N_ELEMENTS(q));
}

/* pipelining off in the options: a server offering PIPELINING gets one
 * command at a time all the same. */
static void
test_pipelining_off(void)
{
    static const Step script[] = {
        PIPELINING_CAPA,
        EXPECT("RETR 1"),
        QUIET,
        SEND("+OK\r\none\r\n.\r\n"),
        EXPECT("DELE 1"),
        QUIET,
        SEND("+OK\r\n"),
        EXPECT("RETR 2"),
        QUIET,
        SEND("+OK\r\ntwo\r\n.\r\n"),
        EXPECT("QUIT"),
        SEND("+OK\r\n"),
        END,
    };
    Server *srv = server_start(script);
    CollectorPop3Options o = {
        .server = "127.0.0.1",
        .port = srv->port,
        .auth = COLLECTOR_AUTH_USER,
        .username = "u",
        .password = "p",
        .connect_timeout = 5,
        .command_timeout = 2,
        .no_pipelining = TRUE,
    };
    CollectorPop3 *p = collector_pop3_new(&o);
    g_autoptr(GError) error = NULL;
    Slot q[] = { { .msgno = 1 }, { .dele = TRUE, .msgno = 1 }, { .msgno = 2 } };

    g_assert_true(login(p, &error));
    g_assert_true(collector_pop3_get_capa(p)->pipelining);
    g_assert_false(collector_pop3_is_pipelining(p));
    /* CAPA without TOP (RFC 2449 §6.2): it is not tried. */
    g_assert_false(collector_pop3_has_top(p));
    run_queued(p, q, G_N_ELEMENTS(q));
    g_autoptr(CollectorPop3Message) m1 = collector_pop3_fetch_finish(p, q[0].result, &error);
    g_assert_no_error(error);
    g_assert_true(collector_pop3_dele_finish(p, q[1].result, &error));
    g_autoptr(CollectorPop3Message) m2 = collector_pop3_fetch_finish(p, q[2].result, &error);
    g_assert_no_error(error);
    g_assert_true(quit(p, &error));
    close_client(p);
    server_finish(srv);
    clear_slots(q, G_N_ELEMENTS(q));
}

/* A server without TOP: the first TOP is answered -ERR; the TOP queued
 * behind it fails without being sent; RETR works; has_top() says so. */
static void
test_top_refused(void)
{
    static const Step script[] = {
        LOGIN,
        EXPECT("TOP 1 0"),
        SEND("-ERR unknown command\r\n"),
        EXPECT("RETR 2"),
        SEND("+OK\r\nSubject: two\r\n\r\nbody\r\n.\r\n"),
        EXPECT("QUIT"),
        SEND("+OK\r\n"),
        END,
    };
    Server *srv = server_start(script);
    CollectorPop3 *p = client_new(srv->port, COLLECTOR_AUTH_USER, COLLECTOR_TLS_NONE, "u", "p");
    g_autoptr(GError) error = NULL;
    Slot q[] = { { .top = TRUE, .msgno = 1 }, { .top = TRUE, .msgno = 2 }, { .msgno = 2 } };

    g_assert_true(login(p, &error));
    g_assert_true(collector_pop3_has_top(p));
    run_queued(p, q, G_N_ELEMENTS(q));
    g_assert_null(collector_pop3_fetch_finish(p, q[0].result, &error));
    g_assert_error(error, COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_UNSUPPORTED);
    g_clear_error(&error);
    g_assert_null(collector_pop3_fetch_finish(p, q[1].result, &error));
    g_assert_error(error, COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_UNSUPPORTED);
    g_clear_error(&error);
    g_assert_false(collector_pop3_has_top(p));
    g_autoptr(CollectorPop3Message) m = collector_pop3_fetch_finish(p, q[2].result, &error);
    g_assert_no_error(error);
    const char want[] = "Subject: two\r\n\r\nbody\r\n";
    g_assert_cmpmem(g_bytes_get_data(m->data, NULL), g_bytes_get_size(m->data), want,
                    sizeof want - 1);
    g_assert_true(quit(p, &error));
    close_client(p);
    server_finish(srv);
    clear_slots(q, G_N_ELEMENTS(q));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/collector-pop3/session", test_session);
    g_test_add_func("/collector-pop3/apop", test_apop);
    g_test_add_func("/collector-pop3/apop-without-timestamp", test_apop_without_timestamp);
    g_test_add_func("/collector-pop3/cram-md5", test_cram_md5);
    g_test_add_func("/collector-pop3/plain-refused", test_plain_refused);
    g_test_add_func("/collector-pop3/stls-required", test_stls_required);
    g_test_add_func("/collector-pop3/err-mid-download", test_err_mid_download);
    g_test_add_func("/collector-pop3/stall", test_stall);
    g_test_add_func("/collector-pop3/drop", test_drop);
    g_test_add_func("/collector-pop3/refused", test_refused);
    g_test_add_func("/collector-pop3/greeting-err", test_greeting_err);
    g_test_add_func("/collector-pop3/oversize", test_oversize);
    g_test_add_func("/collector-pop3/pipelining", test_pipelining);
    g_test_add_func("/collector-pop3/queue-without-pipelining", test_queue_without_pipelining);
    g_test_add_func("/collector-pop3/pipelining-drop", test_pipelining_drop);
    g_test_add_func("/collector-pop3/pipelining-off", test_pipelining_off);
    g_test_add_func("/collector-pop3/top-refused", test_top_refused);
    return g_test_run();
}
