/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <unistd.h>

#include "store/store-collector.h"

/* collector add, set, del, list, show, run, forget: the ISP mailboxes the
 * collector module fetches (VPOP3's "Pop3 Clients"). Settings are checked
 * and normalised here; the module reads them as stored, with the same
 * defaults (doc/admin-guide.md, "Mail collectors"). A running server sees
 * a change at the collector's next session, a "run" within seconds. */

#define NAME_MAX_CHARS   64
#define TEXT_MAX_BYTES   1000
#define SECRET_MAX_BYTES 1024

typedef enum {
    KIND_TEXT,  /* printable UTF-8 */
    KIND_HOST,  /* a host name or IP address */
    KIND_PORT,  /* 1-65535 */
    KIND_ENUM,  /* one of choices, lower case */
    KIND_BOOL,  /* yes or no */
    KIND_INT,   /* min..max */
    KIND_TIMES, /* HH:MM;HH:MM */
    KIND_PATH,  /* an absolute path */
    KIND_CHAR,  /* one printable ASCII character */
} Kind;

typedef struct {
    const char *key; /* as stored and in PrCollector.options */
    Kind kind;
    const char *fallback; /* the module's default, NULL for none */
    const char *const *choices;
    gint64 min, max;
    const char *label; /* N_(), for show */
} OptionSpec;

static const char *const tls_choices[] = { "none", "implicit", "stls", "stls-if-available", NULL };
static const char *const auth_choices[] = { "user", "apop", "plain", "cram-md5", NULL };
static const char *const routing_choices[] = { "user", "address", "headers", NULL };
static const char *const route_error_choices[] = {
    "admin-error", "admin-message", "user-error", "user-message", "bounce", "discard", NULL
};
static const char *const nul_choices[] = { "refuse", "remove", "replace", NULL };
static const char *const pipelining_choices[] = { "auto", "no", NULL };

typedef enum {
    O_SERVER,
    O_PORT,
    O_TLS,
    O_VERIFY_CERT,
    O_CA_FILE,
    O_AUTH,
    O_USERNAME,
    O_INTERVAL,
    O_TIMES,
    O_LEAVE_DAYS,
    O_MAX_SIZE,
    O_USE_RULES,
    O_ROUTING,
    O_DELIVER_TO,
    O_ACCEPTED_DOMAINS,
    O_ENVELOPE_HEADER,
    O_IMPLICIT_MAPPING,
    O_ROUTE_ERROR,
    O_ROUTE_ERROR_TO,
    O_NUL,
    O_NUL_CHAR,
    O_PIPELINING,
    N_OPTIONS
} OptionIndex;

/* The port's default depends on tls (see effective_value()). */
static const OptionSpec specs[N_OPTIONS] = {
    [O_SERVER] = { "server", KIND_HOST, NULL, NULL, 0, 0, N_("Server:") },
    [O_PORT] = { "port", KIND_PORT, NULL, NULL, 1, 65535, N_("Port:") },
    [O_TLS] = { "tls", KIND_ENUM, "none", tls_choices, 0, 0, N_("Encryption:") },
    [O_VERIFY_CERT] = { "verify_cert", KIND_BOOL, "yes", NULL, 0, 0, N_("Verify certificate:") },
    [O_CA_FILE] = { "ca_file", KIND_PATH, NULL, NULL, 0, 0, N_("CA file:") },
    [O_AUTH] = { "auth", KIND_ENUM, "user", auth_choices, 0, 0, N_("Authentication:") },
    [O_USERNAME] = { "username", KIND_TEXT, NULL, NULL, 0, 0, N_("User name:") },
    [O_INTERVAL] = { "interval", KIND_INT, "10", NULL, 0, 10080, N_("Interval (minutes):") },
    [O_TIMES] = { "times", KIND_TIMES, NULL, NULL, 0, 0, N_("At times:") },
    [O_LEAVE_DAYS] = { "leave_days", KIND_INT, "0", NULL, -1, 3650, N_("Leave on server (days):") },
    [O_MAX_SIZE] = { "max_size", KIND_INT, "0", NULL, 0, 4194304, N_("Maximum size (KiB):") },
    [O_USE_RULES] = { "use_rules", KIND_BOOL, "no", NULL, 0, 0, N_("Download rules:") },
    [O_ROUTING] = { "routing", KIND_ENUM, "user", routing_choices, 0, 0, N_("Routing:") },
    [O_DELIVER_TO] = { "deliver_to", KIND_TEXT, NULL, NULL, 0, 0, N_("Deliver to:") },
    [O_ACCEPTED_DOMAINS] = { "accepted_domains", KIND_TEXT, NULL, NULL, 0, 0,
                             N_("Accepted domains:") },
    [O_ENVELOPE_HEADER] = { "envelope_header", KIND_TEXT, NULL, NULL, 0, 0,
                            N_("Envelope header:") },
    [O_IMPLICIT_MAPPING] = { "implicit_mapping", KIND_BOOL, "yes", NULL, 0, 0,
                             N_("Implicit mapping:") },
    [O_ROUTE_ERROR] = { "route_error", KIND_ENUM, "admin-error", route_error_choices, 0, 0,
                        N_("Routing errors:") },
    [O_ROUTE_ERROR_TO] = { "route_error_to", KIND_TEXT, NULL, NULL, 0, 0,
                           N_("Routing errors to:") },
    [O_NUL] = { "nul", KIND_ENUM, "refuse", nul_choices, 0, 0, N_("NUL bytes:") },
    [O_NUL_CHAR] = { "nul_char", KIND_CHAR, " ", NULL, 0, 0, N_("NUL replacement:") },
    [O_PIPELINING] = { "pipelining", KIND_ENUM, "auto", pipelining_choices, 0, 0,
                       N_("Pipelining:") },
};

