/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* A user's folders as IMAP sees them (pr-folder.h): synchronous, on one
 * connection; server/folder.c runs them on store workers. Folder names are
 * full paths with "/" between levels; "INBOX" in any case is the inbox and
 * is stored as "INBOX" (so is the first level of "inbox/..."). Errors are
 * PR_STORE_ERROR: NOT_FOUND, EXISTS, LOCKED, and FAILED with a message for
 * the user for a change that is not allowed. */

#include <postroom/pr-folder.h>
#include "store.h"

/* The longest folder name, in bytes. */
#define STORE_FOLDER_NAME_MAX 255

/* @name with an "INBOX" first level in its stored spelling. */
char *store_folder_canonical(const char *name);
/* Whether @name may be created (or renamed to): 1 to 255 bytes of UTF-8
 * without control characters, "*" or "%", no empty level, not INBOX. */
gboolean store_folder_name_check(const char *name, GError **error);
/* @flags as stored: single spaces, each flag once (case-insensitively),
 * in the order given, system flags in their RFC 3501 spelling, without
 * \Recent. */
char *store_folder_flags_normalise(const char *flags);

/* All of @user's folders (PrFolderInfo), sorted by name (byte order). */
GPtrArray *store_folder_list(StoreConn *c, const char *user, GError **error);
gboolean store_folder_create(StoreConn *c, const char *user, const char *name, GError **error);
/* Deletes the folder and its messages; spool files no longer used are
 * added to @unlink_paths for the caller to remove after the commit. The
 * deleted folder's id goes to @folder_id. */
gboolean store_folder_delete(StoreConn *c, const char *user, const char *name,
                             GPtrArray *unlink_paths, gint64 *folder_id, GError **error);
/* Renames @name and its children. Renaming INBOX creates @new_name and
 * moves INBOX's messages into it; INBOX's id then goes to @changed_id
 * (else 0), its messages having changed. */
gboolean store_folder_rename(StoreConn *c, const char *user, const char *name, const char *new_name,
                             gint64 *changed_id, GError **error);
gboolean store_folder_subscribe(StoreConn *c, const char *user, const char *name,
                                gboolean subscribed, GError **error);
gboolean store_folder_status(StoreConn *c, const char *user, const char *name,
                             PrFolderStatus *status, GError **error);

typedef struct {
    const char *spool_path; /* relative to the spool directory, already written */
    gint64 size;
    const char *flags; /* or NULL */
    gint64 internal_date;
} StoreAppend;

/* The rows of a message whose spool file is written: one transaction.
 * Returns the folder's id (0 on error) and its UIDVALIDITY and the UID. */
gint64 store_folder_append(StoreConn *c, const char *user, const char *name,
                           const StoreAppend *message, guint32 *uidvalidity, guint32 *uid,
                           GError **error);
