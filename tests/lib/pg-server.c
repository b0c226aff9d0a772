/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <glib-unix.h>

#include "pg-server.h"

#define PG_BINDIR_DEFAULT "/usr/lib/postgresql/15/bin"
#define PG_ROLE           "postroom_test"
/* Characters that must survive the libgda auth string encoding. */
#define PG_PASSWORD "p;w=d%&x y"

struct _PgServer {
    char *bindir;
    char *dir;
    char *data_dir;
    char *sock_dir;
    int port;
    gboolean as_postgres; /* run the server binaries through su */
    int watchdog_fd;      /* write end; the child stops the server on EOF */
    GPid watchdog_pid;
};

/* Runs @cmd through the shell as the server's OS user. */
static gboolean
run_as_server_user(PgServer *server, const char *cmd, GError **error)
{
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    const char *su_argv[] = { "su", "postgres", "-s", "/bin/sh", "-c", cmd, NULL };
    const char *sh_argv[] = { "/bin/sh", "-c", cmd, NULL };
    int status = 0;

    if (!g_spawn_sync(NULL, (char **)(server->as_postgres ? su_argv : sh_argv), NULL,
                      G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, error))
        return FALSE;
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "command failed: %s\n%s%s", cmd, out,
                    err);
        return FALSE;
    }
    return TRUE;
}

static int
free_port(void)
{
    g_autoptr(GSocket) sock = NULL;
    g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    g_autoptr(GSocketAddress) addr = g_inet_socket_address_new(lo, 0);
    g_autoptr(GSocketAddress) bound = NULL;

    sock = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
    if (sock == NULL || !g_socket_bind(sock, addr, FALSE, NULL))
        return -1;
    bound = g_socket_get_local_address(sock, NULL);
    if (bound == NULL)
        return -1;
    return g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
}

