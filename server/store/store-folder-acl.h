/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Shared folders (pr-folder.h): "#users/OWNER/NAME" names, the rights
 * (RFC 4314) a user has on another user's folder, and the access control
 * lists. Every store function that takes a user and a folder name resolves
 * the name here first, so that one place decides who may do what. */

#include <postroom/pr-folder.h>
#include "store.h"

/* Room for every right and the terminating NUL. */
#define STORE_RIGHTS_SIZE (sizeof(PR_FOLDER_RIGHTS_ALL))

typedef struct {
    char *owner;      /* the folder's owner, lower case */
    char *folder;     /* its name among the owner's folders, INBOX canonical */
    gint64 owner_id;  /* 0 when not looked up (the actor's own folder) */
    gint64 folder_id; /* 0 when not looked up, or for one to be created */
    gboolean shared;  /* another user's folder */
    char rights[STORE_RIGHTS_SIZE];
} StoreFolderRef;

void store_folder_ref_clear(StoreFolderRef *ref);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(StoreFolderRef, store_folder_ref_clear)

/* ---- rights as text: letters of PR_FOLDER_RIGHTS_ALL in its order ---- */

/* The letters of @rights known to RFC 4314, in canonical order, into @out. */
void store_rights_canonical(const char *rights, char out[STORE_RIGHTS_SIZE]);
/* Whether @rights has every letter of @need. */
gboolean store_rights_have(const char *rights, const char *need);
/* @current changed by a SETACL rights argument: "+lr" adds, "-w" takes
 * away, anything else replaces; the obsolete "c" means "k", "d" "xte"
 * (RFC 4314 §2.1.1). An unknown letter is PR_STORE_ERROR_FAILED. */
gboolean store_rights_modify(const char *current, const char *spec, char out[STORE_RIGHTS_SIZE],
                             GError **error);
/* The flags of @wanted that @rights let be set or cleared, the others as
 * in @current: \Seen needs "s", \Deleted "t", the rest "w" (RFC 4314 §4).
 * Both lists are space-separated; the result keeps @wanted's order. */
char *store_rights_restrict_flags(const char *current, const char *wanted, const char *rights);

/* ---- resolving names ---- */

/* @name as @actor sees it: the actor's own folder (every right, no
 * database access), or "#users/OWNER/NAME". For another user's folder the
 * folder must exist and @actor have "l" or "r" on it (else
 * PR_STORE_ERROR_NOT_FOUND), and every right of @need (else
 * PR_STORE_ERROR_PERMISSION). @need may be NULL or "". */
gboolean store_folder_resolve(StoreConn *c, const char *actor, const char *name, const char *need,
                              StoreFolderRef *ref, GError **error);
/* For a folder to be made (CREATE, RENAME's new name): another user's
 * needs "k" on the nearest existing folder above it; a top-level folder
 * can only be made by its owner. ref->rights are those on that parent. */
gboolean store_folder_resolve_create(StoreConn *c, const char *actor, const char *name,
                                     StoreFolderRef *ref, GError **error);
/* Fills ref->owner_id and ref->folder_id if not yet known;
 * PR_STORE_ERROR_NOT_FOUND if the folder does not exist. */
gboolean store_folder_ref_lookup(StoreConn *c, StoreFolderRef *ref, const char *name,
                                 GError **error);

/* ---- listing, subscriptions ---- */

/* Appends to @list (PrFolderInfo) the other users' folders @actor has "l"
 * on, as "#users/OWNER/NAME", sorted by owner and name. */
gboolean store_folder_list_shared(StoreConn *c, const char *actor, GPtrArray *list, GError **error);
/* @actor's own subscription to another user's folder. */
gboolean store_folder_subscribe_shared(StoreConn *c, const char *actor, const StoreFolderRef *ref,
                                       gboolean subscribed, GError **error);
/* A new folder takes over its parent's entries. */
gboolean store_folder_acl_inherit(StoreConn *c, gint64 user_id, const char *folder, GError **error);
/* A deleted user's entries go: a new user of that name gets none. */
gboolean store_folder_acl_forget_user(StoreConn *c, const char *name, GError **error);

/* ---- the ACL operations (pr_folder_rights_async() and the others) ---- */

/* @actor's rights on @name (MYRIGHTS). */
char *store_folder_rights(StoreConn *c, const char *actor, const char *name, GError **error);
/* The entries (PrFolderAclEntry), the owner first with every right, then
 * the others by identifier. Needs "a". */
GPtrArray *store_folder_get_acl(StoreConn *c, const char *actor, const char *name, GError **error);
/* SETACL (@rights as store_rights_modify() takes them) or, with @rights
 * NULL, DELETEACL. Needs "a"; @identifier must be "anyone" or an existing
 * user other than the owner. An empty result removes the entry. */
gboolean store_folder_set_acl(StoreConn *c, const char *actor, const char *name,
                              const char *identifier, const char *rights, GError **error);
