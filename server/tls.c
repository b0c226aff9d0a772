/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tls.h"

#include <glib/gi18n-lib.h>
#include <gnutls/gnutls.h>

struct _TlsContext {
    GTlsCertificate *certificate;
};

gboolean
tls_check_backend(GError **error)
{
    GTlsBackend *backend = g_tls_backend_get_default();
    const char *type = G_OBJECT_TYPE_NAME(backend);

    if (!g_tls_backend_supports_tls(backend) || g_strcmp0(type, "GTlsBackendGnutls") != 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    _("TLS is not available: GIO's TLS backend is %s, not GnuTLS. Install the "
                      "glib-networking package."),
                    type);
        return FALSE;
    }
    return TRUE;
}

gboolean
tls_set_priority(const char *priority, GError **error)
{
    gnutls_priority_t cache;
    const char *err_pos = NULL;

    /* The only direct GnuTLS call: glib-networking reads its priority from
     * the environment, so a typo would otherwise surface as handshake
     * failures long after start-up. */
    int rc = gnutls_priority_init2(&cache, priority, &err_pos, GNUTLS_PRIORITY_INIT_DEF_APPEND);
    if (rc != GNUTLS_E_SUCCESS) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    _("invalid [tls] priority “%s” near “%s”: %s"), priority,
                    err_pos != NULL ? err_pos : "", gnutls_strerror(rc));
        return FALSE;
    }
    gnutls_priority_deinit(cache);
    g_setenv("G_TLS_GNUTLS_PRIORITY", priority, TRUE);
    return TRUE;
}

static GTlsCertificate *
load_certificate(const char *cert_file, const char *key_file, GError **error)
{
    g_autoptr(GError) local = NULL;
    GTlsCertificate *cert = g_tls_certificate_new_from_files(cert_file, key_file, &local);
    if (cert == NULL)
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    _("cannot load the TLS certificate %s with key %s: %s"), cert_file, key_file,
                    local->message);
    return cert;
}

TlsContext *
tls_context_new(const char *cert_file, const char *key_file, GError **error)
{
    GTlsCertificate *cert = load_certificate(cert_file, key_file, error);
    if (cert == NULL)
        return NULL;
    TlsContext *ctx = g_new0(TlsContext, 1);
    ctx->certificate = cert;
    return ctx;
}

void
tls_context_free(TlsContext *ctx)
{
    if (ctx == NULL)
        return;
    g_clear_object(&ctx->certificate);
    g_free(ctx);
}

gboolean
tls_context_reload(TlsContext *ctx, const char *cert_file, const char *key_file, GError **error)
{
    GTlsCertificate *cert = load_certificate(cert_file, key_file, error);
    if (cert == NULL)
        return FALSE;
    g_set_object(&ctx->certificate, cert);
    g_object_unref(cert);
    return TRUE;
}

GIOStream *
tls_wrap_server(TlsContext *ctx, GIOStream *base, GError **error)
{
    GIOStream *tls = g_tls_server_connection_new(base, ctx->certificate, error);
    if (tls == NULL)
        return NULL;
    /* Line protocols end with QUIT or LOGOUT; many clients then close
     * without close_notify, which is harmless here. */
    g_tls_connection_set_require_close_notify(G_TLS_CONNECTION(tls), FALSE);
    return tls;
}
