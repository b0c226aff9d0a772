/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Intrusion prevention (VPOP3's SMTP IPS, specification section 9.5): bad
 * behaviour earns a client address points (failed AUTH, unknown local
 * recipient, refused relaying); an address that collects ips_threshold
 * points within ips_period is refused at connect for ips_block_time.
 *
 * The state lives in memory, per postroomd instance: a restart forgets it,
 * as VPOP3's restart clears its blocks. It is bounded (ips_max_entries
 * addresses; when full, the stalest unblocked address goes first) and
 * expires (a sweep every minute drops addresses with neither points in
 * the period nor a block). Points are kept in a ring of time slices, so
 * "within the period" is exact to one slice without keeping every event. */

#include "postroom-config.h"

#include <string.h>

#include "smtp.h"

#define IPS_SLICES        12
#define IPS_SWEEP_SECONDS 60

const char smtp_ips_blocked_reply[] =
    "421 4.7.0 Your connection has been blocked temporarily - Try again later";

typedef struct {
    gint64 slice_start[IPS_SLICES]; /* monotonic seconds; which slice each slot holds */
    guint32 points[IPS_SLICES];
    gint64 blocked_until; /* monotonic seconds, 0 when not blocked */
    gint64 last_seen;
} IpsEntry;

struct _SmtpIps {
    PrModule *module;
    GHashTable *entries; /* char *ip -> IpsEntry * */
    GSource *sweep;
};

static gint64
now_seconds(void)
{
    return g_get_monotonic_time() / G_USEC_PER_SEC;
}

static gint64
slice_length(SmtpIps *ips)
{
    gint64 period = pr_module_get_int(ips->module, NULL, "ips_period");
    return MAX(1, period / IPS_SLICES);
}

static guint64
entry_score(SmtpIps *ips, const IpsEntry *e, gint64 now)
{
    gint64 period = pr_module_get_int(ips->module, NULL, "ips_period");
    guint64 sum = 0;

    for (guint i = 0; i < IPS_SLICES; i++) {
        if (e->points[i] > 0 && e->slice_start[i] > now - period)
            sum += e->points[i];
    }
    return sum;
}

static gboolean
entry_expired(SmtpIps *ips, const IpsEntry *e, gint64 now)
{
    return e->blocked_until <= now && entry_score(ips, e, now) == 0;
}

static gboolean
sweep_cb(gpointer data)
{
    SmtpIps *ips = data;
    gint64 now = now_seconds();
    GHashTableIter it;
    gpointer value;

    g_hash_table_iter_init(&it, ips->entries);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        if (entry_expired(ips, value, now))
            g_hash_table_iter_remove(&it);
    }
    return G_SOURCE_CONTINUE;
}

SmtpIps *
smtp_ips_new(PrModule *self)
{
    SmtpIps *ips = g_new0(SmtpIps, 1);

    ips->module = self;
    ips->entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    ips->sweep = g_timeout_source_new_seconds(IPS_SWEEP_SECONDS);
    g_source_set_callback(ips->sweep, sweep_cb, ips, NULL);
    g_source_attach(ips->sweep, NULL);
    return ips;
}

void
smtp_ips_free(SmtpIps *ips)
{
    if (ips == NULL)
        return;
    g_source_destroy(ips->sweep);
    g_source_unref(ips->sweep);
    g_hash_table_unref(ips->entries);
    g_free(ips);
}

/* Whether @ip is in the CIDR list under @key; malformed items never match
 * (init refused them, and a reload that brings new ones only loses those). */
gboolean
smtp_address_listed(PrModule *self, const char *key, const char *ip)
{
    g_auto(GStrv) items = pr_module_get_strv(self, NULL, key);
    g_autoptr(GInetAddress) address = g_inet_address_new_from_string(ip);

    if (address == NULL)
        return FALSE;
    for (int i = 0; items[i] != NULL; i++) {
        g_autoptr(GInetAddressMask) mask = g_inet_address_mask_new_from_string(items[i], NULL);
        if (mask != NULL && g_inet_address_mask_matches(mask, address))
            return TRUE;
    }
    return FALSE;
}

/* The first malformed item of a CIDR list, or NULL. */
const char *
smtp_cidr_list_bad_item(char **items)
{
    for (int i = 0; items[i] != NULL; i++) {
        g_autoptr(GInetAddressMask) mask = g_inet_address_mask_new_from_string(items[i], NULL);
        if (mask == NULL)
            return items[i];
    }
    return NULL;
}

gboolean
smtp_ips_is_blocked(SmtpIps *ips, const char *ip)
{
    IpsEntry *e;

    if (ips == NULL || !pr_module_get_bool(ips->module, NULL, "ips_enabled"))
        return FALSE;
    e = g_hash_table_lookup(ips->entries, ip);
    return e != NULL && e->blocked_until > now_seconds();
}

