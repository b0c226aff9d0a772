/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "ctl.h"

#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <glib/gi18n-lib.h>

/* postroomctl: the administrator's tool. One command per invocation, each
 * working directly on the database through the store's synchronous
 * operations; the daemon need not run. */

/* limit: G_MININT until --limit is given. */
CtlOptions ctl_options = { .limit = G_MININT };

static char *opt_config;
static gboolean opt_json;

static const GOptionEntry global_entries[] = {
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &opt_config, N_("Read the configuration from FILE"),
      N_("FILE") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, N_("Print lists and details as JSON"), NULL },
    { NULL }
};

static const GOptionEntry user_add_entries[] = {
    { "password-file", 0, 0, G_OPTION_ARG_FILENAME, &ctl_options.password_file,
      N_("Read the password from the first line of FILE"), N_("FILE") },
    { "password-stdin", 0, 0, G_OPTION_ARG_NONE, &ctl_options.password_stdin,
      N_("Read the password from one line of standard input"), NULL },
    { "full-name", 0, 0, G_OPTION_ARG_STRING, &ctl_options.full_name, N_("The user's full name"),
      N_("TEXT") },
    { "no-secret", 0, 0, G_OPTION_ARG_NONE, &ctl_options.no_secret,
      N_("Do not store an APOP/CRAM-MD5 secret even though [auth] store_secrets=true"), NULL },
    { "max-outgoing-size", 0, 0, G_OPTION_ARG_STRING, &ctl_options.max_outgoing_size,
      N_("Largest message the user may send, such as 10M (0 for no limit)"), N_("SIZE") },
    { NULL }
};

static const GOptionEntry user_passwd_entries[] = {
    { "password-file", 0, 0, G_OPTION_ARG_FILENAME, &ctl_options.password_file,
      N_("Read the password from the first line of FILE"), N_("FILE") },
    { "password-stdin", 0, 0, G_OPTION_ARG_NONE, &ctl_options.password_stdin,
      N_("Read the password from one line of standard input"), NULL },
    { "no-secret", 0, 0, G_OPTION_ARG_NONE, &ctl_options.no_secret,
      N_("Do not store an APOP/CRAM-MD5 secret (and delete the old one) even though [auth] "
         "store_secrets=true"),
      NULL },
    { NULL }
};

static const GOptionEntry user_drop_secret_entries[] = {
    { "all", 0, 0, G_OPTION_ARG_NONE, &ctl_options.all, N_("Delete the secrets of every user"),
      NULL },
    { NULL }
};

static const GOptionEntry list_add_entries[] = {
    { "kind", 0, 0, G_OPTION_ARG_STRING, &ctl_options.kind,
      N_("distribution (default), forward or group"), N_("KIND") },
    { "description", 0, 0, G_OPTION_ARG_STRING, &ctl_options.description,
      N_("One line describing the list"), N_("TEXT") },
    { NULL }
};

static const GOptionEntry list_members_entries[] = {
    { "add", 0, 0, G_OPTION_ARG_STRING_ARRAY, &ctl_options.add,
      N_("Add MEMBER (a user name or an address); may be repeated"), N_("MEMBER") },
    { "remove", 0, 0, G_OPTION_ARG_STRING_ARRAY, &ctl_options.remove,
      N_("Remove MEMBER; may be repeated"), N_("MEMBER") },
    { NULL }
};

static const GOptionEntry loginaudit_entries[] = {
    { "ip", 0, 0, G_OPTION_ARG_STRING, &ctl_options.ip,
      N_("Show only attempts from ADDRESS, and whether it is locked out"), N_("ADDRESS") },
    { "limit", 0, 0, G_OPTION_ARG_INT, &ctl_options.limit,
      N_("Show at most N attempts, newest first (default 50)"), N_("N") },
    { NULL }
};

