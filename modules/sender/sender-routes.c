/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The sender's configuration: the direct (MX) route, the smarthosts, the
 * domain-filtering rules that choose a route for each queue entry
 * (VPOP3's "Domain Filtering", evaluated in order, first match wins) and
 * the DNS overrides that force a host for some recipient domains. Read once
 * in init; every error names the key so that start-up stops with a
 * sentence an administrator can act on. */

#include "postroom-config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "sender.h"

#define SENDER_ERROR (g_quark_from_static_string("postroom-sender-config"))

SenderTarget *
sender_target_new(const char *host, guint16 port, GInetAddress *address)
{
    SenderTarget *t = g_new0(SenderTarget, 1);

    t->host = g_strdup(host);
    t->port = port;
    t->address = address != NULL ? g_object_ref(address) : NULL;
    return t;
}

SenderTarget *
sender_target_copy(const SenderTarget *target)
{
    SenderTarget *t = sender_target_new(target->host, target->port, target->address);

    t->plaintext = target->plaintext;
    return t;
}

void
sender_target_free(SenderTarget *target)
{
    if (target == NULL)
        return;
    g_free(target->host);
    g_clear_object(&target->address);
    g_free(target);
}

char *
sender_target_describe(const SenderTarget *target)
{
    if (target->address == NULL)
        return g_strdup_printf("%s:%u", target->host, target->port);
    g_autofree char *ip = g_inet_address_to_string(target->address);
    return g_strdup_printf("%s [%s]:%u", target->host, ip, target->port);
}

const char *
sender_address_domain(const char *address)
{
    const char *at = strrchr(address, '@');
    return at != NULL ? at + 1 : "";
}

/* host, host:port, [v6]:port or a bare v6 address. */
gboolean
sender_parse_host_port(const char *text, guint16 default_port, char **host, guint16 *port)
{
    g_autofree char *copy = g_strstrip(g_strdup(text));
    const char *colon;
    guint64 n = default_port;

    if (copy[0] == '[') {
        char *end = strchr(copy, ']');
        if (end == NULL || end == copy + 1)
            return FALSE;
        *end = '\0';
        if (end[1] == ':') {
            if (!g_ascii_string_to_unsigned(end + 2, 10, 1, 65535, &n, NULL))
                return FALSE;
        } else if (end[1] != '\0') {
            return FALSE;
        }
        *host = g_strdup(copy + 1);
        *port = (guint16)n;
        return TRUE;
    }
    colon = strchr(copy, ':');
    if (colon != NULL && strchr(colon + 1, ':') != NULL) {
        *host = g_strdup(copy); /* an IPv6 literal without a port */
        *port = default_port;
        return TRUE;
    }
    if (colon != NULL) {
        if (!g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &n, NULL))
            return FALSE;
        copy[colon - copy] = '\0';
    }
    if (copy[0] == '\0' || strpbrk(copy, " \t/@") != NULL)
        return FALSE;
    *host = g_strdup(copy);
    *port = (guint16)n;
    return TRUE;
}

static void
patterns_clear(SenderPatterns *p)
{
    g_clear_pointer(&p->positive, g_ptr_array_unref);
    g_clear_pointer(&p->negative, g_ptr_array_unref);
}

static void
patterns_parse(SenderPatterns *p, const char *text)
{
    g_auto(GStrv) items = g_strsplit(text, ",", -1);

    p->positive = g_ptr_array_new_with_free_func(g_free);
    p->negative = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; items[i] != NULL; i++) {
        char *item = g_strstrip(items[i]);
        if (item[0] == '!' && item[1] != '\0')
            g_ptr_array_add(p->negative, g_ascii_strdown(item + 1, -1));
        else if (item[0] != '\0' && item[0] != '!')
            g_ptr_array_add(p->positive, g_ascii_strdown(item, -1));
    }
}

/* VPOP3's domain filtering: a value matches when no negated pattern
 * matches it and, if there are plain patterns, one of them does; so
 * "!*.example.org" alone means "everything except example.org's
 * subdomains". */
