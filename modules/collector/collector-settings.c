/* SPDX-License-Identifier: GPL-3.0-or-later */

/* One collector's options (PrCollector.options, by the names `postroomctl
 * collector set` uses) checked and converted. postroomctl validates them
 * when they are set; this checks again, because the store may be edited
 * by hand or by a newer postroomctl. Routing options are read by
 * collector-route.c. */

#include "postroom-config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "collector.h"

GQuark collector_settings_error_quark(void);
G_DEFINE_QUARK(collector - settings - error - quark, collector_settings_error)
#define SETTINGS_ERROR (collector_settings_error_quark())

gboolean
collector_parse_bool(const char *text, gboolean fallback)
{
    static const char *const yes[] = { "yes", "true", "on", "1", NULL };
    static const char *const no[] = { "no", "false", "off", "0", NULL };

    if (text == NULL || *text == '\0')
        return fallback;
    for (guint i = 0; yes[i] != NULL; i++)
        if (g_ascii_strcasecmp(text, yes[i]) == 0)
            return TRUE;
    for (guint i = 0; no[i] != NULL; i++)
        if (g_ascii_strcasecmp(text, no[i]) == 0)
            return FALSE;
    return fallback;
}

static gboolean
parse_int(const PrCollector *c, const char *key, const char *fallback, gint64 min, gint64 max,
          gint64 *value, GError **error)
{
    const char *text = pr_collector_get_option(c, key, fallback);

    if (text == NULL || *text == '\0')
        text = fallback;
    if (!g_ascii_string_to_signed(text, 10, min, max, value, NULL)) {
        g_set_error(error, SETTINGS_ERROR, 0,
                    _("Collector %s: option %s is “%s”, not a number from %lld to %lld"), c->name,
                    key, text, (long long)min, (long long)max);
        return FALSE;
    }
    return TRUE;
}

static gboolean
parse_choice(const PrCollector *c, const char *key, const char *fallback,
             const char *const *choices, int *value, GError **error)
{
    const char *text = pr_collector_get_option(c, key, fallback);

    if (text == NULL || *text == '\0')
        text = fallback;
    for (int i = 0; choices[i] != NULL; i++) {
        if (g_ascii_strcasecmp(text, choices[i]) == 0) {
            *value = i;
            return TRUE;
        }
    }
    g_set_error(error, SETTINGS_ERROR, 0, _("Collector %s: option %s has an unknown value “%s”"),
                c->name, key, text);
    return FALSE;
}

void
collector_settings_free(CollectorSettings *s)
{
    if (s == NULL)
        return;
    g_free(s->server);
    g_free(s->ca_file);
    g_free(s->username);
    if (s->password != NULL) {
        explicit_bzero(s->password, strlen(s->password));
        g_free(s->password);
    }
    if (s->times != NULL)
        g_array_unref(s->times);
    g_free(s);
}

CollectorSettings *
collector_settings_new(const PrCollector *c, GError **error)
{
    static const char *const tls_choices[] = { "none", "implicit", "stls", "stls-if-available",
                                               NULL };
    static const char *const auth_choices[] = { "user", "apop", "plain", "cram-md5", NULL };
    static const char *const nul_choices[] = { "refuse", "remove", "replace", NULL };
    static const char *const pipelining_choices[] = { "no", "auto", NULL };
    g_autoptr(CollectorSettings) s = g_new0(CollectorSettings, 1);
    int choice = 0;
    gint64 v = 0;

    s->server = g_strdup(pr_collector_get_option(c, "server", ""));
    if (*s->server == '\0') {
        g_set_error(error, SETTINGS_ERROR, 0, _("Collector %s has no server"), c->name);
        return NULL;
    }
    if (!parse_choice(c, "tls", "none", tls_choices, &choice, error))
        return NULL;
    s->tls = (CollectorTls)choice;
    if (!parse_int(c, "port", s->tls == COLLECTOR_TLS_IMPLICIT ? "995" : "110", 1, 65535, &v,
                   error))
        return NULL;
    s->port = (guint16)v;
    s->verify_cert = collector_parse_bool(pr_collector_get_option(c, "verify_cert", NULL), TRUE);
    const char *ca = pr_collector_get_option(c, "ca_file", NULL);
    s->ca_file = ca != NULL && *ca != '\0' ? g_strdup(ca) : NULL;
    if (!parse_choice(c, "auth", "user", auth_choices, &choice, error))
        return NULL;
    s->auth = (CollectorAuth)choice;
    s->username = g_strdup(pr_collector_get_option(c, "username", ""));
    s->password = g_strdup(pr_collector_get_option(c, "password", ""));
    if (!parse_int(c, "leave_days", "0", -1, 3650, &v, error))
        return NULL;
    s->leave_days = (int)v;
    if (!parse_int(c, "max_size", "0", 0, 4194304, &v, error))
        return NULL;
    s->max_size = (guint64)v * 1024;
    s->use_rules = collector_parse_bool(pr_collector_get_option(c, "use_rules", NULL), FALSE);
    if (!parse_choice(c, "nul", "refuse", nul_choices, &choice, error))
        return NULL;
    s->nul = (CollectorNulPolicy)choice;
    const char *nul_char = pr_collector_get_option(c, "nul_char", " ");
    s->nul_char = nul_char != NULL && nul_char[0] != '\0' ? nul_char[0] : ' ';
    if (!parse_choice(c, "pipelining", "auto", pipelining_choices, &choice, error))
        return NULL;
    s->pipelining = choice == 1;
    if (!parse_int(c, "interval", "10", 0, 10080, &v, error))
        return NULL;
    s->interval = (guint)v;
    s->times = g_array_new(FALSE, FALSE, sizeof(guint));
    const char *times = pr_collector_get_option(c, "times", "");
    if (!collector_times_parse(times, s->times)) {
        g_set_error(error, SETTINGS_ERROR, 0,
                    _("Collector %s: option times is “%s”, not a list of HH:MM"), c->name, times);
        return NULL;
    }
    return g_steal_pointer(&s);
}
