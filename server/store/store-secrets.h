/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The secrets APOP and CRAM-MD5 check digests against (table user_secrets,
 * migration 004): the password's bytes, readable back, stored only when
 * [auth] store_secrets=true. Only the authentication code and postroomctl
 * use them; they are never logged nor printed. */

#include "store.h"

typedef struct {
    char *name;       /* canonical account name */
    gboolean enabled; /* the account may log in */
    guint8 *secret;   /* NULL: the account has no stored secret */
    gsize secret_len;
} StoreUserSecret;

/* Frees @s, wiping the secret. */
void store_user_secret_free(StoreUserSecret *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreUserSecret, store_user_secret_free)

/* The account @name with its secret, in one statement; PR_STORE_ERROR_NOT_FOUND
 * for an unknown (or impossible) name. */
StoreUserSecret *store_user_secret_get(StoreConn *c, const char *name, GError **error);
/* Stores (or replaces) the secret of @name. */
gboolean store_user_secret_set(StoreConn *c, const char *name, const guint8 *secret, gsize len,
                               GError **error);
/* Deletes the secret of @name, or every secret when @name is NULL. Returns
 * the number of secrets deleted, or -1 with @error set. */
gint store_user_secret_drop(StoreConn *c, const char *name, GError **error);
/* The names of the accounts that have a secret, as a set (char* keys). */
GHashTable *store_user_secret_names(StoreConn *c, GError **error);
/* Sets the password hash of @name and, in the same transaction, its secret
 * (@secret not NULL) or no secret (@secret NULL): the secret never outlives
 * the password it was stored with. */
gboolean store_user_set_password_and_secret(StoreConn *c, const char *name, const char *pwhash,
                                            const guint8 *secret, gsize len, GError **error);