gboolean
sender_patterns_match(const SenderPatterns *patterns, const char *value)
{
    g_autofree char *lower = g_ascii_strdown(value, -1);
    gboolean matched = patterns->positive->len == 0;

    for (guint i = 0; i < patterns->negative->len; i++) {
        if (g_pattern_match_simple(patterns->negative->pdata[i], lower))
            return FALSE;
    }
    for (guint i = 0; i < patterns->positive->len && !matched; i++)
        matched = g_pattern_match_simple(patterns->positive->pdata[i], lower);
    return matched;
}

static void
route_free(SenderRoute *route)
{
    if (route == NULL)
        return;
    g_free(route->name);
    g_clear_pointer(&route->servers, g_ptr_array_unref);
    g_clear_object(&route->ca);
    g_free(route->user);
    if (route->password != NULL) {
        explicit_bzero(route->password, strlen(route->password));
        g_free(route->password);
    }
    sender_rate_clear(&route->rate);
    g_free(route);
}

static void
rule_free(SenderRule *rule)
{
    patterns_clear(&rule->senders);
    patterns_clear(&rule->domains);
    g_free(rule);
}

static void
override_free(SenderOverride *o)
{
    g_free(o->pattern);
    sender_target_free(o->target);
    g_free(o);
}

void
sender_config_free(SenderConfig *config)
{
    if (config == NULL)
        return;
    g_free(config->helo_name);
    g_free(config->admin_address);
    g_clear_pointer(&config->dns_servers, g_ptr_array_unref);
    g_clear_pointer(&config->rules, g_ptr_array_unref);
    g_clear_pointer(&config->overrides, g_ptr_array_unref);
    route_free(config->direct);
    for (guint i = 0; i < SENDER_MAX_SMARTHOSTS; i++)
        route_free(config->smarthosts[i]);
    g_free(config);
}

/* The password comes from the file when one is named, so that it need not
 * sit in a configuration file that more people can read. Only the first
 * line counts. */
static char *
read_password_file(const char *group, const char *path, GError **error)
{
    g_autofree char *text = NULL;
    g_autoptr(GError) local = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &text, &len, &local)) {
        g_set_error(error, SENDER_ERROR, 0, _("[%s] password_file: cannot read %s: %s"), group,
                    path, local->message);
        return NULL;
    }
    char *nl = strpbrk(text, "\r\n");
    char *password = g_strndup(text, nl != NULL ? (gsize)(nl - text) : len);
    explicit_bzero(text, len);
    return password;
}

static SenderRoute *
load_smarthost(PrModule *self, guint index, GError **error)
{
    g_autofree char *group = g_strdup_printf("smarthost%u", index + 1);
    g_auto(GStrv) servers = pr_module_get_strv(self, group, "servers");
    const char *encryption = pr_module_get_string(self, group, "encryption");
    const char *ca_file = pr_module_get_string(self, group, "ca_file");
    const char *user = pr_module_get_string(self, group, "user");
    const char *password = pr_module_get_string(self, group, "password");
    const char *password_file = pr_module_get_string(self, group, "password_file");
    SenderRoute *route;

    if (servers == NULL || servers[0] == NULL)
        return NULL;
    route = g_new0(SenderRoute, 1);
    route->name = g_strdup(group);
    route->servers = g_ptr_array_new_with_free_func((GDestroyNotify)sender_target_free);
    if (g_strcmp0(encryption, "none") == 0)
        route->tls = SENDER_TLS_NONE;
    else if (g_strcmp0(encryption, "tls") == 0)
        route->tls = SENDER_TLS_IMPLICIT;
    else if (g_strcmp0(encryption, "starttls") == 0)
        route->tls = SENDER_TLS_STARTTLS;
    else
        route->tls = SENDER_TLS_STARTTLS_IF_AVAILABLE;
    for (guint i = 0; servers[i] != NULL; i++) {
        g_autofree char *host = NULL;
        guint16 port = 0;
        if (!sender_parse_host_port(servers[i], route->tls == SENDER_TLS_IMPLICIT ? 465 : 25, &host,
                                    &port)) {
            g_set_error(error, SENDER_ERROR, 0, _("[%s] servers: “%s” is not HOST or HOST:PORT"),
                        group, servers[i]);
            route_free(route);
            return NULL;
        }
        g_ptr_array_add(route->servers, sender_target_new(host, port, NULL));
    }
    route->verify = pr_module_get_bool(self, group, "verify_certificate");
    if (ca_file != NULL && *ca_file != '\0') {
        g_autoptr(GError) local = NULL;
        route->ca = g_tls_file_database_new(ca_file, &local);
        if (route->ca == NULL) {
            g_set_error(error, SENDER_ERROR, 0, _("[%s] ca_file: cannot load %s: %s"), group,
                        ca_file, local->message);
            route_free(route);
            return NULL;
        }
    }
    if (user != NULL && *user != '\0') {
        route->user = g_strdup(user);
        if (password_file != NULL && *password_file != '\0') {
            route->password = read_password_file(group, password_file, error);
            if (route->password == NULL) {
                route_free(route);
                return NULL;
            }
        } else {
            route->password = g_strdup(password != NULL ? password : "");
        }
    }
    route->max_messages = (guint)pr_module_get_int(self, group, "max_messages_per_session");
    route->max_rcpts_per_msg = (guint)pr_module_get_int(self, group, "max_recipients_per_message");
    route->max_rcpts_per_sess = (guint)pr_module_get_int(self, group, "max_recipients_per_session");
    route->rate.limit = (guint)pr_module_get_int(self, group, "rate_limit_recipients");
    route->rate.period = pr_module_get_int(self, group, "rate_limit_period");
    g_queue_init(&route->rate.times);
    return route;
}

