/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <gio/gio.h>

#include "auth.h"
#include "store/store-ops.h"
#include "store/store-secrets.h"

/* VPOP3's lowest allowed minimum. */
#define PASSWORD_MIN_CHARS 3
#define PASSWORD_MAX_BYTES 1024
#define NAME_MAX_CHARS     64
#define TEXT_MAX_CHARS     256
#define ADDRESS_MAX_BYTES  320

/* Names ----------------------------------------------------------------- */

static gboolean
local_name_ok(const char *name)
{
    gsize len = strlen(name);
    if (len == 0 || len > NAME_MAX_CHARS)
        return FALSE;
    /* A leading '-' would read as an option, a leading '.' as a hidden
     * file or a path step wherever a name becomes a file name. */
    if (name[0] == '-' || name[0] == '.')
        return FALSE;
    for (const char *p = name; *p != '\0'; p++) {
        if (!g_ascii_islower(*p) && !g_ascii_isdigit(*p) && *p != '.' && *p != '_' && *p != '-')
            return FALSE;
    }
    return TRUE;
}

static char *
check_user_name(const char *name, GError **error)
{
    g_autofree char *lower = g_ascii_strdown(name, -1);
    if (!local_name_ok(lower)) {
        g_autofree char *shown = ctl_printable(name);
        g_set_error(error, CTL_ERROR, CTL_ERROR_DATA,
                    _("Invalid user name “%s”: use 1 to 64 characters from a-z, 0-9, '.', '_' "
                      "and '-', not starting with '.' or '-'."),
                    shown);
        return NULL;
    }
    return g_steal_pointer(&lower);
}

char *
ctl_check_user_name(const char *name, GError **error)
{
    return check_user_name(name, error);
}

static char *
check_list_name(const char *name, GError **error)
{
    g_autofree char *lower = g_ascii_strdown(name, -1);
    if (!local_name_ok(lower)) {
        g_autofree char *shown = ctl_printable(name);
        g_set_error(error, CTL_ERROR, CTL_ERROR_DATA,
                    _("Invalid list name “%s”: use 1 to 64 characters from a-z, 0-9, '.', '_' "
                      "and '-', not starting with '.' or '-'."),
                    shown);
        return NULL;
    }
    return g_steal_pointer(&lower);
}

static gboolean
domain_ok(const char *name)
{
    gsize len = strlen(name);
    if (len == 0 || len > 253 || g_hostname_is_ip_address(name))
        return FALSE;
    g_auto(GStrv) labels = g_strsplit(name, ".", -1);
    for (int i = 0; labels[i] != NULL; i++) {
        const char *l = labels[i];
        gsize n = strlen(l);
        if (n == 0 || n > 63 || l[0] == '-' || l[n - 1] == '-')
            return FALSE;
        for (const char *p = l; *p != '\0'; p++) {
            if (!g_ascii_islower(*p) && !g_ascii_isdigit(*p) && *p != '-')
                return FALSE;
        }
    }
    return TRUE;
}

/* Internationalised names are accepted and stored in their ASCII (IDNA)
 * form, the form that appears in SMTP envelopes. */
char *
ctl_check_domain(const char *name, GError **error)
{
    g_autofree char *ascii = g_utf8_validate(name, -1, NULL) ? g_hostname_to_ascii(name) : NULL;
    g_autofree char *lower = ascii != NULL ? g_ascii_strdown(ascii, -1) : NULL;
    if (lower == NULL || !domain_ok(lower)) {
        g_autofree char *shown = ctl_printable(name);
        g_set_error(error, CTL_ERROR, CTL_ERROR_DATA,
                    _("Invalid domain name “%s”: use labels of letters, digits and '-' separated "
                      "by dots (for example example.com), at most 253 characters."),
                    shown);
        return NULL;
    }
    return g_steal_pointer(&lower);
}

/* Free text (full names, descriptions): one line of printable UTF-8. */
static gboolean
text_ok(const char *text)
{
    if (!g_utf8_validate(text, -1, NULL) || g_utf8_strlen(text, -1) > TEXT_MAX_CHARS)
        return FALSE;
    for (const char *p = text; *p != '\0'; p = g_utf8_next_char(p)) {
        if (g_unichar_iscntrl(g_utf8_get_char(p)))
            return FALSE;
    }
    return TRUE;
}

/* Mapping patterns and targets, list members: addresses, names or
 * wildcards; no blanks or control characters, which have no place in a
 * mail address. */
static gboolean
address_ok(const char *text)
{
    gsize len = strlen(text);
    if (len == 0 || len > ADDRESS_MAX_BYTES || !g_utf8_validate(text, -1, NULL))
        return FALSE;
    for (const char *p = text; *p != '\0'; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (g_unichar_iscntrl(c) || g_unichar_isspace(c))
            return FALSE;
    }
    return TRUE;
}

/* Store errors ---------------------------------------------------------- */

/* For errors with no better message: keeps the exit code class. */
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

