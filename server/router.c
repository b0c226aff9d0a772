/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "router.h"

#include <glib/gi18n-lib.h>

#include <string.h>

/* Bounds the work one address can cause: mappings to mappings, forwarding
 * chains and nested lists all count. */
#define MAX_DEPTH 16

void
router_user_free(RouterUser *user)
{
    if (user == NULL)
        return;
    g_free(user->name);
    g_strfreev(user->forward_to);
    g_strfreev(user->assistants);
    g_free(user->full_name);
    g_free(user);
}

void
router_list_free(RouterList *list)
{
    if (list == NULL)
        return;
    g_free(list->name);
    g_strfreev(list->members);
    g_free(list);
}

static void
router_mapping_free(RouterMapping *m)
{
    g_free(m->pattern);
    g_free(m->target);
    g_free(m);
}

static void
monitor_clear(RouterMonitor *m)
{
    g_strfreev(m->users);
    g_free(m->target);
}

RouterData *
router_data_new(void)
{
    RouterData *data = g_new0(RouterData, 1);
    data->default_domain = g_strdup("localhost");
    data->local_domains = g_new0(char *, 1);
    data->implicit_user_mapping = TRUE;
    data->hop_limit = 30;
    data->users =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)router_user_free);
    data->lists =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)router_list_free);
    data->mappings = g_ptr_array_new_with_free_func((GDestroyNotify)router_mapping_free);
    return data;
}

void
router_data_free(RouterData *data)
{
    if (data == NULL)
        return;
    g_free(data->default_domain);
    g_strfreev(data->local_domains);
    g_free(data->fax_mailbox);
    monitor_clear(&data->monitor_incoming);
    monitor_clear(&data->monitor_outgoing);
    monitor_clear(&data->monitor_internal);
    g_hash_table_unref(data->users);
    g_hash_table_unref(data->lists);
    g_ptr_array_unref(data->mappings);
    g_free(data);
}

void
router_data_add_user(RouterData *data, RouterUser *user)
{
    g_hash_table_replace(data->users, user->name, user);
}

void
router_data_add_list(RouterData *data, RouterList *list)
{
    g_hash_table_replace(data->lists, list->name, list);
}

void
router_data_add_mapping(RouterData *data, const char *pattern, const char *target)
{
    RouterMapping *m = g_new0(RouterMapping, 1);
    m->pattern = g_ascii_strdown(pattern, -1);
    m->target = g_strdup(target);
    g_ptr_array_add(data->mappings, m);
}

static void
result_free(RouterResult *r)
{
    if (r == NULL)
        return;
    g_free(r->address);
    g_ptr_array_unref(r->mailboxes);
    g_ptr_array_unref(r->remote);
    g_ptr_array_unref(r->notes);
    g_free(r);
}

void
router_outcome_free(RouterOutcome *outcome)
{
    if (outcome == NULL)
        return;
    g_ptr_array_unref(outcome->results);
    g_ptr_array_unref(outcome->mailboxes);
    g_ptr_array_unref(outcome->remote);
    g_ptr_array_unref(outcome->monitor_mailboxes);
    g_free(outcome);
}

/* ---- addresses ---- */

char *
router_normalize(const RouterData *data, const char *address)
{
    g_autofree char *text = g_strstrip(g_strdup(address));
    gsize len = strlen(text);
    if (len >= 2 && text[0] == '<' && text[len - 1] == '>') {
        text[len - 1] = '\0';
        memmove(text, text + 1, len - 1);
    }
    if (*text == '\0' || strpbrk(text, " \t\r\n<>,;\"") != NULL)
        return NULL;
    char *at = strrchr(text, '@');
    if (at == NULL)
        return g_strdup_printf("%s@%s", text, data->default_domain);
    if (at == text || at[1] == '\0')
        return NULL;
    g_autofree char *domain = g_ascii_strdown(at + 1, -1);
    *at = '\0';
    return g_strdup_printf("%s@%s", text, domain);
}

static const char *
domain_of(const char *address)
{
    const char *at = strrchr(address, '@');
    return at != NULL ? at + 1 : "";
}

