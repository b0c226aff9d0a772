/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "store-queries.h"
#include "store-secrets.h"

/* Same bound as the other names of the store. */
#define MAX_NAME_LEN 1024

static void
wipe_string(char *s)
{
    if (s == NULL)
        return;
    explicit_bzero(s, strlen(s));
    g_free(s);
}

void
store_user_secret_free(StoreUserSecret *s)
{
    if (s == NULL)
        return;
    g_free(s->name);
    if (s->secret != NULL) {
        explicit_bzero(s->secret, s->secret_len);
        g_free(s->secret);
    }
    g_free(s);
}

/* The lower-case name, or NULL for a name that cannot exist. */
static char *
lookup_name(const char *name)
{
    if (name == NULL || name[0] == '\0' || strlen(name) > MAX_NAME_LEN ||
        !g_utf8_validate(name, -1, NULL))
        return NULL;
    return g_utf8_strdown(name, -1);
}

static void
set_no_user(GError **error, const char *name)
{
    g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND, _("There is no user “%s”."),
                name != NULL ? name : "");
}

StoreUserSecret *
store_user_secret_get(StoreConn *c, const char *name, GError **error)
{
    g_autofree char *lname = lookup_name(name);
    g_autoptr(GdaDataModel) model = NULL;
    StoreUserSecret *s;
    char *encoded;

    /* Garbage names are unknown users, as in store_user_get(). */
    if (lname == NULL) {
        g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND, _("No such user."));
        return NULL;
    }
    model = store_conn_select(c, Q_SECRET_GET, error, "name", lname, NULL);
    if (model == NULL)
        return NULL;
    if (gda_data_model_get_n_rows(model) < 1) {
        set_no_user(error, lname);
        return NULL;
    }
    s = g_new0(StoreUserSecret, 1);
    s->name = store_model_string(model, 0, 0);
    s->enabled = store_model_bool(model, 1, 0);
    encoded = store_model_string(model, 2, 0);
    if (encoded != NULL && *encoded != '\0') {
        s->secret = g_base64_decode(encoded, &s->secret_len);
        if (s->secret_len == 0)
            g_clear_pointer(&s->secret, g_free);
    }
    wipe_string(encoded);
    return s;
}

static gint64
user_id(StoreConn *c, const char *lname, GError **error)
{
    g_autoptr(GdaDataModel) model = store_conn_select(c, Q_USER_ID, error, "name", lname, NULL);

    if (model == NULL)
        return -1;
    if (gda_data_model_get_n_rows(model) < 1) {
        set_no_user(error, lname);
        return -1;
    }
    return store_model_int64(model, 0, 0);
}

/* Inside a transaction, or alone. */
static gboolean
secret_set(StoreConn *c, const char *lname, const guint8 *secret, gsize len, GError **error)
{
    gint64 id = user_id(c, lname, error);
    char *encoded;
    gint rows;

    if (id < 0)
        return FALSE;
    encoded = g_base64_encode(secret, len);
    rows = store_conn_exec(c, Q_SECRET_SET, error, "user_id", id, "secret", encoded, "now",
                           (gint64)(g_get_real_time() / G_USEC_PER_SEC), NULL);
    wipe_string(encoded);
    return rows >= 0;
}

gboolean
store_user_secret_set(StoreConn *c, const char *name, const guint8 *secret, gsize len,
                      GError **error)
{
    g_autofree char *lname = lookup_name(name);

    g_return_val_if_fail(secret != NULL && len > 0, FALSE);
    if (lname == NULL) {
        set_no_user(error, name);
        return FALSE;
    }
    return secret_set(c, lname, secret, len, error);
}

gint
store_user_secret_drop(StoreConn *c, const char *name, GError **error)
{
    g_autofree char *lname = NULL;

    if (name == NULL)
        return store_conn_exec(c, Q_SECRET_DROP_ALL, error, NULL);
    lname = lookup_name(name);
    if (lname == NULL) {
        set_no_user(error, name);
        return -1;
    }
    return store_conn_exec(c, Q_SECRET_DROP, error, "name", lname, NULL);
}

GHashTable *
store_user_secret_names(StoreConn *c, GError **error)
{
    g_autoptr(GdaDataModel) model = store_conn_select(c, Q_SECRET_NAMES, error, NULL);
    GHashTable *names;
    int n;

    if (model == NULL)
        return NULL;
    names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    n = gda_data_model_get_n_rows(model);
    for (int row = 0; row < n; row++) {
        char *name = store_model_string(model, 0, row);
        if (name != NULL)
            g_hash_table_add(names, name);
    }
    return names;
}

gboolean
store_user_set_password_and_secret(StoreConn *c, const char *name, const char *pwhash,
                                   const guint8 *secret, gsize len, GError **error)
{
    g_autofree char *lname = lookup_name(name);
    gint rows;

    if (lname == NULL) {
        set_no_user(error, name);
        return FALSE;
    }
    if (pwhash == NULL || !g_utf8_validate(pwhash, -1, NULL)) {
        g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                            _("Invalid text value (missing, too long or not UTF-8)."));
        return FALSE;
    }
    if (!store_begin(c, error))
        return FALSE;
    rows = store_conn_exec(c, Q_USER_SET_PASSWORD, error, "pwhash", pwhash, "name", lname, NULL);
    if (rows == 0)
        set_no_user(error, lname);
    if (rows <= 0)
        goto fail;
    if (secret != NULL && len > 0) {
        if (!secret_set(c, lname, secret, len, error))
            goto fail;
    } else if (store_conn_exec(c, Q_SECRET_DROP, error, "name", lname, NULL) < 0) {
        goto fail;
    }
    return store_commit(c, error);

fail:
    store_rollback(c);
    return FALSE;
}
