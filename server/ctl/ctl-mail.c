/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "ctl.h"

#include <glib/gi18n-lib.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "delivery.h"
#include "store/store-mail.h"
#include "store/store-ops.h"

/* deliver --------------------------------------------------------------- */

/* sysexits(3) classes, as sendmail-style callers expect: a message that
 * can never be delivered is a data error; anything else may work later. */
static CtlError
deliver_error_class(const GError *error)
{
    if (error->domain == PR_DELIVERY_ERROR &&
        !g_error_matches(error, PR_DELIVERY_ERROR, PR_DELIVERY_ERROR_NO_SPACE))
        return CTL_ERROR_DATA;
    return CTL_ERROR_TEMPFAIL;
}

static GBytes *
read_stdin(gint64 limit, GError **error)
{
    g_autoptr(GByteArray) data = g_byte_array_new();
    guint8 buf[65536];
    ssize_t n;

    while ((n = read(STDIN_FILENO, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            g_set_error(error, CTL_ERROR, CTL_ERROR_IO, _("Cannot read the message: %s"),
                        g_strerror(errno));
            return NULL;
        }
        g_byte_array_append(data, buf, n);
        if (limit > 0 && (gint64)data->len > limit)
            break; /* delivery refuses it with the size named */
    }
    return g_byte_array_free_to_bytes(g_steal_pointer(&data));
}

static const char *
status_text(RouterStatus status)
{
    switch (status) {
    case ROUTER_OK:
        return "ok";
    case ROUTER_UNKNOWN_LOCAL:
        return "unknown";
    case ROUTER_REFUSED:
        return "refused";
    case ROUTER_LOOP:
        return "loop";
    }
    return "?";
}

static void
print_result(const RouterResult *r)
{
    g_autofree char *address = ctl_printable(r->address);
    if (r->status == ROUTER_UNKNOWN_LOCAL) {
        g_print(_("%s: no such local user, list or mapping\n"), address);
        return;
    }
    if (r->status == ROUTER_REFUSED) {
        g_print(_("%s: refused (the list takes mail from local senders only)\n"), address);
        return;
    }
    if (r->status == ROUTER_LOOP) {
        g_print(_("%s: refused, the message was already delivered to this address (mail "
                  "loop)\n"),
                address);
        return;
    }
    g_ptr_array_add(r->mailboxes, NULL);
    g_ptr_array_add(r->remote, NULL);
    g_autofree char *boxes = g_strjoinv(", ", (char **)r->mailboxes->pdata);
    g_autofree char *remote = g_strjoinv(", ", (char **)r->remote->pdata);
    g_ptr_array_remove_index(r->mailboxes, r->mailboxes->len - 1);
    g_ptr_array_remove_index(r->remote, r->remote->len - 1);
    if (r->mailboxes->len > 0 && r->remote->len > 0)
        g_print(_("%s: delivered to %s; queued for %s\n"), address, boxes, remote);
    else if (r->mailboxes->len > 0)
        g_print(_("%s: delivered to %s\n"), address, boxes);
    else
        g_print(_("%s: queued for %s\n"), address, remote);
    for (guint i = 0; i < r->notes->len; i++) {
        g_autofree char *note = ctl_printable(r->notes->pdata[i]);
        g_print("  %s\n", note);
    }
}

static void
result_to_json(CtlJson *json, const RouterResult *r)
{
    ctl_json_begin_object(json);
    ctl_json_key(json, "recipient");
    ctl_json_string(json, r->address);
    ctl_json_key(json, "status");
    ctl_json_string(json, status_text(r->status));
    ctl_json_key(json, "mailboxes");
    ctl_json_begin_array(json);
    for (guint i = 0; i < r->mailboxes->len; i++)
        ctl_json_string(json, r->mailboxes->pdata[i]);
    ctl_json_end_array(json);
    ctl_json_key(json, "remote");
    ctl_json_begin_array(json);
    for (guint i = 0; i < r->remote->len; i++)
        ctl_json_string(json, r->remote->pdata[i]);
    ctl_json_end_array(json);
    ctl_json_key(json, "notes");
    ctl_json_begin_array(json);
    for (guint i = 0; i < r->notes->len; i++)
        ctl_json_string(json, r->notes->pdata[i]);
    ctl_json_end_array(json);
    ctl_json_end_object(json);
}

int
ctl_cmd_deliver(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    DeliverySettings settings = { 0 };
    const char *hostname = config_get_string(ctl->config, "server", "hostname");

    delivery_settings_init(&settings, ctl->config,
                           hostname != NULL && *hostname != '\0' ? hostname : g_get_host_name());
    g_autofree char *sender =
        ctl_options.from != NULL
            ? g_strdup(ctl_options.from)
            : g_strdup_printf("%s@%s", g_get_user_name(), settings.router->default_domain);
    if (strpbrk(sender, " \t\r\n<>") != NULL) {
        delivery_settings_clear(&settings);
        g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE,
                    _("Invalid sender “%s”: give an address without spaces or angle brackets, "
                      "or \"\" for the null sender."),
                    sender);
        return -1;
    }
    g_autoptr(GBytes) message = read_stdin(settings.max_size, error);
    if (message == NULL || !ctl_open_store(ctl, error)) {
        delivery_settings_clear(&settings);
        return -1;
    }
    g_autoptr(RouterData) directory = delivery_load_directory(ctl->conn, &settings, &local);
    g_autoptr(DeliveryReport) report = NULL;
    if (directory != NULL) {
        /* Mail handed over on this machine comes from a local sender. */
        DeliveryEnvelope env = { sender,  ctl_options.auth_user,    TRUE, NULL, NULL,
                                 "local", (const char *const *)args };
        report = delivery_deliver(ctl->conn, &settings, directory, message, &env, &local);
    }
    delivery_settings_clear(&settings);
    if (report == NULL) {
        g_set_error(error, CTL_ERROR, deliver_error_class(local), _("Not delivered: %s"),
                    local->message);
        return -1;
    }

    int code = 0;
    g_autoptr(CtlJson) json = ctl->json ? ctl_json_new() : NULL;
    if (json != NULL)
        ctl_json_begin_array(json);
    for (guint i = 0; i < report->outcome->results->len; i++) {
        const RouterResult *r = report->outcome->results->pdata[i];
        if (json != NULL)
            result_to_json(json, r);
        else
            print_result(r);
        /* An unknown recipient is the usual trouble (EX_NOUSER); a refusal
         * or a mail loop is a data error and weighs more. */
        if (r->status == ROUTER_UNKNOWN_LOCAL && code == 0)
            code = EX_NOUSER;
        else if (r->status == ROUTER_REFUSED || r->status == ROUTER_LOOP)
            code = EX_DATAERR;
    }
    if (json != NULL) {
        ctl_json_end_array(json);
        if (!ctl_json_print(json, error))
            return -1;
    }
    return code;
}