static char *
local_part_of(const char *address)
{
    const char *at = strrchr(address, '@');
    return g_ascii_strdown(address, at != NULL ? at - address : -1);
}

static gboolean
wildcard_match(const char *pattern, const char *text)
{
    g_autofree char *p = g_ascii_strdown(pattern, -1);
    g_autofree char *t = g_ascii_strdown(text, -1);
    return g_pattern_match_simple(p, t);
}

gboolean
router_is_local_domain(const RouterData *data, const char *address)
{
    for (int i = 0; data->local_domains[i] != NULL; i++) {
        const char *pattern = data->local_domains[i];
        /* A full address in the list makes just that address local. */
        if (strchr(pattern, '@') != NULL ? wildcard_match(pattern, address)
                                         : wildcard_match(pattern, domain_of(address)))
            return TRUE;
    }
    return FALSE;
}

/* ---- the walk over one recipient ---- */

typedef struct {
    const RouterData *data;
    const RouterMessage *msg;
    RouterResult *result;
    GHashTable *lists_open; /* lists being expanded: a nested loop */
    GHashTable *users_open; /* users whose forwarding is being followed */
    gboolean refused;
} Walk;

enum {
    NO_ASSISTANT = 1 << 0,
    /* router_expand(), router_sender_user(): a user is its mailbox, neither
     * forwarding nor assistants are followed */
    NAMES_ONLY = 1 << 1,
    NO_CATCH_ALL = 1 << 2, /* router_sender_user() */
};

static gboolean resolve_address(Walk *w, const char *address, int depth, guint flags);
static void resolve_target(Walk *w, const char *target, const char *original, int depth,
                           guint flags);

static void
add_unique(GPtrArray *array, const char *value)
{
    for (guint i = 0; i < array->len; i++) {
        if (g_ascii_strcasecmp(array->pdata[i], value) == 0)
            return;
    }
    g_ptr_array_add(array, g_strdup(value));
}

static void note(Walk *w, const char *format, ...) G_GNUC_PRINTF(2, 3);

static void
note(Walk *w, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_ptr_array_add(w->result->notes, g_strdup_vprintf(format, ap));
    va_end(ap);
}

static gboolean
too_deep(Walk *w, int depth, const char *what)
{
    if (depth <= MAX_DEPTH)
        return FALSE;
    note(w, _("routing of %s went deeper than %d steps (a loop?); stopped there"), what, MAX_DEPTH);
    return TRUE;
}

/* Does @entry (a user name or an address) stand for the message's sender? */
static gboolean
is_sender(Walk *w, const char *entry)
{
    const RouterMessage *msg = w->msg;
    if (strchr(entry, '@') == NULL) {
        if (msg->auth_user != NULL && g_ascii_strcasecmp(entry, msg->auth_user) == 0)
            return TRUE;
        if (msg->sender == NULL || *msg->sender == '\0' ||
            !router_is_local_domain(w->data, msg->sender))
            return FALSE;
        g_autofree char *local = local_part_of(msg->sender);
        return g_ascii_strcasecmp(entry, local) == 0;
    }
    g_autofree char *a = router_normalize(w->data, entry);
    g_autofree char *s = msg->sender != NULL ? router_normalize(w->data, msg->sender) : NULL;
    return a != NULL && s != NULL && g_ascii_strcasecmp(a, s) == 0;
}