/* ---- options ---- */

static char *values[N_OPTIONS];
static char *opt_enabled;
static char *opt_priority;
static gboolean opt_password;

/* Each setting as --dash-name, and hidden as --under_score (the stored
 * name), so that either spelling works. */
#define OPT(i, dashed, desc, arg)                                                                  \
    {                                                                                              \
        dashed, 0, 0, G_OPTION_ARG_STRING, &values[i], desc, arg                                   \
    }
#define ALIAS(i, stored)                                                                           \
    {                                                                                              \
        stored, 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &values[i], NULL, NULL               \
    }

const GOptionEntry ctl_collector_entries[] = {
    OPT(O_SERVER, "server", N_("The POP3 server's host name or address"), N_("HOST")),
    OPT(O_PORT, "port", N_("Its port (default 110, or 995 with --tls implicit)"), N_("PORT")),
    OPT(O_TLS, "tls", N_("Encryption: none (default), implicit, stls or stls-if-available"),
        N_("MODE")),
    OPT(O_VERIFY_CERT, "verify-cert", N_("Check the server's certificate (default yes)"),
        N_("yes|no")),
    ALIAS(O_VERIFY_CERT, "verify_cert"),
    OPT(O_CA_FILE, "ca-file", N_("Trust the CA certificates in FILE (PEM) instead of the system's"),
        N_("FILE")),
    ALIAS(O_CA_FILE, "ca_file"),
    OPT(O_AUTH, "auth", N_("Login: user (USER/PASS, default), apop, plain or cram-md5"),
        N_("METHOD")),
    OPT(O_USERNAME, "username", N_("The user name at the ISP"), N_("NAME")),
    OPT(O_INTERVAL, "interval",
        N_("Minutes between sessions (default 10; 0: only at --times or on demand)"),
        N_("MINUTES")),
    OPT(O_TIMES, "times", N_("Also run at these times of day (HH:MM;HH:MM)"), N_("TIMES")),
    OPT(O_LEAVE_DAYS, "leave-days",
        N_("Days messages stay on the server (0: delete after download, default; -1: never)"),
        N_("DAYS")),
    ALIAS(O_LEAVE_DAYS, "leave_days"),
    OPT(O_MAX_SIZE, "max-size", N_("Larger messages are not downloaded (KiB; 0: no limit)"),
        N_("KIB")),
    ALIAS(O_MAX_SIZE, "max_size"),
    OPT(O_USE_RULES, "use-rules", N_("Apply the download rules (default no)"), N_("yes|no")),
    ALIAS(O_USE_RULES, "use_rules"),
    OPT(O_ROUTING, "routing",
        N_("user (default): all to --deliver-to; address: --deliver-to "
           "is the recipient; headers: recipients from the headers"),
        N_("MODE")),
    OPT(O_DELIVER_TO, "deliver-to",
        N_("User, list or address receiving the mail (with --routing headers: the unroutable "
           "mail)"),
        N_("TARGET")),
    ALIAS(O_DELIVER_TO, "deliver_to"),
    OPT(O_ACCEPTED_DOMAINS, "accepted-domains",
        N_("Domains (or addresses, * wildcards) of recipients taken from the headers, ;-separated"),
        N_("LIST")),
    ALIAS(O_ACCEPTED_DOMAINS, "accepted_domains"),
    OPT(O_ENVELOPE_HEADER, "envelope-header",
        N_("Header naming the real recipient, e.g. X-Original-To or \"X-Recipient: acc * "
           "delivered\""),
        N_("HEADER")),
    ALIAS(O_ENVELOPE_HEADER, "envelope_header"),
    OPT(O_IMPLICIT_MAPPING, "implicit-mapping",
        N_("Deliver name@accepted-domain to the user of that name (default yes)"), N_("yes|no")),
    ALIAS(O_IMPLICIT_MAPPING, "implicit_mapping"),
    OPT(O_ROUTE_ERROR, "route-error",
        N_("Unroutable mail: admin-error (default), admin-message, user-error, user-message, "
           "bounce or discard"),
        N_("ACTION")),
    ALIAS(O_ROUTE_ERROR, "route_error"),
    OPT(O_ROUTE_ERROR_TO, "route-error-to", N_("The user for user-error and user-message"),
        N_("USER")),
    ALIAS(O_ROUTE_ERROR_TO, "route_error_to"),
    OPT(O_NUL, "nul", N_("Messages with NUL bytes: refuse (default), remove or replace"),
        N_("POLICY")),
    OPT(O_NUL_CHAR, "nul-char", N_("The character replacing NUL bytes (default a space)"),
        N_("CHAR")),
    ALIAS(O_NUL_CHAR, "nul_char"),
    OPT(O_PIPELINING, "pipelining",
        N_("Pipeline commands when the server offers it: auto (default) or no (for servers "
           "that offer it but mishandle it)"),
        N_("auto|no")),
    { "enabled", 0, 0, G_OPTION_ARG_STRING, &opt_enabled,
      N_("Run the collector (default yes); no keeps it with its UIDs"), N_("yes|no") },
    { "priority", 0, 0, G_OPTION_ARG_STRING, &opt_priority,
      N_("Lower numbers run first when several are due (default 0)"), N_("N") },
    { "password", 0, 0, G_OPTION_ARG_NONE, &opt_password,
      N_("Ask for a new ISP password (collector set)"), NULL },
    { "password-file", 0, 0, G_OPTION_ARG_FILENAME, &ctl_options.password_file,
      N_("Read the ISP password from the first line of FILE"), N_("FILE") },
    { "password-stdin", 0, 0, G_OPTION_ARG_NONE, &ctl_options.password_stdin,
      N_("Read the ISP password from one line of standard input"), NULL },
    { NULL }
};