static const GOptionEntry deliver_entries[] = {
    { "from", 0, 0, G_OPTION_ARG_STRING, &ctl_options.from,
      N_("Envelope sender (default: your login name at the default domain; \"\" for none)"),
      N_("ADDRESS") },
    { "auth-user", 0, 0, G_OPTION_ARG_STRING, &ctl_options.auth_user,
      N_("Treat the message as sent by this local user (assistants, monitoring)"), N_("USER") },
    { NULL }
};

static const GOptionEntry user_set_entries[] = {
    { "forward-to", 0, 0, G_OPTION_ARG_STRING, &ctl_options.forward_to,
      N_("Forward the user's mail to these addresses or users (\"\" to stop)"), N_("LIST") },
    { "keep-copy", 0, 0, G_OPTION_ARG_STRING, &ctl_options.keep_copy,
      N_("Keep a copy in the mailbox when forwarding"), N_("yes|no") },
    { "assistant", 0, 0, G_OPTION_ARG_STRING, &ctl_options.assistant,
      N_("Users or addresses that receive copies of the user's mail (\"\" for none)"), N_("LIST") },
    { "assistant-only", 0, 0, G_OPTION_ARG_STRING, &ctl_options.assistant_only,
      N_("Send the user's mail only to the assistants"), N_("yes|no") },
    { "everyone", 0, 0, G_OPTION_ARG_STRING, &ctl_options.everyone,
      N_("Include the user in the built-in everyone list"), N_("yes|no") },
    { "quota", 0, 0, G_OPTION_ARG_STRING, &ctl_options.quota,
      N_("Mailbox quota (0 for none); never refuses incoming mail"), N_("SIZE") },
    { "max-outgoing-size", 0, 0, G_OPTION_ARG_STRING, &ctl_options.max_outgoing_size,
      N_("Largest message the user may send, such as 10M (0 for no limit)"), N_("SIZE") },
    { NULL }
};

static const GOptionEntry list_set_entries[] = {
    { "local-only", 0, 0, G_OPTION_ARG_STRING, &ctl_options.local_only,
      N_("Take mail from local senders only"), N_("yes|no") },
    { NULL }
};

static const GOptionEntry queue_list_entries[] = {
    { "state", 0, 0, G_OPTION_ARG_STRING, &ctl_options.state,
      N_("Show only entries in STATE: pending, sending, deferred, held, delivered or failed"),
      N_("STATE") },
    { NULL }
};

static const GOptionEntry mailbox_all_entries[] = {
    { "all", 0, 0, G_OPTION_ARG_NONE, &ctl_options.all,
      N_("Act on every held message of the mailbox"), NULL },
    { NULL }
};

static const GOptionEntry mailbox_unlock_entries[] = {
    { "force", 0, 0, G_OPTION_ARG_NONE, &ctl_options.force,
      N_("Remove the lock even if the session holding it may still be running"), NULL },
    { NULL }
};

static const GOptionEntry queue_all_entries[] = {
    { "all", 0, 0, G_OPTION_ARG_NONE, &ctl_options.all,
      N_("Act on every entry the command applies to"), NULL },
    { NULL }
};

typedef struct {
    const char *words;   /* "user add" */
    const char *params;  /* positional arguments, for usage lines */
    const char *summary; /* N_() */
    int min_args;
    int max_args;
    const GOptionEntry *entries;
    gboolean load_config; /* validated configuration before run */
    CtlRunFunc run;
} CtlCommand;