static gboolean
is_not_found(const GError *local)
{
    return g_error_matches(local, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
}

static gboolean
is_exists(const GError *local)
{
    return g_error_matches(local, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS);
}

static void
user_error(GError **error, const GError *local, const char *name)
{
    if (is_not_found(local))
        g_set_error(error, CTL_ERROR, CTL_ERROR_NO_USER,
                    _("User %s does not exist; see 'postroomctl user list'."), name);
    else if (is_exists(local))
        g_set_error(error, CTL_ERROR, CTL_ERROR_EXISTS,
                    _("User %s exists already; see 'postroomctl user show %s'."), name, name);
    else
        set_store_error(error, local);
}

/* Passwords ------------------------------------------------------------- */

static struct termios saved_termios;
static volatile sig_atomic_t termios_changed;

static void
restore_terminal(int sig)
{
    if (termios_changed)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Reads one line from @fd a byte at a time, so that no stdio buffer keeps
 * a copy of the secret and nothing after the line is consumed. The line
 * end ("\n" or "\r\n") is removed. */
static gboolean
read_secret_line(int fd, char *buf, gsize size, gboolean *got_any, GError **error)
{
    gsize len = 0;
    *got_any = FALSE;

    for (;;) {
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            g_set_error(error, CTL_ERROR, CTL_ERROR_IO, _("Cannot read the password: %s."),
                        g_strerror(saved));
            return FALSE;
        }
        if (n == 0 || c == '\n')
            break;
        *got_any = TRUE;
        if (c == '\0') {
            g_set_error(error, CTL_ERROR, CTL_ERROR_DATA,
                        _("The password contains a NUL byte; use printable characters."));
            return FALSE;
        }
        if (len + 1 >= size) {
            g_set_error(error, CTL_ERROR, CTL_ERROR_DATA,
                        _("The password is longer than %d bytes; choose a shorter one."),
                        (int)size - 1);
            return FALSE;
        }
        buf[len++] = c;
    }
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    buf[len] = '\0';
    return TRUE;
}

static gboolean
prompt_secret(const char *prompt, char *buf, gsize size, GError **error)
{
    struct termios noecho;
    gboolean got_any;
    gboolean ok;

    g_printerr("%s", prompt);
    if (tcgetattr(STDIN_FILENO, &saved_termios) != 0) {
        int saved = errno;
        g_set_error(error, CTL_ERROR, CTL_ERROR_IO, _("Cannot read the terminal settings: %s."),
                    g_strerror(saved));
        return FALSE;
    }
    noecho = saved_termios;
    noecho.c_lflag &= ~(tcflag_t)ECHO;
    noecho.c_lflag |= ECHONL;
    /* An interrupted prompt must not leave the terminal without echo. */
    signal(SIGINT, restore_terminal);
    signal(SIGTERM, restore_terminal);
    signal(SIGHUP, restore_terminal);
    signal(SIGQUIT, restore_terminal);
    termios_changed = TRUE;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho);
    ok = read_secret_line(STDIN_FILENO, buf, size, &got_any, error);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
    termios_changed = FALSE;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    return ok;
}

static gboolean
password_length_ok(const char *password, GError **error)
{
    glong chars =
        g_utf8_validate(password, -1, NULL) ? g_utf8_strlen(password, -1) : (glong)strlen(password);
    if (chars < PASSWORD_MIN_CHARS) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_DATA,
                    ngettext("The password is too short: use at least %d character.",
                             "The password is too short: use at least %d characters.",
                             PASSWORD_MIN_CHARS),
                    PASSWORD_MIN_CHARS);
        return FALSE;
    }
    return TRUE;
}

/* For other secrets (collector passwords, ctl-collector.c). */
gboolean
ctl_read_secret_line(int fd, char *buf, gsize size, GError **error)
{
    gboolean got_any;
    return read_secret_line(fd, buf, size, &got_any, error);
}

gboolean
ctl_prompt_secret(const char *prompt, char *buf, gsize size, GError **error)
{
    return prompt_secret(prompt, buf, size, error);
}

/* Fills @out (PASSWORD_MAX_BYTES) from --password-file, --password-stdin,
 * a terminal prompt or two lines of standard input. */
static gboolean
read_new_password(const char *user, char *out, gsize size, GError **error)
{
    char again[PASSWORD_MAX_BYTES];
    gboolean got_any = FALSE;
    gboolean ok = FALSE;

    if (ctl_options.password_file != NULL && ctl_options.password_stdin) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE,
                    _("Use either --password-file or --password-stdin, not both."));
        return FALSE;
    }
    if (ctl_options.password_file != NULL) {
        int fd = open(ctl_options.password_file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
            int saved = errno;
            g_set_error(error, CTL_ERROR, CTL_ERROR_IO, _("Cannot open the password file %s: %s."),
                        ctl_options.password_file, g_strerror(saved));
            return FALSE;
        }
        ok = read_secret_line(fd, out, size, &got_any, error);
        close(fd);
    } else if (ctl_options.password_stdin) {
        ok = read_secret_line(STDIN_FILENO, out, size, &got_any, error);
    } else {
        gboolean tty = isatty(STDIN_FILENO);
        g_autofree char *prompt = g_strdup_printf(_("New password for %s: "), user);
        ok = tty ? prompt_secret(prompt, out, size, error)
                 : read_secret_line(STDIN_FILENO, out, size, &got_any, error);
        if (ok)
            ok = tty ? prompt_secret(_("Retype the new password: "), again, sizeof(again), error)
                     : read_secret_line(STDIN_FILENO, again, sizeof(again), &got_any, error);
        if (ok && strcmp(out, again) != 0) {
            g_set_error(error, CTL_ERROR, CTL_ERROR_DATA,
                        _("The two passwords differ; nothing was changed."));
            ok = FALSE;
        }
        explicit_bzero(again, sizeof(again));
    }
    if (ok)
        ok = password_length_ok(out, error);
    if (!ok)
        explicit_bzero(out, size);
    return ok;
}