#undef OPT
#undef ALIAS

void
ctl_collector_clear_options(void)
{
    for (guint i = 0; i < N_OPTIONS; i++)
        g_clear_pointer(&values[i], g_free);
    g_clear_pointer(&opt_enabled, g_free);
    g_clear_pointer(&opt_priority, g_free);
}

/* ---- checks ---- */

static void
set_store_error(GError **error, const GError *local)
{
    int code = ctl_exit_code(local);
    CtlError ctl_code = code == EX_NOUSER        ? CTL_ERROR_NO_USER
                        : code == EX_CANTCREAT   ? CTL_ERROR_EXISTS
                        : code == EX_IOERR       ? CTL_ERROR_IO
                        : code == EX_UNAVAILABLE ? CTL_ERROR_UNAVAILABLE
                                                 : CTL_ERROR_SOFTWARE;
    g_set_error(error, CTL_ERROR, ctl_code, _("Database error: %s"), local->message);
}

static void
collector_error(GError **error, const GError *local, const char *name)
{
    if (g_error_matches(local, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND))
        g_set_error(error, CTL_ERROR, CTL_ERROR_NO_USER,
                    _("Collector %s does not exist; see 'postroomctl collector list'."), name);
    else if (g_error_matches(local, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS))
        g_set_error(error, CTL_ERROR, CTL_ERROR_EXISTS,
                    _("Collector %s exists already; see 'postroomctl collector show %s'."), name,
                    name);
    else
        set_store_error(error, local);
}

/* Letters, digits, '.', '-' and '_', starting with a letter or digit, not
 * only digits (numbers are what download rules use); lower-cased. */
static char *
check_name(const char *name, GError **error)
{
    gsize len = strlen(name);
    gboolean ok = len > 0 && len <= NAME_MAX_CHARS && g_ascii_isalnum(name[0]);
    gboolean digits_only = TRUE;
    for (gsize i = 0; ok && i < len; i++) {
        char c = name[i];
        ok = g_ascii_isalnum(c) || c == '.' || c == '-' || c == '_';
        digits_only = digits_only && g_ascii_isdigit(c);
    }
    if (!ok || digits_only) {
        g_autofree char *shown = ctl_printable(name);
        g_set_error(error, CTL_ERROR, CTL_ERROR_DATA,
                    _("Invalid collector name “%s”: use up to %d letters, digits, '.', '-' and "
                      "'_', starting with a letter or digit and not only digits."),
                    shown, NAME_MAX_CHARS);
        return NULL;
    }
    return g_ascii_strdown(name, -1);
}

static void
bad_value(GError **error, const OptionSpec *spec, const char *value, const char *expected)
{
    g_autofree char *shown = ctl_printable(value);
    g_autofree char *dashed = g_strdelimit(g_strdup(spec->key), "_", '-');
    g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE, _("Invalid --%s “%s”: %s."), dashed, shown,
                expected);
}

static gboolean
printable_text(const char *value)
{
    if (!g_utf8_validate(value, -1, NULL) || strlen(value) > TEXT_MAX_BYTES)
        return FALSE;
    for (const char *p = value; *p != '\0'; p = g_utf8_next_char(p)) {
        if (g_unichar_iscntrl(g_utf8_get_char(p)))
            return FALSE;
    }
    return TRUE;
}

static char *
check_host(const OptionSpec *spec, const char *value, GError **error)
{
    if (g_hostname_is_ip_address(value))
        return g_ascii_strdown(value, -1);
    g_autofree char *ascii =
        printable_text(value) && *value != '\0' ? g_hostname_to_ascii(value) : NULL;
    gboolean ok = ascii != NULL && strlen(ascii) <= 253 && ascii[0] != '.' && ascii[0] != '-';
    for (const char *p = ascii; ok && *p != '\0'; p++)
        ok = g_ascii_isalnum(*p) || *p == '.' || *p == '-';
    if (!ok) {
        bad_value(error, spec, value, _("expected a host name or an IP address"));
        return NULL;
    }
    return g_ascii_strdown(ascii, -1);
}