static const CtlCommand commands[] = {
    { "init", "", N_("Check the configuration, create the data directory and the database"), 0, 0,
      NULL, FALSE, ctl_cmd_init },
    { "config check", "", N_("Validate the configuration and the module settings"), 0, 0, NULL,
      FALSE, ctl_cmd_config_check },
    { "user add", N_("NAME"), N_("Create a user"), 1, 1, user_add_entries, TRUE, ctl_cmd_user_add },
    { "user del", N_("NAME"), N_("Delete a user"), 1, 1, NULL, TRUE, ctl_cmd_user_del },
    { "user passwd", N_("NAME"), N_("Set a user's password"), 1, 1, user_passwd_entries, TRUE,
      ctl_cmd_user_passwd },
    { "user drop-secret", N_("NAME|--all"), N_("Delete stored APOP/CRAM-MD5 secrets"), 0, 1,
      user_drop_secret_entries, TRUE, ctl_cmd_user_drop_secret },
    { "user list", "", N_("List the users"), 0, 0, NULL, TRUE, ctl_cmd_user_list },
    { "user show", N_("NAME"), N_("Show one user"), 1, 1, NULL, TRUE, ctl_cmd_user_show },
    { "user set", N_("NAME"), N_("Change a user's forwarding, assistants, quota or size limit"), 1,
      1, user_set_entries, TRUE, ctl_cmd_user_set },
    { "user enable", N_("NAME"), N_("Allow a user to log in again"), 1, 1, NULL, TRUE,
      ctl_cmd_user_enable },
    { "user disable", N_("NAME"), N_("Stop a user from logging in"), 1, 1, NULL, TRUE,
      ctl_cmd_user_disable },
    { "domain add", N_("NAME"), N_("Add a local domain"), 1, 1, NULL, TRUE, ctl_cmd_domain_add },
    { "domain del", N_("NAME"), N_("Delete a local domain"), 1, 1, NULL, TRUE, ctl_cmd_domain_del },
    { "domain list", "", N_("List the local domains"), 0, 0, NULL, TRUE, ctl_cmd_domain_list },
    { "mapping add", N_("PATTERN TARGET"), N_("Map addresses matching PATTERN to TARGET"), 2, 2,
      NULL, TRUE, ctl_cmd_mapping_add },
    { "mapping del", N_("PATTERN [TARGET]"),
      N_("Delete the mappings of PATTERN, or only the one to TARGET"), 1, 2, NULL, TRUE,
      ctl_cmd_mapping_del },
    { "mapping list", "", N_("List the mappings"), 0, 0, NULL, TRUE, ctl_cmd_mapping_list },
    { "list add", N_("NAME"), N_("Create a list"), 1, 1, list_add_entries, TRUE, ctl_cmd_list_add },
    { "list del", N_("NAME"), N_("Delete a list"), 1, 1, NULL, TRUE, ctl_cmd_list_del },
    { "list members", N_("NAME"), N_("Show or change the members of a list"), 1, 1,
      list_members_entries, TRUE, ctl_cmd_list_members },
    { "list set", N_("NAME"), N_("Change a list's settings"), 1, 1, list_set_entries, TRUE,
      ctl_cmd_list_set },
    { "list list", "", N_("List the lists"), 0, 0, NULL, TRUE, ctl_cmd_list_list },
    { "loginaudit", "", N_("Show login attempts and lockouts"), 0, 0, loginaudit_entries, TRUE,
      ctl_cmd_loginaudit },
    { "deliver", N_("RECIPIENT..."),
      N_("Deliver a message from standard input to local mailboxes and the queue"), 1, 1000,
      deliver_entries, TRUE, ctl_cmd_deliver },
    { "queue list", "", N_("List the outbound queue"), 0, 0, queue_list_entries, TRUE,
      ctl_cmd_queue_list },
    { "queue show", N_("ID"), N_("Show one queue entry"), 1, 1, NULL, TRUE, ctl_cmd_queue_show },
    { "queue hold", N_("ID|--all"), N_("Keep queue entries from being sent"), 0, 1,
      queue_all_entries, TRUE, ctl_cmd_queue_hold },
    { "queue release", N_("ID|--all"), N_("Let held queue entries be sent"), 0, 1,
      queue_all_entries, TRUE, ctl_cmd_queue_release },
    { "queue delete", N_("ID|--all"), N_("Delete queue entries that are not being sent"), 0, 1,
      queue_all_entries, TRUE, ctl_cmd_queue_delete },
    { "queue flush", N_("[ID]"), N_("Make waiting queue entries due now"), 0, 1, NULL, TRUE,
      ctl_cmd_queue_flush },
    { "mailbox list", N_("[USER]"), N_("Show mailboxes: messages, held messages and locks"), 0, 1,
      NULL, TRUE, ctl_cmd_mailbox_list },
    { "mailbox held", N_("USER"), N_("List the messages POP3 held instead of deleting"), 1, 1, NULL,
      TRUE, ctl_cmd_mailbox_held },
    { "mailbox release", N_("USER UID|--all"), N_("Make held messages visible to clients again"), 1,
      2, mailbox_all_entries, TRUE, ctl_cmd_mailbox_release },
    { "mailbox purge", N_("USER UID|--all"), N_("Delete held messages for good"), 1, 2,
      mailbox_all_entries, TRUE, ctl_cmd_mailbox_purge },
    { "mailbox unlock", N_("USER"), N_("Remove a mailbox lock left by a session that died"), 1, 1,
      mailbox_unlock_entries, TRUE, ctl_cmd_mailbox_unlock },
    { "folder acl", N_("ACTION USER FOLDER [ID [RIGHTS]]"),
      N_("Shared folders: list the rights on a user's folder, set ID RIGHTS, or delete ID"), 3, 5,
      NULL, TRUE, ctl_cmd_folder_acl },
    { "collector add", N_("NAME"), N_("Add a collector fetching a remote POP3 mailbox"), 1, 1,
      ctl_collector_entries, TRUE, ctl_cmd_collector_add },
    { "collector set", N_("NAME"), N_("Change a collector's settings or password"), 1, 1,
      ctl_collector_entries, TRUE, ctl_cmd_collector_set },
    { "collector del", N_("NAME"), N_("Delete a collector and the UIDs it knows"), 1, 1, NULL, TRUE,
      ctl_cmd_collector_del },
    { "collector list", "", N_("List the collectors"), 0, 0, NULL, TRUE, ctl_cmd_collector_list },
    { "collector show", N_("NAME"), N_("Show one collector"), 1, 1, NULL, TRUE,
      ctl_cmd_collector_show },
    { "collector run", N_("NAME"), N_("Ask the running server to run a collector now"), 1, 1, NULL,
      TRUE, ctl_cmd_collector_run },
    { "collector forget", N_("NAME"),
      N_("Forget a collector's UIDs: what is on the server is downloaded again"), 1, 1, NULL, TRUE,
      ctl_cmd_collector_forget },
    { "collector fetch", N_("NAME UID"),
      N_("Download a message the collector left on the server (queried, or left by a rule) at "
         "its next session, and ask for that session now"),
      2, 2, NULL, TRUE, ctl_cmd_collector_fetch },
    { "unlock", N_("ADDRESS"), N_("Clear the login lockout of a client address"), 1, 1, NULL, TRUE,
      ctl_cmd_unlock },
    { "modules", "", N_("List the installed modules and the refused module files"), 0, 0, NULL,
      FALSE, ctl_cmd_modules },
    { "version", "", N_("Show the version"), 0, 0, NULL, FALSE, ctl_cmd_version },
};