/* Reads, checks and hashes a new password. The clear text leaves this
 * function only through @secret (CTL_SECRET_MAX bytes, or NULL), for
 * APOP/CRAM-MD5; the caller wipes it. */
static char *
new_password_hash(Ctl *ctl, const char *user, char *secret, GError **error)
{
    char password[PASSWORD_MAX_BYTES];
    g_autoptr(GError) local = NULL;

    G_STATIC_ASSERT(PASSWORD_MAX_BYTES == CTL_SECRET_MAX);
    if (!read_new_password(user, password, sizeof(password), error))
        return NULL;
    const char *scheme = config_get_string(ctl->config, "auth", "password_scheme");
    char *hash = auth_hash_password(password, scheme, &local);
    if (hash != NULL && secret != NULL)
        memcpy(secret, password, sizeof(password));
    explicit_bzero(password, sizeof(password));
    if (hash == NULL) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_SOFTWARE, _("Cannot hash the password: %s"),
                    local->message);
        return NULL;
    }
    return hash;
}

/* Users ----------------------------------------------------------------- */

static const char *
hash_scheme(const char *hash)
{
    if (hash == NULL || *hash == '\0')
        return _("none");
    if (g_str_has_prefix(hash, "$y$"))
        return "yescrypt";
    if (g_str_has_prefix(hash, "$6$"))
        return "sha512-crypt";
    if (g_str_has_prefix(hash, "$gy$"))
        return "gost-yescrypt";
    if (g_str_has_prefix(hash, "$2b$") || g_str_has_prefix(hash, "$2y$"))
        return "bcrypt";
    return "other";
}

int
ctl_cmd_user_add(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *name = check_user_name(args[0], error);
    if (name == NULL)
        return -1;
    if (ctl_options.full_name != NULL && !text_ok(ctl_options.full_name)) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_DATA,
                    _("Invalid full name: use one line of at most %d characters."), TEXT_MAX_CHARS);
        return -1;
    }
    gint64 max_outgoing = -1;
    if (!ctl_parse_max_outgoing(&max_outgoing, error) || !ctl_open_store(ctl, error))
        return -1;
    /* Checked before asking for the password, which would be wasted. */
    g_autoptr(StoreUser) existing = store_user_get(ctl->conn, name, &local);
    if (existing != NULL) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_EXISTS,
                    _("User %s exists already; see 'postroomctl user show %s'."), name, name);
        return -1;
    }
    if (!is_not_found(local)) {
        set_store_error(error, local);
        return -1;
    }
    g_clear_error(&local);

    char secret[CTL_SECRET_MAX];
    gboolean keep_secret = ctl_secrets_wanted(ctl);
    g_autofree char *hash = new_password_hash(ctl, name, keep_secret ? secret : NULL, error);
    if (hash == NULL)
        return -1;
    if (store_user_add(ctl->conn, name, hash, ctl_options.full_name, &local) <= 0) {
        if (local == NULL)
            g_set_error_literal(&local, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                                _("The new user could not be read back."));
        user_error(error, local, name);
        if (keep_secret)
            explicit_bzero(secret, sizeof(secret));
        return -1;
    }
    g_print(_("Created user %s.\n"), name);
    if (max_outgoing > 0 && !store_user_set_max_outgoing(ctl->conn, name, max_outgoing, &local)) {
        if (keep_secret)
            explicit_bzero(secret, sizeof(secret));
        set_store_error(error, local);
        return -1;
    }
    /* A failure here leaves a user without a secret: APOP and CRAM-MD5
     * fail for it, nothing else does. */
    if (keep_secret) {
        gboolean stored =
            store_user_secret_set(ctl->conn, name, (const guint8 *)secret, strlen(secret), &local);
        explicit_bzero(secret, sizeof(secret));
        if (!stored) {
            set_store_error(error, local);
            return -1;
        }
        ctl_secrets_print_stored(name);
    }
    return 0;
}

int
ctl_cmd_user_del(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *name = check_user_name(args[0], error);
    if (name == NULL || !ctl_open_store(ctl, error))
        return -1;
    if (!store_user_delete(ctl->conn, name, &local)) {
        user_error(error, local, name);
        return -1;
    }
    g_print(_("Deleted user %s.\n"), name);
    return 0;
}