static gboolean
chown_to_postgres(PgServer *server, const char *path, GError **error)
{
    struct passwd *pw;

    if (!server->as_postgres)
        return TRUE;
    pw = getpwnam("postgres");
    if (pw == NULL) {
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                            "there is no \"postgres\" OS user to run PostgreSQL as");
        return FALSE;
    }
    if (chown(path, pw->pw_uid, pw->pw_gid) < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "chown %s: %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

static char *
stop_command(PgServer *server)
{
    g_autofree char *q_data = g_shell_quote(server->data_dir);

    return g_strdup_printf("%s/pg_ctl -D %s -m fast -w -t 60 stop >/dev/null 2>&1", server->bindir,
                           q_data);
}

/* A child that waits for the test process to go away (its pipe closes,
 * also when the test aborts), then stops the server and removes the
 * directory. */
static gboolean
start_watchdog(PgServer *server, GError **error)
{
    g_autofree char *stop = stop_command(server);
    g_autofree char *q_stop = g_shell_quote(stop);
    g_autofree char *q_dir = g_shell_quote(server->dir);
    g_autofree char *script = NULL;
    int fds[2];
    pid_t pid;

    /* POSTROOM_TEST_PG_LOG=FILE keeps the server log for debugging. */
    if (server->as_postgres)
        script = g_strdup_printf(
            "su postgres -s /bin/sh -c %s; "
            "[ -z \"$POSTROOM_TEST_PG_LOG\" ] || cp %s/log \"$POSTROOM_TEST_PG_LOG\"; "
            "rm -rf %s",
            q_stop, q_dir, q_dir);
    else
        script = g_strdup_printf(
            "%s; "
            "[ -z \"$POSTROOM_TEST_PG_LOG\" ] || cp %s/log \"$POSTROOM_TEST_PG_LOG\"; "
            "rm -rf %s",
            stop, q_dir, q_dir);

    if (!g_unix_open_pipe(fds, FD_CLOEXEC, error))
        return FALSE;
    pid = fork();
    if (pid < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "fork: %s", g_strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return FALSE;
    }
    if (pid == 0) {
        char c;

        /* Only async-signal-safe calls until exec. */
        close(fds[1]);
        signal(SIGINT, SIG_IGN);
        for (;;) {
            ssize_t n = read(fds[0], &c, 1);

            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
        }
        execl("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    server->watchdog_fd = fds[1];
    server->watchdog_pid = pid;
    return TRUE;
}

PgServer *
pg_server_start(GError **error)
{
    PgServer *server;
    g_autofree char *q_data = NULL;
    g_autofree char *q_sock = NULL;
    g_autofree char *q_log = NULL;
    g_autofree char *cmd = NULL;
    g_autofree char *pwfile_dir = NULL;
    g_autoptr(GError) local = NULL;

    /* POSTROOM_TEST_PG_BINDIR points at another installation (or at none,
     * to check that the tests skip). */
    const char *bindir = g_getenv("POSTROOM_TEST_PG_BINDIR");
    g_autofree char *initdb = NULL;

    if (bindir == NULL)
        bindir = PG_BINDIR_DEFAULT;
    initdb = g_build_filename(bindir, "initdb", NULL);
    if (!g_file_test(initdb, G_FILE_TEST_IS_EXECUTABLE)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "PostgreSQL is not installed (%s is missing)", initdb);
        return NULL;
    }

    server = g_new0(PgServer, 1);
    server->bindir = g_strdup(bindir);
    server->watchdog_fd = -1;
    server->as_postgres = geteuid() == 0;
    server->dir = g_dir_make_tmp("postroom-pg-XXXXXX", error);
    if (server->dir == NULL) {
        g_free(server);
        return NULL;
    }
    server->data_dir = g_build_filename(server->dir, "data", NULL);
    server->sock_dir = g_build_filename(server->dir, "sock", NULL);
    if (g_mkdir(server->data_dir, 0700) < 0 || g_mkdir(server->sock_dir, 0700) < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "mkdir: %s",
                    g_strerror(errno));
        goto fail;
    }
    if (!chown_to_postgres(server, server->dir, error) ||
        !chown_to_postgres(server, server->data_dir, error) ||
        !chown_to_postgres(server, server->sock_dir, error))
        goto fail;
    if (!start_watchdog(server, error))
        goto fail;

    q_data = g_shell_quote(server->data_dir);
    q_sock = g_shell_quote(server->sock_dir);
    {
        g_autofree char *log = g_build_filename(server->dir, "log", NULL);
        q_log = g_shell_quote(log);
    }

    /* Local (socket) connections for administration, passwords over TCP. */
    cmd = g_strdup_printf("%s/initdb -D %s -U postgres -E UTF8 --no-locale "
                          "--auth-local=trust --auth-host=scram-sha-256 >/dev/null",
                          server->bindir, q_data);
    if (!run_as_server_user(server, cmd, error))
        goto fail;

    for (int attempt = 0; attempt < 3; attempt++) {
        server->port = free_port();
        if (server->port <= 0)
            continue;
        g_free(cmd);
        cmd = g_strdup_printf("%s/pg_ctl -D %s -l %s -w -t 60 -o "
                              "\"-k %s -p %d -c listen_addresses=127.0.0.1 "
                              "-c fsync=off -c synchronous_commit=off\" start >/dev/null",
                              server->bindir, q_data, q_log, q_sock, server->port);
        g_clear_error(&local);
        if (run_as_server_user(server, cmd, &local))
            break;
        server->port = 0;
    }
    if (server->port <= 0) {
        g_propagate_prefixed_error(error, g_steal_pointer(&local), "PostgreSQL did not start: ");
        if (error != NULL && *error == NULL)
            g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, "no free port");
        goto fail;
    }

    g_free(cmd);
    cmd = g_strdup_printf("%s/psql -X -q -h %s -p %d -U postgres -d postgres "
                          "-v ON_ERROR_STOP=1 -c %s",
                          server->bindir, q_sock, server->port,
                          "\"CREATE ROLE " PG_ROLE " LOGIN PASSWORD '" PG_PASSWORD "'\"");
    if (!run_as_server_user(server, cmd, error))
        goto fail;
    return server;

fail:
    pg_server_stop(server);
    return NULL;
}

void
pg_server_stop(PgServer *server)
{
    if (server == NULL)
        return;
    if (server->watchdog_fd >= 0) {
        int status;

        /* The watchdog stops the server and removes the directory. */
        close(server->watchdog_fd);
        while (waitpid(server->watchdog_pid, &status, 0) < 0 && errno == EINTR)
            ;
    } else if (server->dir != NULL) {
        g_autofree char *q_dir = g_shell_quote(server->dir);
        g_autofree char *cmd = g_strdup_printf("rm -rf %s", q_dir);

        if (system(cmd) != 0)
            g_warning("could not remove %s", server->dir);
    }
    g_free(server->bindir);
    g_free(server->dir);
    g_free(server->data_dir);
    g_free(server->sock_dir);
    g_free(server);
}

int
pg_server_get_port(PgServer *server)
{
    return server->port;
}

const char *
pg_server_get_role(PgServer *server)
{
    return PG_ROLE;
}

const char *
pg_server_get_password(PgServer *server)
{
    return PG_PASSWORD;
}

gboolean
pg_server_create_database(PgServer *server, const char *name, GError **error)
{
    g_autofree char *q_sock = g_shell_quote(server->sock_dir);
    g_autofree char *q_name = g_shell_quote(name);
    g_autofree char *cmd = NULL;

    cmd = g_strdup_printf("%s/createdb -h %s -p %d -U postgres -O " PG_ROLE " %s", server->bindir,
                          q_sock, server->port, q_name);
    return run_as_server_user(server, cmd, error);
}