static gboolean
is_group(const char *word)
{
    gsize len = strlen(word);
    for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (strncmp(commands[i].words, word, len) == 0 && commands[i].words[len] == ' ')
            return TRUE;
    }
    return FALSE;
}

static const CtlCommand *
find_command(const char *words)
{
    for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (strcmp(commands[i].words, words) == 0)
            return &commands[i];
    }
    return NULL;
}

static char *
command_line(const CtlCommand *cmd)
{
    GString *line = g_string_new(cmd->words);
    if (*cmd->params != '\0')
        g_string_append_printf(line, " %s", _(cmd->params));
    if (cmd->entries != NULL)
        g_string_append_printf(line, " %s", _("[OPTION…]"));
    return g_string_free(line, FALSE);
}

/* The command list, all of it or one group's (@group NULL for all). */
static void
print_usage(FILE *out, const char *group)
{
    g_autoptr(GString) text = g_string_new(NULL);
    gsize width = 0;

    g_string_append_printf(text, _("Usage: postroomctl [--config FILE] [--json] COMMAND "
                                   "[ARGUMENTS…]\n"));
    g_string_append_c(text, '\n');
    g_string_append(text, _("Commands:\n"));
    for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
        g_autofree char *line = command_line(&commands[i]);
        width = MAX(width, (gsize)g_utf8_strlen(line, -1));
    }
    for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
        const CtlCommand *cmd = &commands[i];
        if (group != NULL &&
            !(g_str_has_prefix(cmd->words, group) && cmd->words[strlen(group)] == ' '))
            continue;
        g_autofree char *line = command_line(cmd);
        g_string_append_printf(text, "  %s", line);
        for (gsize pad = (gsize)g_utf8_strlen(line, -1); pad < width + 2; pad++)
            g_string_append_c(text, ' ');
        g_string_append_printf(text, "%s\n", _(cmd->summary));
    }
    g_string_append_c(text, '\n');
    g_string_append_printf(text, _("Default configuration file: %s\n"),
                           SYSCONFDIR "/postroomd.conf");
    g_string_append(text, _("Run 'postroomctl COMMAND --help' for the options of a command.\n"));
    if (out == stdout)
        g_print("%s", text->str);
    else
        g_printerr("%s", text->str);
}

