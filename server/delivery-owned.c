/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "delivery-owned.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "delivery-service.h"

/* Local parts modules own. A claim is identified by its local part; the
 * owner's function runs on the main thread only, so a claim released
 * while a delivery was routed to it is simply not found there. */

typedef struct {
    PrModule *module;
    PrOwnedAddressFunc func;
    gpointer user_data;
} Claim;

struct _OwnedAddresses {
    GMutex lock;        /* guards claims: workers read, the main thread writes */
    GHashTable *claims; /* lower-case local part -> Claim* */
};

OwnedAddresses *
owned_addresses_new(void)
{
    OwnedAddresses *o = g_new0(OwnedAddresses, 1);
    g_mutex_init(&o->lock);
    o->claims = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return o;
}

void
owned_addresses_free(OwnedAddresses *o)
{
    if (o == NULL)
        return;
    g_hash_table_unref(o->claims);
    g_mutex_clear(&o->lock);
    g_free(o);
}

static gboolean
claim_of_module(gpointer key, gpointer value, gpointer module)
{
    return ((Claim *)value)->module == module;
}

void
owned_addresses_forget_module(OwnedAddresses *o, PrModule *module)
{
    g_mutex_lock(&o->lock);
    g_hash_table_foreach_remove(o->claims, claim_of_module, module);
    g_mutex_unlock(&o->lock);
}

gboolean
owned_local_part_valid(const char *local_part)
{
    gsize len = local_part != NULL ? strlen(local_part) : 0;

    if (len == 0 || len > 64)
        return FALSE;
    for (const char *p = local_part; *p != '\0'; p++) {
        if (!g_ascii_isalnum(*p) && strchr(".-_=", *p) == NULL)
            return FALSE;
    }
    return TRUE;
}

gboolean
owned_address_split(const char *address, char **local_part, char **detail)
{
    const char *at = strrchr(address, '@');

    if (at == NULL || at == address)
        return FALSE;
    const char *plus = memchr(address, '+', (gsize)(at - address));
    const char *end = plus != NULL ? plus : at;
    *local_part = g_ascii_strdown(address, end - address);
    *detail = plus != NULL ? g_strndup(plus + 1, (gsize)(at - plus - 1)) : NULL;
    return TRUE;
}

void
owned_match_free(OwnedMatch *match)
{
    if (match == NULL)
        return;
    g_free(match->recipient);
    g_free(match->local_part);
    g_free(match->detail);
    g_free(match);
}

OwnedMatch *
owned_addresses_match(OwnedAddresses *o, const RouterData *data, const char *address)
{
    gboolean owned;

    /* Most messages go to nobody's address: no work beyond this. */
    g_mutex_lock(&o->lock);
    owned = g_hash_table_size(o->claims) > 0;
    g_mutex_unlock(&o->lock);
    if (!owned)
        return NULL;

    g_autofree char *normal = router_normalize(data, address);
    g_autofree char *local_part = NULL;
    g_autofree char *detail = NULL;
    if (normal == NULL || !owned_address_split(normal, &local_part, &detail))
        return NULL;
    const char *domain = strrchr(normal, '@') + 1;
    if (g_ascii_strcasecmp(domain, data->default_domain) != 0 &&
        !router_is_local_domain(data, normal))
        return NULL;
    g_mutex_lock(&o->lock);
    owned = g_hash_table_contains(o->claims, local_part);
    g_mutex_unlock(&o->lock);
    if (!owned)
        return NULL;
    OwnedMatch *m = g_new0(OwnedMatch, 1);
    m->recipient = g_steal_pointer(&normal);
    m->local_part = g_steal_pointer(&local_part);
    m->detail = g_steal_pointer(&detail);
    return m;
}

gboolean
owned_addresses_dispatch(OwnedAddresses *o, PrHost *host, const PrOwnedMail *mail)
{
    Claim claim = { 0 };

    g_mutex_lock(&o->lock);
    Claim *c = g_hash_table_lookup(o->claims, mail->local_part);
    if (c != NULL)
        claim = *c;
    g_mutex_unlock(&o->lock);
    if (claim.func == NULL) {
        g_warning(_("A message from <%s> to <%s> was dropped: no module owns the address any "
                    "more"),
                  mail->sender, mail->recipient);
        return FALSE;
    }
    /* Outside the lock: the function may claim or release addresses. */
    claim.func(host, mail, claim.user_data);
    return TRUE;
}

gboolean
owned_addresses_claim(OwnedAddresses *o, PrModule *module, const char *local_part,
                      PrOwnedAddressFunc func, gpointer user_data, GError **error)
{
    g_autofree char *key = g_ascii_strdown(local_part, -1);
    gboolean taken = FALSE;

    g_mutex_lock(&o->lock);
    Claim *c = g_hash_table_lookup(o->claims, key);
    if (c != NULL && c->module != module) {
        taken = TRUE;
    } else {
        c = g_new0(Claim, 1);
        c->module = module;
        c->func = func;
        c->user_data = user_data;
        g_hash_table_replace(o->claims, g_steal_pointer(&key), c);
    }
    g_mutex_unlock(&o->lock);
    if (taken) {
        g_set_error(error, PR_DELIVERY_ERROR, PR_DELIVERY_ERROR_ADDRESS_TAKEN,
                    _("The address “%s” is already owned by another module"), local_part);
        return FALSE;
    }
    return TRUE;
}

void
owned_addresses_release(OwnedAddresses *o, PrModule *module, const char *local_part)
{
    g_autofree char *key = g_ascii_strdown(local_part, -1);

    g_mutex_lock(&o->lock);
    Claim *c = g_hash_table_lookup(o->claims, key);
    if (c != NULL && c->module == module)
        g_hash_table_remove(o->claims, key);
    g_mutex_unlock(&o->lock);
}

/* ---- the SDK ---- */

gboolean
pr_delivery_claim_address(PrHost *host, PrModule *self, const char *local_part,
                          PrOwnedAddressFunc func, gpointer user_data, GError **error)
{
    g_return_val_if_fail(host != NULL && local_part != NULL && func != NULL, FALSE);
    if (host->delivery == NULL) {
        g_set_error(error, PR_DELIVERY_ERROR, PR_DELIVERY_ERROR_TEMPORARY,
                    _("No store is configured."));
        return FALSE;
    }
    if (!owned_local_part_valid(local_part)) {
        g_set_error(error, PR_DELIVERY_ERROR, PR_DELIVERY_ERROR_ADDRESS_TAKEN,
                    _("“%s” cannot be claimed: a local part of letters, digits and .-_= is "
                      "needed"),
                    local_part);
        return FALSE;
    }
    return owned_addresses_claim(delivery_service_owned(host->delivery), self, local_part, func,
                                 user_data, error);
}

void
pr_delivery_release_address(PrHost *host, PrModule *self, const char *local_part)
{
    g_return_if_fail(host != NULL && local_part != NULL);
    if (host->delivery == NULL)
        return;
    owned_addresses_release(delivery_service_owned(host->delivery), self, local_part);
}