int
ctl_cmd_user_passwd(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *name = check_user_name(args[0], error);
    if (name == NULL || !ctl_open_store(ctl, error))
        return -1;
    g_autoptr(StoreUser) user = store_user_get(ctl->conn, name, &local);
    if (user == NULL) {
        user_error(error, local, name);
        return -1;
    }
    char secret[CTL_SECRET_MAX];
    gboolean keep_secret = ctl_secrets_wanted(ctl);
    int had_secret = ctl_secrets_has(ctl, name, error);
    if (had_secret < 0)
        return -1;
    g_autofree char *hash = new_password_hash(ctl, name, keep_secret ? secret : NULL, error);
    if (hash == NULL)
        return -1;
    /* One transaction: a stored secret never outlives its password. */
    gboolean ok = store_user_set_password_and_secret(ctl->conn, name, hash,
                                                     keep_secret ? (const guint8 *)secret : NULL,
                                                     keep_secret ? strlen(secret) : 0, &local);
    if (keep_secret)
        explicit_bzero(secret, sizeof(secret));
    if (!ok) {
        user_error(error, local, name);
        return -1;
    }
    g_print(_("Changed the password of user %s.\n"), name);
    if (keep_secret)
        ctl_secrets_print_stored(name);
    else if (had_secret)
        g_print(_("Deleted the stored APOP/CRAM-MD5 secret of user %s.\n"), name);
    return 0;
}

static int
user_set_enabled(Ctl *ctl, char **args, gboolean enabled, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *name = check_user_name(args[0], error);
    if (name == NULL || !ctl_open_store(ctl, error))
        return -1;
    if (!store_user_set_enabled(ctl->conn, name, enabled, &local)) {
        user_error(error, local, name);
        return -1;
    }
    if (enabled)
        g_print(_("Enabled user %s.\n"), name);
    else
        g_print(_("Disabled user %s; it cannot log in until 'postroomctl user enable %s'.\n"), name,
                name);
    return 0;
}

int
ctl_cmd_user_enable(Ctl *ctl, char **args, GError **error)
{
    return user_set_enabled(ctl, args, TRUE, error);
}

int
ctl_cmd_user_disable(Ctl *ctl, char **args, GError **error)
{
    return user_set_enabled(ctl, args, FALSE, error);
}

/* Whether a secret is stored is shown; the secret itself never is. */
static void
user_to_json(CtlJson *json, const StoreUser *user, gboolean secret_stored)
{
    ctl_json_begin_object(json);
    ctl_json_key(json, "name");
    ctl_json_string(json, user->name);
    ctl_json_key(json, "full_name");
    ctl_json_string(json, user->full_name != NULL ? user->full_name : "");
    ctl_json_key(json, "enabled");
    ctl_json_bool(json, user->enabled);
    ctl_json_key(json, "quota_bytes");
    ctl_json_int(json, user->quota_bytes);
    ctl_json_key(json, "max_outgoing_size");
    ctl_json_int(json, user->max_outgoing_size);
    ctl_json_key(json, "created");
    ctl_json_int(json, user->created);
    ctl_json_key(json, "password_scheme");
    ctl_json_string(json, hash_scheme(user->pwhash));
    ctl_json_key(json, "used_bytes");
    ctl_json_int(json, user->used_bytes);
    ctl_json_key(json, "forward_to");
    ctl_json_string(json, user->forward_to != NULL ? user->forward_to : "");
    ctl_json_key(json, "forward_keep_copy");
    ctl_json_bool(json, user->forward_keep_copy);
    ctl_json_key(json, "assistants");
    ctl_json_string(json, user->assistants != NULL ? user->assistants : "");
    ctl_json_key(json, "assistant_only");
    ctl_json_bool(json, user->assistant_only);
    ctl_json_key(json, "in_everyone");
    ctl_json_bool(json, user->in_everyone);
    ctl_json_key(json, "secret_stored");
    ctl_json_bool(json, secret_stored);
    ctl_json_end_object(json);
}

int
ctl_cmd_user_list(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    if (!ctl_open_store(ctl, error))
        return -1;
    g_autoptr(GPtrArray) users = store_user_list(ctl->conn, &local);
    if (users == NULL) {
        set_store_error(error, local);
        return -1;
    }
    if (ctl->json) {
        g_autoptr(GHashTable) with_secret = store_user_secret_names(ctl->conn, &local);
        if (with_secret == NULL) {
            set_store_error(error, local);
            return -1;
        }
        g_autoptr(CtlJson) json = ctl_json_new();
        ctl_json_begin_array(json);
        for (guint i = 0; i < users->len; i++) {
            StoreUser *user = users->pdata[i];
            user_to_json(json, user, g_hash_table_contains(with_secret, user->name));
        }
        ctl_json_end_array(json);
        return ctl_json_print(json, error) ? 0 : -1;
    }
    if (users->len == 0) {
        g_print(_("There are no users; add one with 'postroomctl user add NAME'.\n"));
        return 0;
    }
    g_autoptr(CtlTable) table =
        ctl_table_new(4, _("NAME"), _("FULL NAME"), _("STATUS"), _("CREATED"));
    for (guint i = 0; i < users->len; i++) {
        StoreUser *user = users->pdata[i];
        g_autofree char *created = ctl_format_time(user->created);
        ctl_table_add_row(table, user->name, user->full_name,
                          user->enabled ? _("enabled") : _("disabled"), created);
    }
    ctl_table_print(table);
    return 0;
}

