/* SPDX-License-Identifier: GPL-3.0-or-later */

/* pop3-load: the POP3 download load of tests/bench/pop3/bench-pop3.py.
 *
 * One process per user, all released at once: each connects, logs in with
 * USER/PASS, asks STAT, RETRs every message (several at a time with
 * --pipeline) and QUITs without DELE, --passes times in a row (a new
 * connection each time: a round long enough to measure steadily without
 * larger mailboxes). Every reply must start with +OK; a
 * message ends at its "." line; the octets between a RETR's status line
 * and that line are counted. The parent prints one JSON line with the
 * totals and the wall-clock time from the release to the last report, and
 * exits 0 only if every client got what it expected.
 *
 * Plain C and blocking sockets, so that the client costs as little CPU as
 * possible: on a small machine its CPU is taken from the servers it
 * measures. Not installed; not a test. */

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS    256
#define MAX_RETRIES    20 /* logins answered [SYS/TEMP] or [IN-USE] */
#define RETRY_PAUSE_US 50000
#define READ_SIZE      (256 * 1024)
#define MAX_LINE_BUF   (64 * 1024 * 1024)
#define REPORT_SIZE    512 /* below PIPE_BUF: one report is one atomic write */

typedef struct {
    const char *host;
    int port;
    const char *password;
    int pipeline;
    int timeout;
    long expect; /* messages per mailbox, -1 for any number */
    int passes;  /* whole-mailbox downloads per client, one session each */
} Options;

typedef struct {
    int fd;
    char *buf;
    size_t start, end, cap;
} Conn;

typedef struct {
    long messages;
    long long octets;
    int retries;
    double logged_in, done; /* CLOCK_MONOTONIC, the same clock in every process */
    char error[REPORT_SIZE - 96];
} Result;

static double
now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(Result *res, const char *format, ...) __attribute__((format(printf, 2, 3)));

static int
fail(Result *res, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    vsnprintf(res->error, sizeof res->error, format, ap);
    va_end(ap);
    return -1;
}

/* Reads more into the buffer, making room first. 0 at the end of the
 * stream, -1 on error or timeout. */