static void
deliver_user(Walk *w, const RouterUser *user, int depth, guint flags)
{
    gboolean local_copy = TRUE;

    if (too_deep(w, depth, user->name))
        return;
    if (flags & NAMES_ONLY) {
        add_unique(w->result->mailboxes, user->name);
        return;
    }
    if (g_hash_table_contains(w->users_open, user->name)) {
        /* Forwarding came back to this user: keep the copy here. */
        add_unique(w->result->mailboxes, user->name);
        return;
    }
    g_hash_table_add(w->users_open, user->name);

    if (user->forward_to != NULL && user->forward_to[0] != NULL) {
        for (int i = 0; user->forward_to[i] != NULL; i++)
            resolve_target(w, user->forward_to[i], user->forward_to[i], depth + 1, flags);
        local_copy = user->forward_keep_copy;
    }
    /* The assistant's own assistant is not applied (no chains), and mail
     * from the assistant reaches the boss. */
    if (!(flags & NO_ASSISTANT) && user->assistants != NULL && user->assistants[0] != NULL) {
        gboolean from_assistant = FALSE;
        for (int i = 0; user->assistants[i] != NULL; i++)
            from_assistant = from_assistant || is_sender(w, user->assistants[i]);
        if (!from_assistant) {
            for (int i = 0; user->assistants[i] != NULL; i++)
                resolve_target(w, user->assistants[i], user->assistants[i], depth + 1,
                               flags | NO_ASSISTANT);
            if (user->assistant_only)
                local_copy = FALSE;
        }
    }
    if (local_copy)
        add_unique(w->result->mailboxes, user->name);
    g_hash_table_remove(w->users_open, user->name);
}

static void
expand_list(Walk *w, const RouterList *list, int depth, guint flags)
{
    if (too_deep(w, depth, list->name))
        return;
    if (g_hash_table_contains(w->lists_open, list->name)) {
        note(w, _("list %s contains itself through its members; the loop was skipped"), list->name);
        return;
    }
    if (list->local_senders_only && !w->msg->sender_local) {
        note(w, _("list %s takes mail from local senders only"), list->name);
        w->refused = TRUE;
        return;
    }
    g_hash_table_add(w->lists_open, list->name);
    for (int i = 0; list->members != NULL && list->members[i] != NULL; i++)
        resolve_target(w, list->members[i], list->members[i], depth + 1, flags);
    g_hash_table_remove(w->lists_open, list->name);
}

static int
compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
expand_everyone(Walk *w, int depth, guint flags)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, w->data->users);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        if (((RouterUser *)value)->in_everyone)
            g_ptr_array_add(names, ((RouterUser *)value)->name);
    }
    g_ptr_array_sort(names, compare_names);
    for (guint i = 0; i < names->len; i++)
        deliver_user(w, g_hash_table_lookup(w->data->users, names->pdata[i]), depth + 1, flags);
}

/* A list by name, including the built-in everyone (unless the admin made a
 * list of that name). */
static gboolean
deliver_list_named(Walk *w, const char *name, int depth, guint flags)
{
    const RouterList *list = g_hash_table_lookup(w->data->lists, name);
    if (list != NULL) {
        expand_list(w, list, depth, flags);
        return TRUE;
    }
    if (strcmp(name, "everyone") == 0) {
        expand_everyone(w, depth, flags);
        return TRUE;
    }
    return FALSE;
}

/* Names in mappings, list members, forwarding and assistant fields: user
 * names are tried first, then lists, then the name as an address. */
static void
resolve_target(Walk *w, const char *target, const char *original, int depth, guint flags)
{
    if (too_deep(w, depth, target))
        return;
    if (g_ascii_strcasecmp(target, "*REMOTE") == 0) {
        add_unique(w->result->remote, original);
        return;
    }
    if (strchr(target, '@') == NULL) {
        g_autofree char *name = g_ascii_strdown(target, -1);
        const RouterUser *user = g_hash_table_lookup(w->data->users, name);
        if (user != NULL) {
            deliver_user(w, user, depth, flags);
            return;
        }
        if (deliver_list_named(w, name, depth, flags))
            return;
    }
    g_autofree char *address = router_normalize(w->data, target);
    if (address == NULL) {
        note(w, _("“%s” is not a valid address; ignored"), target);
        return;
    }
    if (!router_is_local_domain(w->data, address)) {
        if (!resolve_address(w, address, depth + 1, flags))
            add_unique(w->result->remote, address);
        return;
    }
    if (!resolve_address(w, address, depth + 1, flags))
        note(w, _("%s leads to %s, which does not exist"), original, address);
}

/* Mapping patterns: "name" (local part, local domains only), "name@domain",
 * "~@domain" (catch-all, only when nothing else matched). */