int
ctl_cmd_user_show(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *name = check_user_name(args[0], error);
    if (name == NULL || !ctl_open_store(ctl, error))
        return -1;
    g_autoptr(StoreUser) user = store_user_get(ctl->conn, name, &local);
    if (user == NULL) {
        user_error(error, local, name);
        return -1;
    }
    int secret_stored = ctl_secrets_has(ctl, name, error);
    if (secret_stored < 0)
        return -1;
    if (ctl->json) {
        g_autoptr(CtlJson) json = ctl_json_new();
        user_to_json(json, user, secret_stored);
        return ctl_json_print(json, error) ? 0 : -1;
    }
    g_autofree char *created = ctl_format_time(user->created);
    g_autofree char *quota =
        user->quota_bytes > 0 ? g_format_size(user->quota_bytes) : g_strdup(_("unlimited"));
    g_autofree char *used = g_format_size(user->used_bytes);
    g_autofree char *max_outgoing =
        user->max_outgoing_size > 0
            ? g_format_size_full(user->max_outgoing_size, G_FORMAT_SIZE_LONG_FORMAT)
            : g_strdup(_("unlimited"));
    g_autofree char *forward =
        user->forward_to != NULL && *user->forward_to != '\0'
            ? g_strdup_printf(user->forward_keep_copy ? _("%s (keeping a copy)") : "%s",
                              user->forward_to)
            : g_strdup(_("no"));
    g_autofree char *assistants =
        user->assistants != NULL && *user->assistants != '\0'
            ? g_strdup_printf(user->assistant_only ? _("%s (only to them)") : "%s",
                              user->assistants)
            : g_strdup(_("none"));
    const char *labels[] = { _("Name:"),       _("Full name:"),     _("Status:"),
                             _("Quota:"),      _("In use:"),        _("Max outgoing size:"),
                             _("Forward to:"), _("Assistants:"),    _("In everyone:"),
                             _("Created:"),    _("Password hash:"), _("APOP/CRAM-MD5 secret:") };
    const char *values[] = { user->name,
                             user->full_name != NULL ? user->full_name : "",
                             user->enabled ? _("enabled") : _("disabled"),
                             quota,
                             used,
                             max_outgoing,
                             forward,
                             assistants,
                             user->in_everyone ? _("yes") : _("no"),
                             created,
                             hash_scheme(user->pwhash),
                             secret_stored ? _("stored") : _("none") };
    ctl_print_fields(labels, values, G_N_ELEMENTS(labels));
    return 0;
}

/* Domains --------------------------------------------------------------- */

int
ctl_cmd_domain_add(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *name = ctl_check_domain(args[0], error);
    if (name == NULL || !ctl_open_store(ctl, error))
        return -1;
    if (!store_domain_add(ctl->conn, name, &local)) {
        if (is_exists(local))
            g_set_error(error, CTL_ERROR, CTL_ERROR_EXISTS,
                        _("Domain %s exists already; see 'postroomctl domain list'."), name);
        else
            set_store_error(error, local);
        return -1;
    }
    g_print(_("Added domain %s.\n"), name);
    return 0;
}

int
ctl_cmd_domain_del(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *name = ctl_check_domain(args[0], error);
    if (name == NULL || !ctl_open_store(ctl, error))
        return -1;
    if (!store_domain_delete(ctl->conn, name, &local)) {
        if (is_not_found(local))
            g_set_error(error, CTL_ERROR, CTL_ERROR_NO_USER,
                        _("Domain %s does not exist; see 'postroomctl domain list'."), name);
        else
            set_store_error(error, local);
        return -1;
    }
    g_print(_("Deleted domain %s.\n"), name);
    return 0;
}

int
ctl_cmd_domain_list(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    if (!ctl_open_store(ctl, error))
        return -1;
    g_autoptr(GPtrArray) domains = store_domain_list(ctl->conn, &local);
    if (domains == NULL) {
        set_store_error(error, local);
        return -1;
    }
    if (ctl->json) {
        g_autoptr(CtlJson) json = ctl_json_new();
        ctl_json_begin_array(json);
        for (guint i = 0; i < domains->len; i++) {
            StoreDomain *d = domains->pdata[i];
            ctl_json_begin_object(json);
            ctl_json_key(json, "name");
            ctl_json_string(json, d->name);
            ctl_json_end_object(json);
        }
        ctl_json_end_array(json);
        return ctl_json_print(json, error) ? 0 : -1;
    }
    if (domains->len == 0) {
        g_print(_("There are no local domains; add one with 'postroomctl domain add NAME'.\n"));
        return 0;
    }
    g_autoptr(CtlTable) table = ctl_table_new(1, _("DOMAIN"));
    for (guint i = 0; i < domains->len; i++)
        ctl_table_add_row(table, ((StoreDomain *)domains->pdata[i])->name);
    ctl_table_print(table);
    return 0;
}