/* user set, list set ------------------------------------------------------ */

static gboolean
parse_yes_no(const char *option, const char *text, gboolean *out, GError **error)
{
    if (text == NULL)
        return TRUE;
    if (config_parse_bool(text, out))
        return TRUE;
    g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE, _("%s takes yes or no, not “%s”."), option,
                text);
    return FALSE;
}

/* A ';' or ','-separated list, tidied for storage. */
static char *
tidy_list(const char *text)
{
    g_auto(GStrv) parts = g_strsplit_set(text, ";,", -1);
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    for (int i = 0; parts[i] != NULL; i++) {
        g_strstrip(parts[i]);
        if (*parts[i] != '\0')
            g_strv_builder_add(b, parts[i]);
    }
    g_auto(GStrv) items = g_strv_builder_end(b);
    return g_strjoinv(";", items);
}

gboolean
ctl_parse_max_outgoing(gint64 *out, GError **error)
{
    *out = -1;
    if (ctl_options.max_outgoing_size == NULL)
        return TRUE;
    if (!config_parse_size(ctl_options.max_outgoing_size, out) || *out < 0) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE,
                    _("--max-outgoing-size takes a size in bytes, or with K, M or G such as 10M "
                      "(0 for no limit), not “%s”."),
                    ctl_options.max_outgoing_size);
        return FALSE;
    }
    return TRUE;
}

int
ctl_cmd_user_set(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *name = g_ascii_strdown(args[0], -1);
    gint64 quota = -1;
    gint64 max_outgoing = -1;

    if (ctl_options.quota != NULL && !config_parse_size(ctl_options.quota, &quota)) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE,
                    _("--quota takes a size such as 500M or 2G (0 for no quota), not “%s”."),
                    ctl_options.quota);
        return -1;
    }
    if (!ctl_parse_max_outgoing(&max_outgoing, error))
        return -1;
    if (!ctl_open_store(ctl, error))
        return -1;
    g_autoptr(StoreUser) user = store_user_get(ctl->conn, name, &local);
    if (user == NULL) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_NO_USER,
                    _("User %s does not exist; see 'postroomctl user list'."), name);
        return -1;
    }
    g_autofree char *forward = ctl_options.forward_to != NULL ? tidy_list(ctl_options.forward_to)
                                                              : g_strdup(user->forward_to);
    g_autofree char *assistants = ctl_options.assistant != NULL ? tidy_list(ctl_options.assistant)
                                                                : g_strdup(user->assistants);
    StoreUserRouting routing = { forward, user->forward_keep_copy, assistants, user->assistant_only,
                                 user->in_everyone };
    if (!parse_yes_no("--keep-copy", ctl_options.keep_copy, &routing.forward_keep_copy, error) ||
        !parse_yes_no("--assistant-only", ctl_options.assistant_only, &routing.assistant_only,
                      error) ||
        !parse_yes_no("--everyone", ctl_options.everyone, &routing.in_everyone, error))
        return -1;
    if (!store_user_set_routing(ctl->conn, name, &routing, &local) ||
        (quota >= 0 && !store_user_set_quota(ctl->conn, name, quota, &local)) ||
        (max_outgoing >= 0 &&
         !store_user_set_max_outgoing(ctl->conn, name, max_outgoing, &local))) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_UNAVAILABLE, "%s", local->message);
        return -1;
    }
    g_print(_("Updated user %s.\n"), name);
    return 0;
}

int
ctl_cmd_list_set(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *name = g_ascii_strdown(args[0], -1);
    gboolean local_only = FALSE;

    if (ctl_options.local_only == NULL) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE, _("Nothing to change: give --local-only."));
        return -1;
    }
    if (!parse_yes_no("--local-only", ctl_options.local_only, &local_only, error) ||
        !ctl_open_store(ctl, error))
        return -1;
    if (!store_list_set_local_only(ctl->conn, name, local_only, &local)) {
        gboolean missing = g_error_matches(local, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
        g_set_error(error, CTL_ERROR, missing ? CTL_ERROR_NO_USER : CTL_ERROR_UNAVAILABLE, "%s",
                    local->message);
        return -1;
    }
    g_print(_("Updated list %s.\n"), name);
    return 0;
}