static gboolean
mapping_matches(const RouterData *data, const RouterMapping *m, const char *address,
                const char *local_part, gboolean local_domain, gboolean *catch_all)
{
    *catch_all = g_str_has_prefix(m->pattern, "~@");
    if (*catch_all)
        return wildcard_match(m->pattern + 2, domain_of(address));
    if (strchr(m->pattern, '@') != NULL)
        return wildcard_match(m->pattern, address);
    return local_domain && wildcard_match(m->pattern, local_part);
}

static gboolean
resolve_address(Walk *w, const char *address, int depth, guint flags)
{
    const RouterData *data = w->data;
    g_autofree char *local_part = local_part_of(address);
    gboolean local = router_is_local_domain(data, address);
    g_autoptr(GPtrArray) targets = g_ptr_array_new();
    g_autoptr(GPtrArray) catch_all = g_ptr_array_new();

    if (too_deep(w, depth, address))
        return TRUE;
    for (guint i = 0; i < data->mappings->len; i++) {
        const RouterMapping *m = data->mappings->pdata[i];
        gboolean is_catch_all;
        if (mapping_matches(data, m, address, local_part, local, &is_catch_all))
            g_ptr_array_add(is_catch_all ? catch_all : targets, m->target);
    }
    /* Every matching mapping applies, and together they replace the
     * implicit user match. */
    if (targets->len > 0) {
        for (guint i = 0; i < targets->len; i++)
            resolve_target(w, targets->pdata[i], address, depth + 1, flags);
        return TRUE;
    }
    if (local) {
        const RouterUser *user = g_hash_table_lookup(data->users, local_part);
        if (user != NULL && data->implicit_user_mapping && !w->msg->no_implicit_user_mapping) {
            deliver_user(w, user, depth + 1, flags);
            return TRUE;
        }
        if (deliver_list_named(w, local_part, depth + 1, flags))
            return TRUE;
    }
    if (catch_all->len > 0 && !(flags & NO_CATCH_ALL)) {
        for (guint i = 0; i < catch_all->len; i++)
            resolve_target(w, catch_all->pdata[i], address, depth + 1, flags);
        return TRUE;
    }
    return FALSE;
}

/* Every mailbox copy carries Delivered-To: user@default-domain; a message
 * that arrives with that line for a mailbox it would reach again is
 * looping, whatever address led there this time. Returns TRUE if any
 * mailbox was dropped. */
static gboolean
drop_looping_mailboxes(const RouterData *data, const RouterMessage *msg, RouterResult *r)
{
    gboolean dropped = FALSE;
    for (guint i = r->mailboxes->len; i > 0 && msg->delivered_to != NULL; i--) {
        const char *user = r->mailboxes->pdata[i - 1];
        g_autofree char *mine = g_strdup_printf("%s@%s", user, data->default_domain);
        for (int j = 0; msg->delivered_to[j] != NULL; j++) {
            g_autofree char *seen = router_normalize(data, msg->delivered_to[j]);
            if (seen != NULL && g_ascii_strcasecmp(seen, mine) == 0) {
                g_ptr_array_add(r->notes,
                                g_strdup_printf(_("already delivered to the mailbox of %s (a "
                                                  "mail loop); not delivered there again"),
                                                user));
                g_ptr_array_remove_index(r->mailboxes, i - 1);
                dropped = TRUE;
                break;
            }
        }
    }
    return dropped;
}

static RouterResult *
result_new(void)
{
    RouterResult *r = g_new0(RouterResult, 1);
    r->mailboxes = g_ptr_array_new_with_free_func(g_free);
    r->remote = g_ptr_array_new_with_free_func(g_free);
    r->notes = g_ptr_array_new_with_free_func(g_free);
    return r;
}