static char *
check_int(const OptionSpec *spec, const char *value, GError **error)
{
    gint64 n = 0;
    if (!g_ascii_string_to_signed(value, 10, spec->min, spec->max, &n, NULL)) {
        g_autofree char *expected = g_strdup_printf(_("expected a number from %lld to %lld"),
                                                    (long long)spec->min, (long long)spec->max);
        bad_value(error, spec, value, expected);
        return NULL;
    }
    return g_strdup_printf("%" G_GINT64_FORMAT, n);
}

static char *
check_bool(const OptionSpec *spec, const char *value, GError **error)
{
    static const char *const yes[] = { "yes", "true", "on", "1", NULL };
    static const char *const no[] = { "no", "false", "off", "0", NULL };
    for (int i = 0; yes[i] != NULL; i++) {
        if (g_ascii_strcasecmp(value, yes[i]) == 0)
            return g_strdup("yes");
        if (g_ascii_strcasecmp(value, no[i]) == 0)
            return g_strdup("no");
    }
    bad_value(error, spec, value, _("expected yes or no"));
    return NULL;
}

static char *
check_enum(const OptionSpec *spec, const char *value, GError **error)
{
    for (int i = 0; spec->choices[i] != NULL; i++) {
        if (g_ascii_strcasecmp(value, spec->choices[i]) == 0)
            return g_strdup(spec->choices[i]);
    }
    g_autofree char *list = g_strjoinv(", ", (char **)spec->choices);
    g_autofree char *expected = g_strdup_printf(_("expected one of %s"), list);
    bad_value(error, spec, value, expected);
    return NULL;
}

static int
compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "8:00, 17:30" -> "08:00;17:30": sorted, without duplicates. */
static char *
check_times(const OptionSpec *spec, const char *value, GError **error)
{
    g_auto(GStrv) parts = g_strsplit_set(value, ";,", -1);
    g_autoptr(GPtrArray) times = g_ptr_array_new_with_free_func(g_free);
    for (int i = 0; parts[i] != NULL; i++) {
        char *t = g_strstrip(parts[i]);
        guint64 h = 0, m = 0;
        g_auto(GStrv) hm = g_strsplit(t, ":", -1);
        if (*t == '\0')
            continue;
        if (g_strv_length(hm) != 2 || strlen(hm[1]) != 2 ||
            !g_ascii_string_to_unsigned(hm[0], 10, 0, 23, &h, NULL) ||
            !g_ascii_string_to_unsigned(hm[1], 10, 0, 59, &m, NULL)) {
            bad_value(error, spec, value, _("expected times of day as HH:MM, separated by ';'"));
            return NULL;
        }
        char *norm = g_strdup_printf("%02u:%02u", (unsigned)h, (unsigned)m);
        gboolean dup = FALSE;
        for (guint k = 0; k < times->len && !dup; k++)
            dup = strcmp(times->pdata[k], norm) == 0;
        if (dup)
            g_free(norm);
        else
            g_ptr_array_add(times, norm);
    }
    g_ptr_array_sort(times, compare_strings);
    g_ptr_array_add(times, NULL);
    return g_strjoinv(";", (char **)times->pdata);
}

static char *
check_value(const OptionSpec *spec, const char *value, GError **error)
{
    switch (spec->kind) {
    case KIND_HOST:
        return check_host(spec, value, error);
    case KIND_PORT:
    case KIND_INT:
        return check_int(spec, value, error);
    case KIND_BOOL:
        return check_bool(spec, value, error);
    case KIND_ENUM:
        return check_enum(spec, value, error);
    case KIND_TIMES:
        return check_times(spec, value, error);
    case KIND_PATH:
        if (!printable_text(value) || !g_path_is_absolute(value)) {
            bad_value(error, spec, value, _("expected an absolute file name"));
            return NULL;
        }
        return g_strdup(value);
    case KIND_CHAR:
        if (strlen(value) != 1 || !g_ascii_isprint(value[0])) {
            bad_value(error, spec, value, _("expected one printable ASCII character"));
            return NULL;
        }
        return g_strdup(value);
    case KIND_TEXT:
        break;
    }
    if (!printable_text(value)) {
        bad_value(error, spec, value,
                  _("expected printable text of at most 1000 bytes, without control characters"));
        return NULL;
    }
    return g_strstrip(g_strdup(value));
}

/* The options given on the command line, checked: name -> normalised
 * value, "" for "back to the default". */
static GHashTable *
given_options(GError **error)
{
    g_autoptr(GHashTable) given = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    for (guint i = 0; i < N_OPTIONS; i++) {
        if (values[i] == NULL)
            continue;
        if (*values[i] == '\0') {
            if (i == O_SERVER) {
                bad_value(error, &specs[i], values[i], _("a collector needs a server"));
                return NULL;
            }
            g_hash_table_insert(given, (gpointer)specs[i].key, g_strdup(""));
            continue;
        }
        char *v = check_value(&specs[i], values[i], error);
        if (v == NULL)
            return NULL;
        g_hash_table_insert(given, (gpointer)specs[i].key, v);
    }
    return g_steal_pointer(&given);
}