static SenderRoute *
route_by_name(SenderConfig *config, const char *name)
{
    if (g_ascii_strcasecmp(name, "direct") == 0)
        return config->direct;
    for (guint i = 0; i < SENDER_MAX_SMARTHOSTS; i++) {
        g_autofree char *group = g_strdup_printf("smarthost%u", i + 1);
        if (g_ascii_strcasecmp(name, group) == 0)
            return config->smarthosts[i];
    }
    return NULL;
}

static gboolean
known_route_name(const char *name)
{
    if (g_ascii_strcasecmp(name, "direct") == 0)
        return TRUE;
    for (guint i = 0; i < SENDER_MAX_SMARTHOSTS; i++) {
        g_autofree char *group = g_strdup_printf("smarthost%u", i + 1);
        if (g_ascii_strcasecmp(name, group) == 0)
            return TRUE;
    }
    return FALSE;
}

/* A rule names a route that must exist: a smarthost without servers would
 * silently keep mail in the queue forever. */
static SenderRoute *
checked_route(SenderConfig *config, const char *key, const char *name, GError **error)
{
    SenderRoute *route = route_by_name(config, name);

    if (route != NULL)
        return route;
    if (known_route_name(name))
        g_set_error(error, SENDER_ERROR, 0,
                    _("[sender] %s: route “%s” has no servers; set [%s] servers="), key, name,
                    name);
    else
        g_set_error(error, SENDER_ERROR, 0,
                    _("[sender] %s: unknown route “%s” (use direct or smarthost1 to "
                      "smarthost%d)"),
                    key, name, SENDER_MAX_SMARTHOSTS);
    return NULL;
}

static gboolean
load_rules(PrModule *self, SenderConfig *config, GError **error)
{
    g_auto(GStrv) rules = pr_module_get_strv(self, NULL, "routes");

    config->rules = g_ptr_array_new_with_free_func((GDestroyNotify)rule_free);
    for (guint i = 0; rules[i] != NULL; i++) {
        g_auto(GStrv) words = g_strsplit_set(g_strstrip(rules[i]), " \t", -1);
        const char *w[3];
        guint n = 0;

        for (guint k = 0; words[k] != NULL; k++) {
            if (words[k][0] == '\0')
                continue;
            if (n < 3)
                w[n] = words[k];
            n++;
        }
        if (n != 3) {
            g_set_error(error, SENDER_ERROR, 0,
                        _("[sender] routes: “%s” is not SENDERS RECIPIENT-DOMAINS ROUTE"),
                        rules[i]);
            return FALSE;
        }
        SenderRoute *route = checked_route(config, "routes", w[2], error);
        if (route == NULL)
            return FALSE;
        SenderRule *rule = g_new0(SenderRule, 1);
        patterns_parse(&rule->senders, w[0]);
        patterns_parse(&rule->domains, w[1]);
        rule->route = route;
        g_ptr_array_add(config->rules, rule);
    }
    return TRUE;
}