static RouterResult *
route_one(const RouterData *data, const RouterMessage *msg, const char *recipient)
{
    RouterResult *r = result_new();
    r->address = router_normalize(data, recipient);
    if (r->address == NULL) {
        r->address = g_strdup(recipient);
        r->status = ROUTER_UNKNOWN_LOCAL;
        return r;
    }
    for (int i = 0; msg->delivered_to != NULL && msg->delivered_to[i] != NULL; i++) {
        g_autofree char *seen = router_normalize(data, msg->delivered_to[i]);
        if (seen != NULL && g_ascii_strcasecmp(seen, r->address) == 0) {
            r->status = ROUTER_LOOP;
            return r;
        }
    }

    Walk w = { data,
               msg,
               r,
               g_hash_table_new(g_str_hash, g_str_equal),
               g_hash_table_new(g_str_hash, g_str_equal),
               FALSE };
    gboolean found = resolve_address(&w, r->address, 0, 0);
    g_hash_table_unref(w.lists_open);
    g_hash_table_unref(w.users_open);

    if (found) {
        gboolean looping = drop_looping_mailboxes(data, msg, r);
        if (r->mailboxes->len > 0 || r->remote->len > 0)
            r->status = ROUTER_OK;
        else
            r->status = w.refused ? ROUTER_REFUSED : looping ? ROUTER_LOOP : ROUTER_OK;
    } else if (!router_is_local_domain(data, r->address)) {
        add_unique(r->remote, r->address);
        r->status = ROUTER_OK;
    } else if (msg->sender_local && data->fax_mailbox != NULL) {
        add_unique(r->mailboxes, data->fax_mailbox);
        r->status = ROUTER_OK;
    } else if (msg->sender_local && data->unknown_local_outgoing) {
        add_unique(r->remote, r->address);
        r->status = ROUTER_OK;
    } else {
        r->status = ROUTER_UNKNOWN_LOCAL;
    }
    return r;
}

/* ---- monitoring ---- */

static gboolean
monitored(const RouterMonitor *m, const char *user, gint64 size)
{
    if (m->scope == ROUTER_MONITOR_NONE || m->target == NULL || size < m->min_size || user == NULL)
        return FALSE;
    return m->scope == ROUTER_MONITOR_ALL ||
           (m->users != NULL && g_strv_contains((const char *const *)m->users, user));
}

/* The local user who sent the message: the login name, or the sender's
 * local part when that is a user of a local domain. */
static char *
sending_user(const RouterData *data, const RouterMessage *msg)
{
    if (!msg->sender_local)
        return NULL;
    if (msg->auth_user != NULL)
        return g_ascii_strdown(msg->auth_user, -1);
    if (msg->sender == NULL || !router_is_local_domain(data, msg->sender))
        return NULL;
    char *local = local_part_of(msg->sender);
    if (!g_hash_table_contains(data->users, local))
        g_clear_pointer(&local, g_free);
    return local;
}

static void
add_monitor_copy(const RouterData *data, const RouterMessage *msg, const RouterMonitor *m,
                 RouterOutcome *out)
{
    RouterResult tmp = { NULL, ROUTER_OK, g_ptr_array_new_with_free_func(g_free),
                         g_ptr_array_new_with_free_func(g_free),
                         g_ptr_array_new_with_free_func(g_free) };
    Walk w = { data,
               msg,
               &tmp,
               g_hash_table_new(g_str_hash, g_str_equal),
               g_hash_table_new(g_str_hash, g_str_equal),
               FALSE };
    /* Copies go to the target's mailboxes only, never onward. */
    resolve_target(&w, m->target, m->target, 0, NO_ASSISTANT);
    for (guint i = 0; i < tmp.mailboxes->len; i++)
        add_unique(out->monitor_mailboxes, tmp.mailboxes->pdata[i]);
    g_hash_table_unref(w.lists_open);
    g_hash_table_unref(w.users_open);
    g_ptr_array_unref(tmp.mailboxes);
    g_ptr_array_unref(tmp.remote);
    g_ptr_array_unref(tmp.notes);
}