static gboolean
parse_enabled(int *enabled, GError **error)
{
    *enabled = -1;
    if (opt_enabled == NULL)
        return TRUE;
    static const OptionSpec spec = { "enabled", KIND_BOOL, NULL, NULL, 0, 0, NULL };
    g_autofree char *v = check_bool(&spec, opt_enabled, error);
    if (v == NULL)
        return FALSE;
    *enabled = strcmp(v, "yes") == 0;
    return TRUE;
}

static gboolean
parse_priority(gboolean *given, int *priority, GError **error)
{
    *given = opt_priority != NULL;
    *priority = 0;
    if (opt_priority == NULL)
        return TRUE;
    static const OptionSpec spec = { "priority", KIND_INT, NULL, NULL, -1000, 1000, NULL };
    g_autofree char *v = check_int(&spec, opt_priority, error);
    if (v == NULL)
        return FALSE;
    *priority = (int)g_ascii_strtoll(v, NULL, 10);
    return TRUE;
}

/* The value a collector uses: stored, or the module's default. */
static const char *
effective_value(GHashTable *options, guint i)
{
    const char *v = g_hash_table_lookup(options, specs[i].key);
    if (v != NULL && *v != '\0')
        return v;
    if (i == O_PORT) {
        const char *tls = g_hash_table_lookup(options, "tls");
        return g_strcmp0(tls, "implicit") == 0 ? "995" : "110";
    }
    return specs[i].fallback;
}

/* What only makes sense together, on the options as they will be. */
static gboolean
check_combination(GHashTable *options, GError **error)
{
    const char *routing = effective_value(options, O_ROUTING);
    const char *route_error = effective_value(options, O_ROUTE_ERROR);

    if (effective_value(options, O_SERVER) == NULL) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE, _("A collector needs --server HOST."));
        return FALSE;
    }
    if (strcmp(routing, "headers") != 0 && effective_value(options, O_DELIVER_TO) == NULL) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE,
                    _("--routing %s needs --deliver-to: the user, list or address that gets the "
                      "mail."),
                    routing);
        return FALSE;
    }
    /* Without the list any address in a header would be taken, and mail
     * for outside addresses would be relayed out. */
    if (strcmp(routing, "headers") == 0 && effective_value(options, O_ACCEPTED_DOMAINS) == NULL) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE,
                    _("--routing headers needs --accepted-domains: the domains (or addresses) "
                      "this mailbox receives mail for."));
        return FALSE;
    }
    if (g_str_has_prefix(route_error, "user-") &&
        effective_value(options, O_ROUTE_ERROR_TO) == NULL) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE,
                    _("--route-error %s needs --route-error-to USER."), route_error);
        return FALSE;
    }
    return TRUE;
}

/* ---- the ISP password ---- */

/* Like `user add`: --password-file, --password-stdin, a prompt on a
 * terminal, or else two lines of standard input. Never empty. */
static gboolean
read_password(const char *name, char *out, gsize size, GError **error)
{
    char again[SECRET_MAX_BYTES];
    gboolean ok;

    if (ctl_options.password_file != NULL && ctl_options.password_stdin) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE,
                    _("Use either --password-file or --password-stdin, not both."));
        return FALSE;
    }
    if (ctl_options.password_file != NULL) {
        int fd = open(ctl_options.password_file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
            int saved = errno;
            g_autofree char *shown = ctl_printable(ctl_options.password_file);
            g_set_error(error, CTL_ERROR, CTL_ERROR_IO, _("Cannot open the password file %s: %s."),
                        shown, g_strerror(saved));
            return FALSE;
        }
        ok = ctl_read_secret_line(fd, out, size, error);
        close(fd);
    } else if (ctl_options.password_stdin) {
        ok = ctl_read_secret_line(STDIN_FILENO, out, size, error);
    } else {
        gboolean tty = isatty(STDIN_FILENO);
        g_autofree char *prompt = g_strdup_printf(_("ISP password for collector %s: "), name);
        ok = tty ? ctl_prompt_secret(prompt, out, size, error)
                 : ctl_read_secret_line(STDIN_FILENO, out, size, error);
        if (ok)
            ok =
                tty ? ctl_prompt_secret(_("Retype the ISP password: "), again, sizeof(again), error)
                    : ctl_read_secret_line(STDIN_FILENO, again, sizeof(again), error);
        if (ok && strcmp(out, again) != 0) {
            g_set_error(error, CTL_ERROR, CTL_ERROR_DATA,
                        _("The two passwords differ; nothing was changed."));
            ok = FALSE;
        }
        explicit_bzero(again, sizeof(again));
    }
    if (ok && *out == '\0') {
        g_set_error(error, CTL_ERROR, CTL_ERROR_DATA, _("The password is empty."));
        ok = FALSE;
    }
    if (!ok)
        explicit_bzero(out, size);
    return ok;
}

static gboolean
password_wanted(void)
{
    return opt_password || ctl_options.password_file != NULL || ctl_options.password_stdin;
}

/* ---- add, set, del ---- */