/* Mappings -------------------------------------------------------------- */

int
ctl_cmd_mapping_add(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    if (!address_ok(args[0]) || !address_ok(args[1])) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_DATA,
                    _("Invalid mapping: the pattern and the target must be 1 to %d bytes of "
                      "UTF-8 without blanks or control characters."),
                    ADDRESS_MAX_BYTES);
        return -1;
    }
    g_autofree char *pattern = g_utf8_strdown(args[0], -1);
    const char *target = args[1];
    if (!ctl_open_store(ctl, error))
        return -1;
    if (!store_mapping_add(ctl->conn, pattern, target, &local)) {
        if (is_exists(local))
            g_set_error(error, CTL_ERROR, CTL_ERROR_EXISTS,
                        _("The mapping from %s to %s exists already; see 'postroomctl mapping "
                          "list'."),
                        pattern, target);
        else
            set_store_error(error, local);
        return -1;
    }
    g_print(_("Added the mapping from %s to %s.\n"), pattern, target);
    return 0;
}

int
ctl_cmd_mapping_del(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    const char *target = args[1];
    if (!address_ok(args[0]) || (target != NULL && !address_ok(target))) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_DATA,
                    _("Invalid mapping: the pattern and the target must be 1 to %d bytes of "
                      "UTF-8 without blanks or control characters."),
                    ADDRESS_MAX_BYTES);
        return -1;
    }
    g_autofree char *pattern = g_utf8_strdown(args[0], -1);
    if (!ctl_open_store(ctl, error))
        return -1;
    if (!store_mapping_delete(ctl->conn, pattern, target, &local)) {
        if (is_not_found(local) && target != NULL)
            g_set_error(error, CTL_ERROR, CTL_ERROR_NO_USER,
                        _("There is no mapping from %s to %s; see 'postroomctl mapping list'."),
                        pattern, target);
        else if (is_not_found(local))
            g_set_error(error, CTL_ERROR, CTL_ERROR_NO_USER,
                        _("There is no mapping for %s; see 'postroomctl mapping list'."), pattern);
        else
            set_store_error(error, local);
        return -1;
    }
    if (target != NULL)
        g_print(_("Deleted the mapping from %s to %s.\n"), pattern, target);
    else
        g_print(_("Deleted the mappings of %s.\n"), pattern);
    return 0;
}

int
ctl_cmd_mapping_list(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    if (!ctl_open_store(ctl, error))
        return -1;
    g_autoptr(GPtrArray) mappings = store_mapping_list(ctl->conn, &local);
    if (mappings == NULL) {
        set_store_error(error, local);
        return -1;
    }
    if (ctl->json) {
        g_autoptr(CtlJson) json = ctl_json_new();
        ctl_json_begin_array(json);
        for (guint i = 0; i < mappings->len; i++) {
            StoreMapping *m = mappings->pdata[i];
            ctl_json_begin_object(json);
            ctl_json_key(json, "pattern");
            ctl_json_string(json, m->pattern);
            ctl_json_key(json, "target");
            ctl_json_string(json, m->target);
            ctl_json_end_object(json);
        }
        ctl_json_end_array(json);
        return ctl_json_print(json, error) ? 0 : -1;
    }
    if (mappings->len == 0) {
        g_print(_("There are no mappings; add one with 'postroomctl mapping add PATTERN "
                  "TARGET'.\n"));
        return 0;
    }
    g_autoptr(CtlTable) table = ctl_table_new(2, _("PATTERN"), _("TARGET"));
    for (guint i = 0; i < mappings->len; i++) {
        StoreMapping *m = mappings->pdata[i];
        ctl_table_add_row(table, m->pattern, m->target);
    }
    ctl_table_print(table);
    return 0;
}

/* Lists ----------------------------------------------------------------- */

static const char *const list_kinds[] = { "distribution", "forward", "group", NULL };

static void
list_error(GError **error, const GError *local, const char *name)
{
    if (is_not_found(local))
        g_set_error(error, CTL_ERROR, CTL_ERROR_NO_USER,
                    _("List %s does not exist; see 'postroomctl list list'."), name);
    else if (is_exists(local))
        g_set_error(error, CTL_ERROR, CTL_ERROR_EXISTS,
                    _("List %s exists already; see 'postroomctl list members %s'."), name, name);
    else
        set_store_error(error, local);
}

int
ctl_cmd_list_add(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    const char *kind = ctl_options.kind != NULL ? ctl_options.kind : "distribution";
    g_autofree char *name = check_list_name(args[0], error);
    if (name == NULL)
        return -1;
    if (!g_strv_contains(list_kinds, kind)) {
        g_autofree char *shown = ctl_printable(kind);
        g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE,
                    _("Unknown list kind “%s”: use distribution, forward or group."), shown);
        return -1;
    }
    if (ctl_options.description != NULL && !text_ok(ctl_options.description)) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_DATA,
                    _("Invalid description: use one line of at most %d characters."),
                    TEXT_MAX_CHARS);
        return -1;
    }
    if (!ctl_open_store(ctl, error))
        return -1;
    if (!store_list_add(ctl->conn, name, kind, ctl_options.description, &local)) {
        list_error(error, local, name);
        return -1;
    }
    g_print(_("Created list %s.\n"), name);
    return 0;
}