static void
apply_monitoring(const RouterData *data, const RouterMessage *msg, RouterOutcome *out)
{
    g_autofree char *sender = sending_user(data, msg);
    if (sender == NULL) {
        for (guint i = 0; i < out->mailboxes->len; i++) {
            if (monitored(&data->monitor_incoming, out->mailboxes->pdata[i], msg->size)) {
                add_monitor_copy(data, msg, &data->monitor_incoming, out);
                break;
            }
        }
    } else {
        if (out->remote->len > 0 && monitored(&data->monitor_outgoing, sender, msg->size))
            add_monitor_copy(data, msg, &data->monitor_outgoing, out);
        if (out->mailboxes->len > 0 && monitored(&data->monitor_internal, sender, msg->size))
            add_monitor_copy(data, msg, &data->monitor_internal, out);
    }
    /* Whoever gets the message anyway needs no second copy. */
    for (guint i = out->monitor_mailboxes->len; i > 0; i--) {
        const char *name = out->monitor_mailboxes->pdata[i - 1];
        for (guint j = 0; j < out->mailboxes->len; j++) {
            if (strcmp(name, out->mailboxes->pdata[j]) == 0) {
                g_ptr_array_remove_index(out->monitor_mailboxes, i - 1);
                break;
            }
        }
    }
}

RouterOutcome *
router_route(const RouterData *data, const RouterMessage *msg, const char *const *recipients)
{
    RouterOutcome *out = g_new0(RouterOutcome, 1);
    out->results = g_ptr_array_new_with_free_func((GDestroyNotify)result_free);
    out->mailboxes = g_ptr_array_new_with_free_func(g_free);
    out->remote = g_ptr_array_new_with_free_func(g_free);
    out->monitor_mailboxes = g_ptr_array_new_with_free_func(g_free);
    out->too_many_hops = data->hop_limit > 0 && msg->received_count > data->hop_limit;

    for (int i = 0; recipients[i] != NULL; i++) {
        RouterResult *r = route_one(data, msg, recipients[i]);
        g_ptr_array_add(out->results, r);
        if (out->too_many_hops || r->status != ROUTER_OK)
            continue;
        for (guint j = 0; j < r->mailboxes->len; j++)
            add_unique(out->mailboxes, r->mailboxes->pdata[j]);
        for (guint j = 0; j < r->remote->len; j++)
            add_unique(out->remote, r->remote->pdata[j]);
    }
    if (!out->too_many_hops)
        apply_monitoring(data, msg, out);
    return out;
}

void
router_result_free(RouterResult *result)
{
    result_free(result);
}

/* ---- questions about the directory ---- */

/* Walks @address with NAMES_ONLY | @flags; sets *found as resolve_address()
 * does. The walk asks as a local sender, so lists for local senders open. */
static RouterResult *
names_of(const RouterData *data, const char *address, guint flags, gboolean *found)
{
    const RouterMessage msg = { "", NULL, TRUE, 0, NULL, 0, FALSE };
    RouterResult *r = result_new();

    *found = FALSE;
    r->address = router_normalize(data, address);
    if (r->address == NULL) {
        r->address = g_strdup(address);
        return r;
    }
    Walk w = { data,
               &msg,
               r,
               g_hash_table_new(g_str_hash, g_str_equal),
               g_hash_table_new(g_str_hash, g_str_equal),
               FALSE };
    *found = resolve_address(&w, r->address, 0, NAMES_ONLY | flags);
    g_hash_table_unref(w.lists_open);
    g_hash_table_unref(w.users_open);
    return r;
}

RouterResult *
router_expand(const RouterData *data, const char *address)
{
    g_autofree char *valid = router_normalize(data, address);
    gboolean found;
    RouterResult *r = names_of(data, address, 0, &found);

    if (found) {
        r->status = ROUTER_OK;
    } else if (valid != NULL && !router_is_local_domain(data, valid)) {
        add_unique(r->remote, valid);
        r->status = ROUTER_OK;
    } else {
        r->status = ROUTER_UNKNOWN_LOCAL;
    }
    return r;
}

char *
router_sender_user(const RouterData *data, const char *sender)
{
    gboolean found;
    g_autoptr(RouterResult) r = NULL;

    if (sender == NULL || *sender == '\0')
        return NULL;
    r = names_of(data, sender, NO_CATCH_ALL, &found);
    if (!found || !router_is_local_domain(data, r->address) || r->mailboxes->len != 1 ||
        r->remote->len != 0)
        return NULL;
    return g_strdup(r->mailboxes->pdata[0]);
}