int
ctl_cmd_collector_add(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    char password[SECRET_MAX_BYTES];
    int enabled;
    gboolean has_priority;
    int priority;

    g_autofree char *name = check_name(args[0], error);
    if (name == NULL)
        return -1;
    g_autoptr(GHashTable) options = given_options(error);
    if (options == NULL || !parse_enabled(&enabled, error) ||
        !parse_priority(&has_priority, &priority, error) || !check_combination(options, error))
        return -1;
    if (!ctl_open_store(ctl, error))
        return -1;
    /* Checked before asking for the password, which would be wasted. */
    g_autoptr(StoreCollector) existing = store_collector_get(ctl->conn, name, &local);
    if (existing != NULL) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_EXISTS,
                    _("Collector %s exists already; see 'postroomctl collector show %s'."), name,
                    name);
        return -1;
    }
    if (!g_error_matches(local, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND)) {
        set_store_error(error, local);
        return -1;
    }
    g_clear_error(&local);
    if (!read_password(name, password, sizeof(password), error))
        return -1;
    gint64 id =
        store_collector_add(ctl->conn, name, enabled != 0, priority, password, options, &local);
    explicit_bzero(password, sizeof(password));
    if (id == 0) {
        collector_error(error, local, name);
        return -1;
    }
    g_print(_("Created collector %s (number %lld).\n"), name, (long long)id);
    return 0;
}

int
ctl_cmd_collector_set(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    char password[SECRET_MAX_BYTES];
    StoreCollectorChange change = { -1, FALSE, 0, NULL, NULL };

    g_autofree char *name = check_name(args[0], error);
    if (name == NULL)
        return -1;
    g_autoptr(GHashTable) given = given_options(error);
    if (given == NULL || !parse_enabled(&change.enabled, error) ||
        !parse_priority(&change.set_priority, &change.priority, error))
        return -1;
    if (g_hash_table_size(given) == 0 && change.enabled < 0 && !change.set_priority &&
        !password_wanted()) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE,
                    _("Nothing to change: give the settings to change, e.g. --interval 5."));
        return -1;
    }
    if (!ctl_open_store(ctl, error))
        return -1;
    g_autoptr(StoreCollector) c = store_collector_get(ctl->conn, name, &local);
    if (c == NULL) {
        collector_error(error, local, name);
        return -1;
    }
    /* The combination is checked as it will be. */
    g_autoptr(GHashTable) merged = g_hash_table_new(g_str_hash, g_str_equal);
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init(&iter, c->options);
    while (g_hash_table_iter_next(&iter, &key, &value))
        g_hash_table_insert(merged, key, value);
    g_hash_table_iter_init(&iter, given);
    while (g_hash_table_iter_next(&iter, &key, &value))
        g_hash_table_insert(merged, key, value);
    if (!check_combination(merged, error))
        return -1;

    change.options = given;
    if (password_wanted()) {
        if (!read_password(name, password, sizeof(password), error))
            return -1;
        change.password = password;
    }
    gboolean ok = store_collector_update(ctl->conn, name, &change, &local);
    explicit_bzero(password, sizeof(password));
    if (!ok) {
        collector_error(error, local, name);
        return -1;
    }
    g_print(_("Changed collector %s; the server uses the change from its next session.\n"), name);
    return 0;
}

int
ctl_cmd_collector_del(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *name = check_name(args[0], error);
    if (name == NULL || !ctl_open_store(ctl, error))
        return -1;
    if (!store_collector_delete(ctl->conn, name, &local)) {
        collector_error(error, local, name);
        return -1;
    }
    g_print(_("Deleted collector %s and the UIDs it knew.\n"), name);
    return 0;
}

/* ---- list, show ---- */

static gboolean
is_running(const StoreCollector *c)
{
    return *c->claimed_by != '\0' && c->claim_expires >= g_get_real_time() / G_USEC_PER_SEC;
}

/* "every 10 min, at 08:00;12:00", or "on demand". */
static char *
schedule_text(GHashTable *options)
{
    const char *interval = effective_value(options, O_INTERVAL);
    const char *times = effective_value(options, O_TIMES);
    gboolean every = strcmp(interval, "0") != 0;
    gboolean at = times != NULL && *times != '\0';
    if (every && at)
        return g_strdup_printf(_("every %s min, at %s"), interval, times);
    if (every)
        return g_strdup_printf(_("every %s min"), interval);
    if (at)
        return g_strdup_printf(_("at %s"), times);
    return g_strdup(_("on demand"));
}

static const char *
result_text(const StoreCollector *c)
{
    if (c->last_run == 0)
        return "-";
    return *c->last_result != '\0' ? c->last_result : _("OK");
}