/* Makes room for one more address when the table is full. */
static void
make_room(SmtpIps *ips, gint64 now)
{
    gint64 max = pr_module_get_int(ips->module, NULL, "ips_max_entries");
    GHashTableIter it;
    gpointer key, value;
    const char *victim = NULL;
    const IpsEntry *worst = NULL;

    if ((gint64)g_hash_table_size(ips->entries) < max)
        return;
    sweep_cb(ips);
    if ((gint64)g_hash_table_size(ips->entries) < max)
        return;
    /* Still full of live entries: forget the one seen longest ago, sparing
     * blocked addresses while there are others. */
    g_hash_table_iter_init(&it, ips->entries);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        const IpsEntry *e = value;
        gboolean blocked = e->blocked_until > now;
        gboolean worst_blocked = worst != NULL && worst->blocked_until > now;
        if (worst == NULL || (worst_blocked && !blocked) ||
            (blocked == worst_blocked && e->last_seen < worst->last_seen)) {
            worst = e;
            victim = key;
        }
    }
    if (victim != NULL)
        g_hash_table_remove(ips->entries, victim);
}

static const char *const event_names[] = {
    [SMTP_IPS_BAD_AUTH] = "bad authentication",
    [SMTP_IPS_BAD_RCPT] = "unknown local recipient",
    [SMTP_IPS_RELAY] = "relaying denied",
};

static const char *const event_keys[] = {
    [SMTP_IPS_BAD_AUTH] = "ips_bad_auth_score",
    [SMTP_IPS_BAD_RCPT] = "ips_bad_rcpt_score",
    [SMTP_IPS_RELAY] = "ips_relay_score",
};

gboolean
smtp_ips_record(PrConnection *conn, SmtpIpsEvent event)
{
    SmtpIps *ips = smtp_ips_for(conn);
    const char *ip = pr_connection_get_peer_ip(conn);
    gint64 now = now_seconds();
    gint64 points, slice, start, block_time;
    guint64 score;
    IpsEntry *e;
    guint slot;

    if (ips == NULL || !pr_module_get_bool(ips->module, NULL, "ips_enabled"))
        return FALSE;
    /* Trusted relays (noauth rules) and listed addresses are never judged. */
    if (pr_connection_is_trusted(conn) || smtp_address_listed(ips->module, "ips_never_block", ip))
        return FALSE;
    points = pr_module_get_int(ips->module, NULL, event_keys[event]);
    if (points <= 0)
        return FALSE;
    e = g_hash_table_lookup(ips->entries, ip);
    if (e == NULL) {
        make_room(ips, now);
        e = g_new0(IpsEntry, 1);
        g_hash_table_insert(ips->entries, g_strdup(ip), e);
    }
    e->last_seen = now;
    if (e->blocked_until > now)
        return TRUE;
    slice = slice_length(ips);
    start = now - now % slice;
    slot = (guint)((now / slice) % IPS_SLICES);
    if (e->slice_start[slot] != start) {
        e->slice_start[slot] = start;
        e->points[slot] = 0;
    }
    e->points[slot] = (guint32)MIN((gint64)G_MAXUINT32, (gint64)e->points[slot] + points);
    score = entry_score(ips, e, now);
    g_debug("ips: %s +%" G_GINT64_FORMAT " for %s, %" G_GUINT64_FORMAT " points", ip, points,
            event_names[event], score);
    if (score < (guint64)pr_module_get_int(ips->module, NULL, "ips_threshold"))
        return FALSE;
    block_time = pr_module_get_int(ips->module, NULL, "ips_block_time");
    e->blocked_until = now + block_time;
    memset(e->points, 0, sizeof(e->points));
    pr_log_security("SMTP_IPS_BLOCK",
                    "blocking %s for %" G_GINT64_FORMAT " s: %" G_GUINT64_FORMAT
                    " points within %" G_GINT64_FORMAT " s, last for %s (service %s)",
                    ip, block_time, score, pr_module_get_int(ips->module, NULL, "ips_period"),
                    event_names[event], pr_connection_get_service(conn));
    return TRUE;
}

PrHookResult
smtp_ips_connect_hook(PrHookContext *ctx, gpointer user_data)
{
    SmtpIps *ips = user_data;
    const char *service = pr_hook_context_get(ctx, "service");
    const char *ip = pr_hook_context_get(ctx, "peer-ip");

    /* The connect hook runs for every service; judge only ours. */
    if (service == NULL || ip == NULL || !g_strv_contains(smtp_service_names, service))
        return PR_HOOK_CONTINUE;
    if (!smtp_ips_is_blocked(ips, ip))
        return PR_HOOK_CONTINUE;
    g_info("refusing %s on %s: blocked by the intrusion prevention", ip, service);
    pr_hook_context_set_reply(ctx, smtp_ips_blocked_reply);
    return PR_HOOK_STOP;
}