int
ctl_cmd_list_del(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *name = check_list_name(args[0], error);
    if (name == NULL || !ctl_open_store(ctl, error))
        return -1;
    if (!store_list_delete(ctl->conn, name, &local)) {
        list_error(error, local, name);
        return -1;
    }
    g_print(_("Deleted list %s.\n"), name);
    return 0;
}

/* TRUE if list @name exists; members calls are ambiguous about what was
 * not found, so the list is looked up first. */
static gboolean
list_exists(Ctl *ctl, const char *name, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(GPtrArray) lists = store_list_list(ctl->conn, &local);
    if (lists == NULL) {
        set_store_error(error, local);
        return FALSE;
    }
    for (guint i = 0; i < lists->len; i++) {
        if (g_ascii_strcasecmp(((StoreList *)lists->pdata[i])->name, name) == 0)
            return TRUE;
    }
    g_set_error(error, CTL_ERROR, CTL_ERROR_NO_USER,
                _("List %s does not exist; see 'postroomctl list list'."), name);
    return FALSE;
}

static gboolean
check_members(char **members, GError **error)
{
    for (int i = 0; members != NULL && members[i] != NULL; i++) {
        if (!address_ok(members[i])) {
            g_autofree char *shown = ctl_printable(members[i]);
            g_set_error(error, CTL_ERROR, CTL_ERROR_DATA,
                        _("Invalid member “%s”: give a user name or a mail address."), shown);
            return FALSE;
        }
    }
    return TRUE;
}

int
ctl_cmd_list_members(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *name = check_list_name(args[0], error);
    if (name == NULL || !check_members(ctl_options.add, error) ||
        !check_members(ctl_options.remove, error))
        return -1;
    if (!ctl_open_store(ctl, error) || !list_exists(ctl, name, error))
        return -1;

    if (ctl_options.add != NULL || ctl_options.remove != NULL) {
        /* Each change is reported as it is made, so after a failure the
         * administrator knows which ones happened. */
        for (int i = 0; ctl_options.remove != NULL && ctl_options.remove[i] != NULL; i++) {
            g_autofree char *member = g_utf8_strdown(ctl_options.remove[i], -1);
            if (!store_list_member_remove(ctl->conn, name, member, &local)) {
                if (is_not_found(local))
                    g_set_error(error, CTL_ERROR, CTL_ERROR_NO_USER,
                                _("%s is not a member of list %s; see 'postroomctl list members "
                                  "%s'."),
                                member, name, name);
                else
                    set_store_error(error, local);
                return -1;
            }
            g_print(_("Removed %s from list %s.\n"), member, name);
        }
        for (int i = 0; ctl_options.add != NULL && ctl_options.add[i] != NULL; i++) {
            g_autofree char *member = g_utf8_strdown(ctl_options.add[i], -1);
            if (!store_list_member_add(ctl->conn, name, member, &local)) {
                if (is_exists(local))
                    g_set_error(error, CTL_ERROR, CTL_ERROR_EXISTS,
                                _("%s is a member of list %s already."), member, name);
                else
                    set_store_error(error, local);
                return -1;
            }
            g_print(_("Added %s to list %s.\n"), member, name);
        }
        return 0;
    }

    g_autoptr(GPtrArray) members = store_list_members(ctl->conn, name, &local);
    if (members == NULL) {
        list_error(error, local, name);
        return -1;
    }
    if (ctl->json) {
        g_autoptr(CtlJson) json = ctl_json_new();
        ctl_json_begin_array(json);
        for (guint i = 0; i < members->len; i++)
            ctl_json_string(json, members->pdata[i]);
        ctl_json_end_array(json);
        return ctl_json_print(json, error) ? 0 : -1;
    }
    if (members->len == 0) {
        g_print(_("List %s has no members; add some with 'postroomctl list members %s --add "
                  "NAME'.\n"),
                name, name);
        return 0;
    }
    for (guint i = 0; i < members->len; i++) {
        g_autofree char *shown = ctl_printable(members->pdata[i]);
        g_print("%s\n", shown);
    }
    return 0;
}