static int
fill(Conn *c)
{
    if (c->start > 0 && c->start == c->end) {
        c->start = c->end = 0;
    } else if (c->start > 0 && c->cap - c->end < READ_SIZE / 4) {
        memmove(c->buf, c->buf + c->start, c->end - c->start);
        c->end -= c->start;
        c->start = 0;
    }
    if (c->cap - c->end < READ_SIZE / 4) {
        size_t cap = c->cap * 2;
        char *grown = cap <= MAX_LINE_BUF ? realloc(c->buf, cap) : NULL;
        if (grown == NULL) {
            errno = ENOMEM;
            return -1;
        }
        c->buf = grown;
        c->cap = cap;
    }
    for (;;) {
        ssize_t n = recv(c->fd, c->buf + c->end, c->cap - c->end, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        c->end += (size_t)n;
        return n > 0;
    }
}

static const char *
fill_error(int rc)
{
    return rc == 0 ? "connection closed" : strerror(errno);
}

/* The next CRLF-terminated line, without its CRLF, NUL-terminated in
 * place; NULL with @res's error set. */
static char *
read_line(Conn *c, Result *res)
{
    for (;;) {
        char *nl = memchr(c->buf + c->start, '\n', c->end - c->start);
        if (nl != NULL) {
            char *line = c->buf + c->start;
            c->start = (size_t)(nl + 1 - c->buf);
            if (nl > line && nl[-1] == '\r')
                nl--;
            *nl = '\0';
            return line;
        }
        int rc = fill(c);
        if (rc <= 0) {
            fail(res, "reading a reply: %s", fill_error(rc));
            return NULL;
        }
    }
}

/* Reads a multi-line body up to its "." line; adds the octets before that
 * line (dot-stuffing and CRLFs included) to @octets. */
static int
read_body(Conn *c, long long *octets, Result *res)
{
    for (;;) {
        char *line = c->buf + c->start;
        char *nl = memchr(line, '\n', c->end - c->start);
        if (nl == NULL) {
            int rc = fill(c);
            if (rc <= 0)
                return fail(res, "reading a message: %s", fill_error(rc));
            continue;
        }
        size_t len = (size_t)(nl + 1 - line);
        c->start += len;
        if (len == 3 && line[0] == '.' && line[1] == '\r')
            return 0;
        *octets += (long long)len;
    }
}

static int
send_all(int fd, const char *data, size_t len, Result *res)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail(res, "sending: %s", strerror(errno));
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int
connect_to(const Options *o, Result *res)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o->port) };
    struct timeval tv = { .tv_sec = o->timeout };
    int one = 1;

    if (inet_pton(AF_INET, o->host, &sa.sin_addr) != 1)
        return fail(res, "bad address %s", o->host);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(res, "socket: %s", strerror(errno));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fail(res, "connect to %s:%d: %s", o->host, o->port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int
is_ok(const char *line)
{
    return strncmp(line, "+OK", 3) == 0;
}

static int
login(Conn *c, const Options *o, const char *user, Result *res)
{
    char cmd[1024];
    int len = snprintf(cmd, sizeof cmd, "USER %s\r\nPASS %s\r\n", user, o->password);
    if (len < 0 || (size_t)len >= sizeof cmd)
        return fail(res, "user name or password too long");

    for (;;) {
        const char *line;
        if (send_all(c->fd, cmd, (size_t)len, res) < 0 || (line = read_line(c, res)) == NULL)
            return -1;
        if (!is_ok(line))
            return fail(res, "USER: %.200s", line);
        if ((line = read_line(c, res)) == NULL)
            return -1;
        if (is_ok(line))
            return 0;
        /* A temporary answer is retried as a client's next poll would. */
        if (res->retries >= MAX_RETRIES ||
            (strstr(line, "[SYS/TEMP]") == NULL && strstr(line, "[IN-USE]") == NULL))
            return fail(res, "PASS: %.200s", line);
        res->retries++;
        usleep(RETRY_PAUSE_US);
    }
}

static int
download(Conn *c, const Options *o, const char *user, Result *res)
{
    const char *line;
    long count;
    char *end;

    if ((line = read_line(c, res)) == NULL)
        return -1;
    if (!is_ok(line))
        return fail(res, "greeting: %.200s", line);
    if (login(c, o, user, res) < 0)
        return -1;
    res->logged_in = now_seconds();
    if (send_all(c->fd, "STAT\r\n", 6, res) < 0 || (line = read_line(c, res)) == NULL)
        return -1;
    if (!is_ok(line))
        return fail(res, "STAT: %.200s", line);
    errno = 0;
    count = strtol(line + 3, &end, 10);
    if (errno != 0 || end == line + 3 || count < 0)
        return fail(res, "STAT: bad reply %.200s", line);
    if (o->expect >= 0 && count != o->expect)
        return fail(res, "STAT: %ld messages, expected %ld", count, o->expect);

    size_t cmd_cap = (size_t)o->pipeline * 24;
    char *cmds = malloc(cmd_cap);
    if (cmds == NULL)
        return fail(res, "out of memory");
    for (long n = 1; n <= count;) {
        long batch = count - n + 1 < o->pipeline ? count - n + 1 : o->pipeline;
        size_t len = 0;
        for (long i = 0; i < batch; i++)
            len += (size_t)snprintf(cmds + len, cmd_cap - len, "RETR %ld\r\n", n + i);
        if (send_all(c->fd, cmds, len, res) < 0)
            goto out;
        for (long i = 0; i < batch; i++) {
            if ((line = read_line(c, res)) == NULL)
                goto out;
            if (!is_ok(line)) {
                fail(res, "RETR %ld: %.200s", n + i, line);
                goto out;
            }
            if (read_body(c, &res->octets, res) < 0)
                goto out;
            res->messages++;
        }
        n += batch;
    }
    free(cmds);
    if (send_all(c->fd, "QUIT\r\n", 6, res) < 0 || (line = read_line(c, res)) == NULL)
        return -1;
    if (!is_ok(line))
        return fail(res, "QUIT: %.200s", line);
    res->done = now_seconds();
    return 0;
out:
    free(cmds);
    return -1;
}

/* A client process: waits for the release, downloads, reports one line. */
static void
client_main(const Options *o, const char *user, int start_fd, int report_fd)
{
    Result res = { 0 };
    Conn c = { .fd = -1, .cap = READ_SIZE };
    char buf[1];
    char report[REPORT_SIZE];
    int rc = -1;

    alarm((unsigned)o->timeout);
    /* Released when the parent closes its end. */
    while (read(start_fd, buf, 1) < 0 && errno == EINTR)
        ;
    c.buf = malloc(c.cap);
    if (c.buf == NULL)
        fail(&res, "out of memory");
    for (int pass = 0; c.buf != NULL && pass < o->passes; pass++) {
        double logged_in = res.logged_in;

        c.start = c.end = 0;
        if ((c.fd = connect_to(o, &res)) < 0 || (rc = download(&c, o, user, &res)) != 0)
            break;
        close(c.fd);
        c.fd = -1;
        /* The first login of the first pass starts the transfer time. */
        if (pass > 0)
            res.logged_in = logged_in;
    }
    if (rc == 0)
        snprintf(report, sizeof report, "ok %ld %lld %d %.6f %.6f\n", res.messages, res.octets,
                 res.retries, res.logged_in, res.done);
    else
        snprintf(report, sizeof report, "error %s: %s\n", user, res.error);
    if (write(report_fd, report, strlen(report)) < 0)
        rc = -1;
    if (c.fd >= 0)
        close(c.fd);
    free(c.buf);
    _exit(rc == 0 ? 0 : 1);
}

/* A JSON string of @text (ASCII control characters escaped). */
static void
print_json_string(const char *text)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static void
usage(FILE *out)
{
    fprintf(out, "Usage: pop3-load --port PORT --password PASSWORD [--host ADDRESS] "
                 "[--pipeline N] [--passes N] [--timeout SECONDS] [--expect N] USER...\n"
                 "Downloads every listed user's mailbox in parallel (one process each, "
                 "--passes times in a row) and "
                 "prints one JSON line:\n"
                 "{\"ok\": true|false, \"clients\": N, \"messages\": N, \"octets\": N, "
                 "\"retries\": N, \"seconds\": S, \"transfer_seconds\": S, "
                 "\"errors\": [...]}\n");
}

int
main(int argc, char **argv)
{
    Options o = { .host = "127.0.0.1", .pipeline = 1, .timeout = 300, .expect = -1, .passes = 1 };
    static const struct option longopts[] = {
        { "host", required_argument, NULL, 'H' },
        { "port", required_argument, NULL, 'p' },
        { "password", required_argument, NULL, 'P' },
        { "pipeline", required_argument, NULL, 'n' },
        { "timeout", required_argument, NULL, 't' },
        { "expect", required_argument, NULL, 'e' },
        { "passes", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt;

    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'H':
            o.host = optarg;
            break;
        case 'p':
            o.port = atoi(optarg);
            break;
        case 'P':
            o.password = optarg;
            break;
        case 'n':
            o.pipeline = atoi(optarg);
            break;
        case 't':
            o.timeout = atoi(optarg);
            break;
        case 'e':
            o.expect = atol(optarg);
            break;
        case 'r':
            o.passes = atoi(optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    int n_clients = argc - optind;
    if (o.port <= 0 || o.port > 65535 || o.password == NULL || o.pipeline < 1 ||
        o.pipeline > 10000 || o.timeout < 1 || o.passes < 1 || o.passes > 1000 || n_clients < 1 ||
        n_clients > MAX_CLIENTS) {
        usage(stderr);
        return 2;
    }

    int start[2], report[2];
    pid_t pids[MAX_CLIENTS];
    if (pipe(start) != 0 || pipe(report) != 0) {
        perror("pipe");
        return 2;
    }
    fflush(stdout);
    for (int i = 0; i < n_clients; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            perror("fork");
            return 2;
        }
        if (pids[i] == 0) {
            close(start[1]);
            close(report[0]);
            client_main(&o, argv[optind + i], start[0], report[1]);
        }
    }
    close(start[0]);
    close(report[1]);
    /* The parent's own bound: a child that hangs is ended by its alarm. */
    alarm((unsigned)o.timeout + 10);

    double t0 = now_seconds();
    close(start[1]);
    long messages = 0;
    long long octets = 0;
    double first_login = 0, last_done = 0;
    int retries = 0, reports = 0;
    char errors[MAX_CLIENTS][REPORT_SIZE];
    int n_errors = 0;
    FILE *in = fdopen(report[0], "r");
    char line[REPORT_SIZE];
    while (in != NULL && fgets(line, sizeof line, in) != NULL) {
        long m;
        long long b;
        int r;
        double logged_in, done;
        reports++;
        line[strcspn(line, "\n")] = '\0';
        if (sscanf(line, "ok %ld %lld %d %lf %lf", &m, &b, &r, &logged_in, &done) == 5) {
            messages += m;
            octets += b;
            retries += r;
            if (first_login == 0 || logged_in < first_login)
                first_login = logged_in;
            if (done > last_done)
                last_done = done;
        } else if (n_errors < MAX_CLIENTS) {
            snprintf(errors[n_errors++], REPORT_SIZE, "%s",
                     strncmp(line, "error ", 6) == 0 ? line + 6 : line);
        }
    }
    double elapsed = now_seconds() - t0;
    if (in != NULL)
        fclose(in);

    int failed_exits = 0;
    for (int i = 0; i < n_clients; i++) {
        int status = 0;
        pid_t done;
        do
            done = waitpid(pids[i], &status, 0);
        while (done < 0 && errno == EINTR);
        if (done < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed_exits++;
    }
    if (reports < n_clients && n_errors < MAX_CLIENTS)
        snprintf(errors[n_errors++], REPORT_SIZE, "%d clients ended without a report (timeout?)",
                 n_clients - reports);
    int ok = n_errors == 0 && failed_exits == 0;

    /* transfer_seconds: from the first client logged in to the last QUIT
     * answered, i.e. without the connections and logins before. */
    printf("{\"ok\": %s, \"clients\": %d, \"messages\": %ld, \"octets\": %lld, "
           "\"retries\": %d, \"seconds\": %.6f, \"transfer_seconds\": %.6f, \"errors\": [",
           ok ? "true" : "false", n_clients, messages, octets, retries, elapsed,
           ok ? last_done - first_login : 0.0);
    for (int i = 0; i < n_errors; i++) {
        if (i > 0)
            printf(", ");
        print_json_string(errors[i]);
    }
    printf("]}\n");
    return ok ? 0 : 1;
}
