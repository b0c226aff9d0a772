/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Addresses modules own (pr_delivery_claim_address()): a local part at
 * every local domain, with any "+detail". The delivery service asks here
 * before routing a recipient; a match goes to the owner's function on the
 * main thread instead of a mailbox. The table is read by store workers,
 * written on the main thread. */

#include <postroom/pr-delivery.h>

#include "router.h"

typedef struct _OwnedAddresses OwnedAddresses;

OwnedAddresses *owned_addresses_new(void);
void owned_addresses_free(OwnedAddresses *owned);
/* Drops every claim of @module (after its deinit). */
void owned_addresses_forget_module(OwnedAddresses *owned, PrModule *module);

/* pr_delivery_claim_address() and pr_delivery_release_address() on one
 * table (@local_part checked by the caller). */
gboolean owned_addresses_claim(OwnedAddresses *owned, PrModule *module, const char *local_part,
                               PrOwnedAddressFunc func, gpointer user_data, GError **error);
void owned_addresses_release(OwnedAddresses *owned, PrModule *module, const char *local_part);

/* Letters, digits and ".-_=", 1 to 64 characters. */
gboolean owned_local_part_valid(const char *local_part);

/* Splits a normalised address ("local+detail@domain") into its lower-case
 * local part without the detail, and the detail (NULL without '+').
 * FALSE if it has no '@'. Exposed for tests. */
gboolean owned_address_split(const char *address, char **local_part, char **detail);

/* An owned recipient of a message. */
typedef struct {
    char *recipient; /* normalised */
    char *local_part;
    char *detail; /* or NULL */
} OwnedMatch;

void owned_match_free(OwnedMatch *match);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(OwnedMatch, owned_match_free)

/* Any thread: whether @address, in a local domain of @data, is owned.
 * Returns the match, or NULL. */
OwnedMatch *owned_addresses_match(OwnedAddresses *owned, const RouterData *data,
                                  const char *address);

/* Main thread: hands @mail to the owner of @mail->local_part; FALSE (and a
 * warning) when nobody owns it any more. */
gboolean owned_addresses_dispatch(OwnedAddresses *owned, PrHost *host, const PrOwnedMail *mail);