int
ctl_cmd_list_list(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    if (!ctl_open_store(ctl, error))
        return -1;
    g_autoptr(GPtrArray) lists = store_list_list(ctl->conn, &local);
    if (lists == NULL) {
        set_store_error(error, local);
        return -1;
    }
    if (ctl->json) {
        g_autoptr(CtlJson) json = ctl_json_new();
        ctl_json_begin_array(json);
        for (guint i = 0; i < lists->len; i++) {
            StoreList *l = lists->pdata[i];
            ctl_json_begin_object(json);
            ctl_json_key(json, "name");
            ctl_json_string(json, l->name);
            ctl_json_key(json, "kind");
            ctl_json_string(json, l->kind);
            ctl_json_key(json, "description");
            ctl_json_string(json, l->description != NULL ? l->description : "");
            ctl_json_end_object(json);
        }
        ctl_json_end_array(json);
        return ctl_json_print(json, error) ? 0 : -1;
    }
    if (lists->len == 0) {
        g_print(_("There are no lists; add one with 'postroomctl list add NAME'.\n"));
        return 0;
    }
    g_autoptr(CtlTable) table = ctl_table_new(3, _("NAME"), _("KIND"), _("DESCRIPTION"));
    for (guint i = 0; i < lists->len; i++) {
        StoreList *l = lists->pdata[i];
        ctl_table_add_row(table, l->name, l->kind, l->description);
    }
    ctl_table_print(table);
    return 0;
}

/* Login audit ----------------------------------------------------------- */

/* The canonical text of an address, the form the server records. */
static char *
canonical_ip(const char *text, GError **error)
{
    g_autoptr(GInetAddress) address = g_inet_address_new_from_string(text);
    if (address == NULL) {
        g_autofree char *shown = ctl_printable(text);
        g_set_error(error, CTL_ERROR, CTL_ERROR_DATA,
                    _("Invalid address “%s”: give an IPv4 or IPv6 address such as 192.0.2.1."),
                    shown);
        return NULL;
    }
    return g_inet_address_to_string(address);
}

int
ctl_cmd_unlock(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *ip = canonical_ip(args[0], error);

    if (ip == NULL || !ctl_open_store(ctl, error))
        return -1;
    if (!store_lockout_clear(ctl->conn, ip, &local)) {
        set_store_error(error, local);
        return -1;
    }
    g_print(_("Address %s is no longer locked out.\n"), ip);
    return 0;
}

int
ctl_cmd_loginaudit(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *ip = NULL;
    gboolean locked = FALSE;
    int limit = ctl_options.limit;

    if (limit == G_MININT)
        limit = 50;
    if (limit < 1 || limit > 100000) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE,
                    _("Invalid --limit %d: give a number from 1 to 100000."), limit);
        return -1;
    }
    if (ctl_options.ip != NULL && (ip = canonical_ip(ctl_options.ip, error)) == NULL)
        return -1;
    if (!ctl_open_store(ctl, error))
        return -1;
    g_autoptr(GPtrArray) rows = store_login_audit_list(ctl->conn, ip, limit, &local);
    if (rows == NULL) {
        set_store_error(error, local);
        return -1;
    }
    if (ip != NULL) {
        locked = store_lockout_is_locked(ctl->conn, ip, g_get_real_time() / G_USEC_PER_SEC, &local);
        if (local != NULL) {
            set_store_error(error, local);
            return -1;
        }
    }

    if (ctl->json) {
        g_autoptr(CtlJson) json = ctl_json_new();
        ctl_json_begin_object(json);
        ctl_json_key(json, "ip");
        ctl_json_string(json, ip);
        ctl_json_key(json, "locked");
        if (ip != NULL)
            ctl_json_bool(json, locked);
        else
            ctl_json_null(json);
        ctl_json_key(json, "entries");
        ctl_json_begin_array(json);
        for (guint i = 0; i < rows->len; i++) {
            StoreLoginAudit *a = rows->pdata[i];
            ctl_json_begin_object(json);
            ctl_json_key(json, "time");
            ctl_json_int(json, a->time);
            ctl_json_key(json, "ip");
            ctl_json_string(json, a->ip);
            ctl_json_key(json, "username");
            ctl_json_string(json, a->username);
            ctl_json_key(json, "service");
            ctl_json_string(json, a->service);
            ctl_json_key(json, "mechanism");
            ctl_json_string(json, a->mechanism);
            ctl_json_key(json, "success");
            ctl_json_bool(json, a->success);
            ctl_json_key(json, "reason");
            ctl_json_string(json, a->reason);
            ctl_json_end_object(json);
        }
        ctl_json_end_array(json);
        ctl_json_end_object(json);
        return ctl_json_print(json, error) ? 0 : -1;
    }

    if (rows->len == 0) {
        g_print(_("No login attempts recorded.\n"));
    } else {
        g_autoptr(CtlTable) table =
            ctl_table_new(7, _("TIME"), _("ADDRESS"), _("USER"), _("SERVICE"), _("MECHANISM"),
                          _("RESULT"), _("REASON"));
        for (guint i = 0; i < rows->len; i++) {
            StoreLoginAudit *a = rows->pdata[i];
            g_autofree char *when = ctl_format_time(a->time);
            /* The reason stays a code, so it can be searched for in any
             * language. */
            ctl_table_add_row(table, when, a->ip, a->username, a->service, a->mechanism,
                              a->success ? _("success") : _("failure"), a->reason);
        }
        ctl_table_print(table);
    }
    if (ip != NULL) {
        if (locked)
            g_print(_("Address %s is locked out now.\n"), ip);
        else
            g_print(_("Address %s is not locked out.\n"), ip);
    }
    return 0;
}