static gboolean
load_overrides(PrModule *self, SenderConfig *config, GError **error)
{
    g_auto(GStrv) lines = pr_module_get_strv(self, NULL, "dns_overrides");

    config->overrides = g_ptr_array_new_with_free_func((GDestroyNotify)override_free);
    for (guint i = 0; lines[i] != NULL; i++) {
        g_auto(GStrv) words = g_strsplit_set(g_strstrip(lines[i]), " \t", -1);
        const char *w[2];
        guint n = 0;

        for (guint k = 0; words[k] != NULL; k++) {
            if (words[k][0] == '\0')
                continue;
            if (n < 2)
                w[n] = words[k];
            n++;
        }
        if (n != 2) {
            g_set_error(error, SENDER_ERROR, 0,
                        _("[sender] dns_overrides: “%s” is not DOMAIN HOST[:PORT] or DOMAIN "
                          "smarthostN"),
                        lines[i]);
            return FALSE;
        }
        SenderOverride *o = g_new0(SenderOverride, 1);
        o->pattern = g_ascii_strdown(w[0], -1);
        if (known_route_name(w[1]) && g_ascii_strcasecmp(w[1], "direct") != 0) {
            o->route = checked_route(config, "dns_overrides", w[1], error);
            if (o->route == NULL) {
                override_free(o);
                return FALSE;
            }
        } else {
            g_autofree char *host = NULL;
            guint16 port = 0;
            if (!sender_parse_host_port(w[1], config->mx_port, &host, &port)) {
                g_set_error(error, SENDER_ERROR, 0,
                            _("[sender] dns_overrides: “%s” is not HOST or HOST:PORT"), w[1]);
                override_free(o);
                return FALSE;
            }
            o->target = sender_target_new(host, port, NULL);
        }
        g_ptr_array_add(config->overrides, o);
    }
    return TRUE;
}

/* glibc's resolver state holds IPv4 servers with their ports
 * (nsaddr_list); IPv6 ones would need its private extension fields. */
static gboolean
load_dns_servers(PrModule *self, SenderConfig *config, GError **error)
{
    g_auto(GStrv) servers = pr_module_get_strv(self, NULL, "dns_servers");

    config->dns_servers = g_ptr_array_new_with_free_func(g_object_unref);
    for (guint i = 0; servers[i] != NULL; i++) {
        g_autofree char *host = NULL;
        guint16 port = 53;
        g_autoptr(GInetAddress) address = NULL;

        if (sender_parse_host_port(servers[i], 53, &host, &port))
            address = g_inet_address_new_from_string(host);
        if (address == NULL || g_inet_address_get_family(address) != G_SOCKET_FAMILY_IPV4) {
            g_set_error(error, SENDER_ERROR, 0,
                        _("[sender] dns_servers: “%s” is not an IPv4 address with an optional "
                          ":PORT"),
                        servers[i]);
            return FALSE;
        }
        if (config->dns_servers->len == 3) {
            g_set_error(error, SENDER_ERROR, 0,
                        _("[sender] dns_servers: at most 3 servers can be used"));
            return FALSE;
        }
        g_ptr_array_add(config->dns_servers, g_inet_socket_address_new(address, port));
    }
    return TRUE;
}