static void
collector_to_json(CtlJson *json, const StoreCollector *c, gint64 n_uids, const gint64 *states)
{
    ctl_json_begin_object(json);
    ctl_json_key(json, "id");
    ctl_json_int(json, c->id);
    ctl_json_key(json, "name");
    ctl_json_string(json, c->name);
    ctl_json_key(json, "enabled");
    ctl_json_bool(json, c->enabled);
    ctl_json_key(json, "priority");
    ctl_json_int(json, c->priority);
    /* Whether one is set, never the password. */
    ctl_json_key(json, "password_set");
    ctl_json_bool(json, *c->password != '\0');
    /* Every setting as the module uses it; "explicit" lists those set. */
    ctl_json_key(json, "options");
    ctl_json_begin_object(json);
    for (guint i = 0; i < N_OPTIONS; i++) {
        ctl_json_key(json, specs[i].key);
        ctl_json_string(json, effective_value(c->options, i));
    }
    ctl_json_end_object(json);
    ctl_json_key(json, "explicit");
    ctl_json_begin_array(json);
    g_autoptr(GList) keys = g_list_sort(g_hash_table_get_keys(c->options), (GCompareFunc)strcmp);
    for (GList *l = keys; l != NULL; l = l->next)
        ctl_json_string(json, l->data);
    ctl_json_end_array(json);
    ctl_json_key(json, "created");
    ctl_json_int(json, c->created);
    ctl_json_key(json, "last_run");
    ctl_json_int(json, c->last_run);
    ctl_json_key(json, "last_result");
    ctl_json_string(json, c->last_result);
    ctl_json_key(json, "run_requested");
    ctl_json_int(json, c->run_requested);
    ctl_json_key(json, "claimed_by");
    ctl_json_string(json, c->claimed_by);
    ctl_json_key(json, "claim_expires");
    ctl_json_int(json, c->claim_expires);
    ctl_json_key(json, "uids");
    ctl_json_int(json, n_uids);
    if (states != NULL) {
        ctl_json_key(json, "uid_states");
        ctl_json_begin_object(json);
        for (int s = STORE_COLLECTOR_UID_DOWNLOADED; s <= STORE_COLLECTOR_UID_REQUESTED; s++) {
            ctl_json_key(json, store_collector_uid_state_name(s));
            ctl_json_int(json, states[s]);
        }
        ctl_json_end_object(json);
    }
    ctl_json_end_object(json);
}

int
ctl_cmd_collector_list(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    if (!ctl_open_store(ctl, error))
        return -1;
    g_autoptr(GPtrArray) list = store_collector_list(ctl->conn, TRUE, &local);
    g_autoptr(GHashTable) counts =
        list != NULL ? store_collector_uid_counts(ctl->conn, &local) : NULL;
    if (counts == NULL) {
        set_store_error(error, local);
        return -1;
    }
    if (ctl->json) {
        g_autoptr(CtlJson) json = ctl_json_new();
        ctl_json_begin_array(json);
        for (guint i = 0; i < list->len; i++) {
            StoreCollector *c = list->pdata[i];
            const gint64 *n = g_hash_table_lookup(counts, &c->id);
            collector_to_json(json, c, n != NULL ? *n : 0, NULL);
        }
        ctl_json_end_array(json);
        return ctl_json_print(json, error) ? 0 : -1;
    }
    if (list->len == 0) {
        g_print(_("No collectors; add one with 'postroomctl collector add NAME --server HOST'.\n"));
        return 0;
    }
    g_autoptr(CtlTable) table = ctl_table_new(8, _("NAME"), _("NUMBER"), _("ENABLED"), _("SERVER"),
                                              _("SCHEDULE"), _("LAST RUN"), _("RESULT"), _("UIDS"));
    for (guint i = 0; i < list->len; i++) {
        StoreCollector *c = list->pdata[i];
        const gint64 *n = g_hash_table_lookup(counts, &c->id);
        g_autofree char *number = g_strdup_printf("%" G_GINT64_FORMAT, c->id);
        g_autofree char *server = g_strdup_printf("%s:%s", effective_value(c->options, O_SERVER),
                                                  effective_value(c->options, O_PORT));
        g_autofree char *schedule = schedule_text(c->options);
        g_autofree char *last = is_running(c) ? g_strdup(_("running"))
                                : c->last_run ? ctl_format_time(c->last_run)
                                              : g_strdup(_("never"));
        g_autofree char *uids = g_strdup_printf("%" G_GINT64_FORMAT, n != NULL ? *n : 0);
        ctl_table_add_row(table, c->name, number, c->enabled ? _("yes") : _("no"), server, schedule,
                          last, result_text(c), uids);
    }
    ctl_table_print(table);
    return 0;
}

