/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* A private PostgreSQL server for tests: a temporary cluster on
 * 127.0.0.1 and a free port, run as the "postgres" OS user when the test
 * runs as root (PostgreSQL refuses root). Clients connect over TCP with a
 * password (scram-sha-256), so the store's credential handling is real.
 * If the test process dies, a watchdog child stops the server. */

#include <gio/gio.h>

typedef struct _PgServer PgServer;

/* Returns NULL with G_IO_ERROR_NOT_FOUND when PostgreSQL is not
 * installed (the caller skips; POSTROOM_TEST_PG_BINDIR overrides the
 * default /usr/lib/postgresql/15/bin), or another error if it fails to start. */
PgServer *pg_server_start(GError **error);
void pg_server_stop(PgServer *server);

int pg_server_get_port(PgServer *server);
/* The login role that owns the databases, and its password. */
const char *pg_server_get_role(PgServer *server);
const char *pg_server_get_password(PgServer *server);

/* Creates database @name owned by the role. */
gboolean pg_server_create_database(PgServer *server, const char *name, GError **error);