SenderConfig *
sender_config_load(PrModule *self, PrHost *host, GError **error)
{
    g_autoptr(GError) local = NULL;
    SenderConfig *config = g_new0(SenderConfig, 1);
    const char *helo = pr_module_get_string(self, NULL, "helo_name");
    const char *admin = pr_module_get_string(self, NULL, "admin_address");
    const char *postmaster = pr_module_get_string(self, "delivery", "postmaster");

    config->helo_name = g_strdup(helo != NULL && *helo != '\0' ? helo : pr_host_get_hostname(host));
    config->poll_interval = pr_module_get_int(self, NULL, "poll_interval");
    config->claim_lease = pr_module_get_int(self, NULL, "claim_lease");
    config->max_sessions = (guint)pr_module_get_int(self, NULL, "max_sessions");
    config->connect_timeout = pr_module_get_int(self, NULL, "connect_timeout");
    config->command_timeout = pr_module_get_int(self, NULL, "command_timeout");
    config->retry_initial = pr_module_get_int(self, NULL, "retry_initial");
    config->retry_max = pr_module_get_int(self, NULL, "retry_max");
    config->give_up_after = pr_module_get_int(self, NULL, "give_up_after");
    config->warn_after = pr_module_get_int(self, NULL, "warn_after");
    config->dsn_original_limit = pr_module_get_int(self, NULL, "dsn_original_limit");
    config->alert_interval = pr_module_get_int(self, NULL, "alert_interval");
    config->mx_port = (guint16)pr_module_get_int(self, NULL, "mx_port");
    config->direct_starttls = pr_module_get_bool(self, NULL, "direct_starttls");
    /* Alerts go to the sender's own address, else to the user the host
     * sends its alerts to, else to the conventional postmaster. */
    if (admin != NULL && *admin != '\0')
        config->admin_address = g_strdup(admin);
    else if (postmaster != NULL && *postmaster != '\0')
        config->admin_address = g_strdup(postmaster);
    else
        config->admin_address = g_strdup("postmaster");

    config->direct = g_new0(SenderRoute, 1);
    config->direct->name = g_strdup("direct");
    config->direct->direct = TRUE;
    config->direct->tls =
        config->direct_starttls ? SENDER_TLS_STARTTLS_IF_AVAILABLE : SENDER_TLS_NONE;
    config->direct->max_rcpts_per_msg = SENDER_DIRECT_MAX_RCPTS;
    g_queue_init(&config->direct->rate.times);

    for (guint i = 0; i < SENDER_MAX_SMARTHOSTS; i++) {
        config->smarthosts[i] = load_smarthost(self, i, &local);
        if (local != NULL)
            goto fail;
    }
    if (!load_dns_servers(self, config, &local) || !load_overrides(self, config, &local) ||
        !load_rules(self, config, &local))
        goto fail;
    config->default_route = checked_route(
        config, "default_route", pr_module_get_string(self, NULL, "default_route"), &local);
    if (config->default_route == NULL)
        goto fail;
    if (config->retry_max < config->retry_initial)
        config->retry_max = config->retry_initial;
    return config;

fail:
    g_propagate_error(error, g_steal_pointer(&local));
    sender_config_free(config);
    return NULL;
}

/* Domain filtering on the envelope sender and the recipient's domain (a
 * pattern with '@' is matched against the whole address), then, for
 * direct delivery, the DNS overrides. */
SenderRoute *
sender_config_route(SenderConfig *config, const PrQueueEntry *entry, SenderTarget **forced)
{
    const char *domain = sender_address_domain(entry->recipient);
    SenderRoute *route = config->default_route;

    *forced = NULL;
    for (guint i = 0; i < config->rules->len; i++) {
        SenderRule *rule = config->rules->pdata[i];
        const SenderPatterns *d = &rule->domains;
        gboolean full = FALSE;

        for (guint k = 0; k < d->positive->len && !full; k++)
            full = strchr(d->positive->pdata[k], '@') != NULL;
        if (sender_patterns_match(&rule->senders, entry->sender) &&
            sender_patterns_match(d, full ? entry->recipient : domain)) {
            route = rule->route;
            break;
        }
    }
    if (!route->direct)
        return route;
    g_autofree char *lower = g_ascii_strdown(domain, -1);
    for (guint i = 0; i < config->overrides->len; i++) {
        SenderOverride *o = config->overrides->pdata[i];
        if (!g_pattern_match_simple(o->pattern, lower))
            continue;
        if (o->route != NULL)
            return o->route;
        *forced = o->target;
        break;
    }
    return route;
}