int
ctl_cmd_collector_show(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    gint64 states[4];

    g_autofree char *name = check_name(args[0], error);
    if (name == NULL || !ctl_open_store(ctl, error))
        return -1;
    g_autoptr(StoreCollector) c = store_collector_get(ctl->conn, name, &local);
    if (c == NULL) {
        collector_error(error, local, name);
        return -1;
    }
    if (!store_collector_uid_states(ctl->conn, c->id, states, &local)) {
        set_store_error(error, local);
        return -1;
    }
    gint64 n_uids = states[0] + states[1] + states[2] + states[3];
    if (ctl->json) {
        g_autoptr(CtlJson) json = ctl_json_new();
        collector_to_json(json, c, n_uids, states);
        return ctl_json_print(json, error) ? 0 : -1;
    }

    g_autoptr(GPtrArray) labels = g_ptr_array_new();
    g_autoptr(GPtrArray) shown = g_ptr_array_new_with_free_func(g_free);
#define FIELD(label, value)                                                                        \
    G_STMT_START                                                                                   \
    {                                                                                              \
        g_ptr_array_add(labels, (gpointer)(label));                                                \
        g_ptr_array_add(shown, (value));                                                           \
    }                                                                                              \
    G_STMT_END
    FIELD(_("Name:"), g_strdup(c->name));
    FIELD(_("Number:"), g_strdup_printf("%" G_GINT64_FORMAT, c->id));
    FIELD(_("Status:"), g_strdup(c->enabled ? _("enabled") : _("disabled")));
    FIELD(_("Priority:"), g_strdup_printf("%d", c->priority));
    FIELD(_("Schedule:"), schedule_text(c->options));
    for (guint i = 0; i < N_OPTIONS; i++) {
        const char *v = effective_value(c->options, i);
        gboolean set = g_hash_table_contains(c->options, specs[i].key);
        if (i == O_NUL_CHAR && v != NULL && strcmp(v, " ") == 0)
            v = _("a space");
        char *text = v == NULL ? g_strdup("-")
                     : set     ? g_strdup(v)
                               : g_strdup_printf(_("%s (default)"), v);
        FIELD(_(specs[i].label), text);
    }
    FIELD(_("Password:"), g_strdup(*c->password != '\0' ? _("set") : _("not set")));
    FIELD(_("Created:"), ctl_format_time(c->created));
    FIELD(_("Last run:"), c->last_run ? ctl_format_time(c->last_run) : g_strdup(_("never")));
    FIELD(_("Last result:"), g_strdup(result_text(c)));
    FIELD(_("Run requested:"),
          c->run_requested ? ctl_format_time(c->run_requested) : g_strdup(_("no")));
    if (is_running(c)) {
        g_autofree char *until = ctl_format_time(c->claim_expires);
        FIELD(_("Running on:"), g_strdup_printf(_("%s (claim until %s)"), c->claimed_by, until));
    } else {
        FIELD(_("Running on:"), g_strdup("-"));
    }
    FIELD(_("UIDs known:"),
          g_strdup_printf(_("%lld (downloaded %lld, left %lld, queried %lld, requested %lld)"),
                          (long long)n_uids, (long long)states[0], (long long)states[1],
                          (long long)states[2], (long long)states[3]));
#undef FIELD
    ctl_print_fields((const char *const *)labels->pdata, (const char *const *)shown->pdata,
                     labels->len);
    return 0;
}

/* ---- run, forget ---- */

int
ctl_cmd_collector_run(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *name = check_name(args[0], error);
    if (name == NULL || !ctl_open_store(ctl, error))
        return -1;
    g_autoptr(StoreCollector) c = store_collector_get(ctl->conn, name, &local);
    if (c == NULL) {
        collector_error(error, local, name);
        return -1;
    }
    if (!c->enabled) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_DATA,
                    _("Collector %s is disabled; enable it with 'postroomctl collector set %s "
                      "--enabled yes'."),
                    name, name);
        return -1;
    }
    if (!store_collector_request_run(ctl->conn, name, g_get_real_time() / G_USEC_PER_SEC, &local)) {
        collector_error(error, local, name);
        return -1;
    }
    if (is_running(c))
        g_print(_("Collector %s is running now; it will run again when this session ends.\n"),
                name);
    else
        g_print(_("Asked the server to run collector %s; it starts within a few seconds if "
                  "postroomd is running with the collector module.\n"),
                name);
    return 0;
}

int
ctl_cmd_collector_forget(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *name = check_name(args[0], error);
    if (name == NULL || !ctl_open_store(ctl, error))
        return -1;
    g_autoptr(StoreCollector) c = store_collector_get(ctl->conn, name, &local);
    if (c == NULL) {
        collector_error(error, local, name);
        return -1;
    }
    /* A session in progress would fetch again what it is fetching. */
    if (is_running(c)) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_TEMPFAIL,
                    _("Collector %s is running; try again when its session is over."), name);
        return -1;
    }
    gint64 n = store_collector_forget(ctl->conn, name, &local);
    if (n < 0) {
        collector_error(error, local, name);
        return -1;
    }
    g_print(ngettext("Collector %s forgot %lu UID; every message still on the server will be "
                     "downloaded again at its next session.\n",
                     "Collector %s forgot %lu UIDs; every message still on the server will be "
                     "downloaded again at its next session.\n",
                     (gulong)n),
            name, (gulong)n);
    return 0;
}

/* ---- fetch ---- */

/* What a recipient's reply to a query notice does (VPOP3 §2.5): the
 * message the collector left on the server is fetched at its next
 * session, which is asked for now. */
int
ctl_cmd_collector_fetch(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *name = check_name(args[0], error);
    const char *uid = args[1];
    if (name == NULL || !ctl_open_store(ctl, error))
        return -1;
    g_autoptr(StoreCollector) c = store_collector_get(ctl->conn, name, &local);
    if (c == NULL) {
        collector_error(error, local, name);
        return -1;
    }
    if (!store_collector_request_uid(ctl->conn, c->id, uid, g_get_real_time() / G_USEC_PER_SEC,
                                     &local)) {
        if (g_error_matches(local, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND) ||
            g_error_matches(local, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS))
            g_set_error(error, CTL_ERROR, CTL_ERROR_DATA, _("Collector %s: %s"), name,
                        local->message);
        else
            set_store_error(error, local);
        return -1;
    }
    if (c->enabled)
        g_print(_("Collector %s fetches the message %s at its next session, which the server "
                  "was asked to run now.\n"),
                name, uid);
    else
        g_print(_("Collector %s fetches the message %s at its next session; it is disabled: "
                  "enable it with 'postroomctl collector set %s --enabled yes'.\n"),
                name, uid, name);
    return 0;
}
