/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Synchronous operations on one connection. Each is one short statement or
 * one small transaction. Names are compared case-insensitively (stored in
 * lower case). Errors are PR_STORE_ERROR: NOT_FOUND, EXISTS, FAILED. */

#include "store.h"

typedef struct {
    gint64 id;
    char *name;
    char *full_name;
    char *pwhash;
    gboolean enabled;
    gint64 quota_bytes; /* 0 = unlimited */
    gint64 created;     /* unix time */
    gint64 used_bytes;  /* in all folders */
    char *forward_to;   /* ';'-separated; "" = no forwarding */
    gboolean forward_keep_copy;
    char *assistants; /* ';'-separated */
    gboolean assistant_only;
    gboolean in_everyone;
    gint64 max_outgoing_size; /* bytes the user may send; 0 = unlimited */
} StoreUser;

void store_user_free(StoreUser *user);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreUser, store_user_free)
/* The SDK's snapshot of @user (store-api.c); steals its strings. */
PrUser *store_user_to_pr(StoreUser *user);

/* Creates the user, its INBOX and its special-use folders (Sent, Drafts,
 * Trash, Junk) in one transaction. */
gint64 store_user_add(StoreConn *c, const char *name, const char *pwhash, const char *full_name,
                      GError **error);
gboolean store_user_delete(StoreConn *c, const char *name, GError **error);
gboolean store_user_set_password(StoreConn *c, const char *name, const char *pwhash,
                                 GError **error);
gboolean store_user_set_enabled(StoreConn *c, const char *name, gboolean enabled, GError **error);
/* VPOP3's "Max Outgoing Message Size"; read when a message is sent, so
 * the directory snapshot does not carry it. */
gboolean store_user_set_max_outgoing(StoreConn *c, const char *name, gint64 bytes, GError **error);
StoreUser *store_user_get(StoreConn *c, const char *name, GError **error);
GPtrArray *store_user_list(StoreConn *c, GError **error); /* of StoreUser, by name */

typedef struct {
    gint64 id;
    char *name;
} StoreDomain;
void store_domain_free(StoreDomain *d);
gboolean store_domain_add(StoreConn *c, const char *name, GError **error);
gboolean store_domain_delete(StoreConn *c, const char *name, GError **error);
GPtrArray *store_domain_list(StoreConn *c, GError **error); /* of StoreDomain */

typedef struct {
    gint64 id;
    char *pattern; /* "name", "name@domain", "~@domain", wildcards */
    char *target;  /* user, list, address or "*REMOTE" */
} StoreMapping;
void store_mapping_free(StoreMapping *m);
gboolean store_mapping_add(StoreConn *c, const char *pattern, const char *target, GError **error);
/* Deletes every mapping of @pattern, or only the one to @target if not NULL. */
gboolean store_mapping_delete(StoreConn *c, const char *pattern, const char *target,
                              GError **error);
GPtrArray *store_mapping_list(StoreConn *c, GError **error); /* of StoreMapping */

typedef struct {
    gint64 id;
    char *name;
    char *kind; /* "distribution", "forward", "group" */
    char *description;
} StoreList;
void store_list_free(StoreList *l);
gboolean store_list_add(StoreConn *c, const char *name, const char *kind, const char *description,
                        GError **error);
gboolean store_list_delete(StoreConn *c, const char *name, GError **error);
GPtrArray *store_list_list(StoreConn *c, GError **error); /* of StoreList */
gboolean store_list_member_add(StoreConn *c, const char *list, const char *member, GError **error);
gboolean store_list_member_remove(StoreConn *c, const char *list, const char *member,
                                  GError **error);
GPtrArray *store_list_members(StoreConn *c, const char *list, GError **error); /* of char* */

/* loginaudit: one row per authentication attempt. */
typedef struct {
    gint64 id;
    gint64 time; /* unix time */
    char *ip;
    char *username;
    char *service;
    char *mechanism;
    gboolean success;
    char *reason; /* "ok", "bad-password", "unknown-user", "locked", "disabled" */
} StoreLoginAudit;
void store_login_audit_free(StoreLoginAudit *a);
gboolean store_login_audit_add(StoreConn *c, gint64 time, const char *ip, const char *username,
                               const char *service, const char *mechanism, gboolean success,
                               const char *reason, GError **error);
GPtrArray *store_login_audit_list(StoreConn *c, const char *ip_or_null, int limit,
                                  GError **error); /* newest first */
gint64 store_login_audit_purge(StoreConn *c, gint64 older_than, GError **error);

/* Lockout per client address: after @attempts failures within @window
 * seconds the address is locked until last failure + @window. */
gboolean store_lockout_is_locked(StoreConn *c, const char *ip, gint64 now, GError **error);
/* Records a failure; returns TRUE through @now_locked when this failure locks. */
gboolean store_lockout_fail(StoreConn *c, const char *ip, gint64 now, int attempts, gint64 window,
                            gboolean *now_locked, GError **error);
gboolean store_lockout_clear(StoreConn *c, const char *ip, GError **error);

/* Per-module key/value state. Missing key: NULL with NOT_FOUND. */
char *store_module_get(StoreConn *c, const char *module, const char *key, GError **error);
gboolean store_module_set(StoreConn *c, const char *module, const char *key, const char *value,
                          GError **error); /* NULL value deletes */