static int usage_error(const char *hint_command, const char *format, ...) G_GNUC_PRINTF(2, 3);

static int
usage_error(const char *hint_command, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    g_autofree char *message = g_strdup_vprintf(format, args);
    va_end(args);
    g_printerr("postroomctl: %s\n", message);
    if (hint_command != NULL)
        g_printerr(_("Try 'postroomctl %s --help'.\n"), hint_command);
    else
        g_printerr(_("Try 'postroomctl --help'.\n"));
    return EX_USAGE;
}

static void
clear_options(void)
{
    g_clear_pointer(&opt_config, g_free);
    g_clear_pointer(&ctl_options.password_file, g_free);
    g_clear_pointer(&ctl_options.full_name, g_free);
    g_clear_pointer(&ctl_options.kind, g_free);
    g_clear_pointer(&ctl_options.description, g_free);
    g_clear_pointer(&ctl_options.add, g_strfreev);
    g_clear_pointer(&ctl_options.remove, g_strfreev);
    g_clear_pointer(&ctl_options.ip, g_free);
    g_clear_pointer(&ctl_options.state, g_free);
    ctl_collector_clear_options();
}

static int
run(int argc, char **argv)
{
    int word_at[2] = { -1, -1 };
    int n_words = 0;
    gboolean help = FALSE;

    /* The command words come first among the non-option arguments; only
     * the global options (--config FILE, --json, --help) may precede them. */
    for (int i = 1; i < argc && n_words < 2; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0)
            break;
        if (arg[0] == '-' && arg[1] != '\0') {
            if (strcmp(arg, "--config") == 0)
                i++;
            else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "-?") == 0)
                help = TRUE;
            continue;
        }
        word_at[n_words++] = i;
        if (n_words == 1 && !is_group(arg))
            break;
    }

    if (n_words == 0) {
        if (help) {
            print_usage(stdout, NULL);
            return EX_OK;
        }
        g_printerr(_("Usage: postroomctl [--config FILE] [--json] COMMAND [ARGUMENTS…]\n"));
        g_printerr(_("Try 'postroomctl --help'.\n"));
        return EX_USAGE;
    }

    const char *first = argv[word_at[0]];
    g_autofree char *words =
        n_words == 2 ? g_strjoin(" ", first, argv[word_at[1]], NULL) : g_strdup(first);
    const CtlCommand *cmd = find_command(words);
    if (cmd == NULL && is_group(first)) {
        if (n_words == 1 && help) {
            print_usage(stdout, first);
            return EX_OK;
        }
        if (n_words == 1) {
            print_usage(stderr, first);
            return EX_USAGE;
        }
        return usage_error(first, _("Unknown command “%s”."), words);
    }
    if (cmd == NULL)
        return usage_error(NULL, _("Unknown command “%s”."), first);

    /* The option parser sees everything but the command words. */
    g_autoptr(GStrvBuilder) rest = g_strv_builder_new();
    for (int i = 0; i < argc; i++) {
        if (i != word_at[0] && i != word_at[1])
            g_strv_builder_add(rest, argv[i]);
    }
    g_auto(GStrv) args = g_strv_builder_end(rest);

    g_autofree char *parameter = command_line(cmd);
    /* GOptionContext prints "[OPTION…]" itself. */
    g_autofree char *shown = g_strjoin(*cmd->params != '\0' ? " " : "", cmd->words,
                                       *cmd->params != '\0' ? _(cmd->params) : "", NULL);
    g_autoptr(GOptionContext) context = g_option_context_new(shown);
    g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
    g_option_context_set_summary(context, _(cmd->summary));
    g_option_context_add_main_entries(context, global_entries, GETTEXT_PACKAGE);
    if (cmd->entries != NULL)
        g_option_context_add_main_entries(context, cmd->entries, GETTEXT_PACKAGE);

    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse_strv(context, &args, &error))
        return usage_error(cmd->words, "%s", error->message);

    /* args[0] is the program; "--" is kept by GOptionContext. */
    GPtrArray *positional = g_ptr_array_new();
    for (int i = 1; args[i] != NULL; i++) {
        if (strcmp(args[i], "--") != 0)
            g_ptr_array_add(positional, args[i]);
    }
    int n_args = (int)positional->len;
    g_ptr_array_add(positional, NULL);
    g_autofree char **pos = (char **)g_ptr_array_free(positional, FALSE);
    if (n_args < cmd->min_args)
        return usage_error(cmd->words, _("Missing arguments; usage: postroomctl %s"), parameter);
    if (n_args > cmd->max_args) {
        g_autofree char *extra = ctl_printable(pos[cmd->max_args]);
        return usage_error(cmd->words, _("Unexpected argument “%s”; usage: postroomctl %s"), extra,
                           parameter);
    }

    Ctl ctl = { 0 };
    ctl.config_path = opt_config != NULL ? opt_config : SYSCONFDIR "/postroomd.conf";
    ctl.json = opt_json;

    int rc = 0;
    if (cmd->load_config && !ctl_load_config(&ctl, FALSE, &error))
        rc = -1;
    if (rc == 0)
        rc = cmd->run(&ctl, pos, &error);
    if (rc < 0) {
        if (error == NULL)
            g_set_error(&error, CTL_ERROR, CTL_ERROR_SOFTWARE, _("Internal error: %s failed."),
                        cmd->words);
        ctl_print_error(error);
        if (g_error_matches(error, CTL_ERROR, CTL_ERROR_USAGE))
            g_printerr(_("Try 'postroomctl %s --help'.\n"), cmd->words);
        rc = ctl_exit_code(error);
    }
    ctl_clear(&ctl);
    return rc;
}

int
main(int argc, char **argv)
{
    const char *localedir = g_getenv("POSTROOM_LOCALEDIR");

    setlocale(LC_ALL, "");
    bindtextdomain(GETTEXT_PACKAGE,
                   localedir != NULL && *localedir != '\0' ? localedir : LOCALEDIR);
    bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
    textdomain(GETTEXT_PACKAGE);

    int rc = run(argc, argv);
    clear_options();
    return rc;
}
