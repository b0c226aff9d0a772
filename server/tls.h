/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* TLS through GIO's GTlsConnection on glib-networking's GnuTLS backend.
 * Modules never see GIO TLS or GnuTLS types: the host wraps streams for
 * implicit TLS and STARTTLS. */

#include <gio/gio.h>

typedef struct _TlsContext TlsContext;

/* Refuses to run without a real GnuTLS backend: GIO silently falls back to
 * a dummy backend when glib-networking is missing. */
gboolean tls_check_backend(GError **error);

/* Validates @priority with GnuTLS and hands it to glib-networking; must run
 * before any thread or TLS object exists. */
gboolean tls_set_priority(const char *priority, GError **error);

TlsContext *tls_context_new(const char *cert_file, const char *key_file, GError **error);
void tls_context_free(TlsContext *ctx);
/* SIGHUP: the new certificate serves new connections only. */
gboolean tls_context_reload(TlsContext *ctx, const char *cert_file, const char *key_file,
                            GError **error);

/* A server-side TLS stream over @base, handshake not yet done. */
GIOStream *tls_wrap_server(TlsContext *ctx, GIOStream *base, GError **error);
