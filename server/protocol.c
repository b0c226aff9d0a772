/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "protocol.h"

#include <glib/gi18n-lib.h>

#include "module-loader.h"

void
protocol_entry_free(ProtocolEntry *entry)
{
    g_hash_table_unref(entry->commands);
    g_free(entry);
}

ProtocolEntry *
protocol_lookup(PrHost *host, const char *service)
{
    return g_hash_table_lookup(host->protocols, service);
}

const CommandEntry *
protocol_find_command(ProtocolEntry *entry, const char *verb)
{
    char upper[32];
    gsize n = strlen(verb);
    if (n >= sizeof upper)
        return NULL;
    for (gsize i = 0; i <= n; i++)
        upper[i] = g_ascii_toupper(verb[i]);
    return g_hash_table_lookup(entry->commands, upper);
}

static gboolean
check_command(ProtocolEntry *entry, PrModule *owner, const PrCommand *c, const PrCommand *table,
              GError **error)
{
    g_autofree char *verb = g_ascii_strup(c->name, -1);
    if (c->handler == NULL || strlen(verb) >= 32 || strchr(verb, ' ') != NULL) {
        g_set_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INVALID,
                    _("module %s: command %s of protocol %s is invalid"), owner->name, c->name,
                    entry->protocol->name);
        return FALSE;
    }
    if (g_hash_table_contains(entry->commands, verb)) {
        CommandEntry *old = g_hash_table_lookup(entry->commands, verb);
        g_set_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INVALID,
                    _("module %s: command %s of protocol %s is already provided by module "
                      "%s"),
                    owner->name, verb, entry->protocol->name, old->owner->name);
        return FALSE;
    }
    for (const PrCommand *d = table; d != c; d++) {
        if (g_ascii_strcasecmp(d->name, c->name) == 0) {
            g_set_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INVALID,
                        _("module %s: command %s appears twice in its table for protocol %s"),
                        owner->name, verb, entry->protocol->name);
            return FALSE;
        }
    }
    return TRUE;
}

/* All or nothing: a table with one bad verb adds none of its verbs. */
static gboolean
add_commands(ProtocolEntry *entry, PrModule *owner, const PrCommand *commands, GError **error)
{
    for (const PrCommand *c = commands; c->name != NULL; c++) {
        if (!check_command(entry, owner, c, commands, error))
            return FALSE;
    }
    for (const PrCommand *c = commands; c->name != NULL; c++) {
        CommandEntry *ce = g_new0(CommandEntry, 1);
        ce->command = c;
        ce->owner = owner;
        g_hash_table_insert(entry->commands, g_ascii_strup(c->name, -1), ce);
    }
    return TRUE;
}

gboolean
pr_host_add_line_protocol(PrHost *host, PrModule *self, const PrLineProtocol *p, GError **error)
{
    g_return_val_if_fail(host != NULL && self != NULL && p != NULL, FALSE);

    if (p->name == NULL || self->desc->services == NULL ||
        !g_strv_contains(self->desc->services, p->name)) {
        g_set_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INVALID,
                    _("module %s: the name of line protocol %s is not one of the services "
                      "the module declares in its descriptor"),
                    self->name, p->name != NULL ? p->name : "?");
        return FALSE;
    }
    /* Field names are C identifiers: they stay as they are in any language. */
    const char *problem = NULL;
    if (p->struct_size < G_STRUCT_OFFSET(PrLineProtocol, reserved))
        problem = "struct_size";
    else if (p->max_line < 16)
        problem = "max_line";
    else if (p->greeting == NULL)
        problem = "greeting";
    else if (p->commands == NULL)
        problem = "commands";
    else if (p->initial_state == 0)
        problem = "initial_state";
    else if (p->replies == NULL)
        problem = "replies";
    for (int r = 0; problem == NULL && r < PR_REPLY_LAST; r++) {
        gboolean tls_reply = r == PR_REPLY_STARTTLS_OK || r == PR_REPLY_STARTTLS_UNAVAILABLE ||
                             r == PR_REPLY_STARTTLS_PIPELINED;
        if (p->replies[r] == NULL && (!tls_reply || p->starttls_command != NULL))
            problem = "replies";
    }
    if (problem != NULL) {
        g_set_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INVALID,
                    _("module %s: line protocol %s has an invalid field: %s"), self->name, p->name,
                    problem);
        return FALSE;
    }
    if (g_hash_table_contains(host->protocols, p->name)) {
        g_set_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INVALID,
                    _("module %s: protocol %s is already registered"), self->name, p->name);
        return FALSE;
    }

    ProtocolEntry *entry = g_new0(ProtocolEntry, 1);
    entry->protocol = p;
    entry->owner = self;
    entry->commands = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    if (!add_commands(entry, self, p->commands, error)) {
        protocol_entry_free(entry);
        return FALSE;
    }
    g_hash_table_insert(host->protocols, g_strdup(p->name), entry);
    return TRUE;
}

gboolean
pr_host_add_commands(PrHost *host, PrModule *self, const char *protocol_name,
                     const PrCommand *commands, GError **error)
{
    g_return_val_if_fail(host != NULL && self != NULL && commands != NULL, FALSE);

    ProtocolEntry *entry = protocol_lookup(host, protocol_name);
    if (entry == NULL) {
        g_set_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_DEPENDENCY,
                    _("module %s adds commands to protocol %s, which no module provides"),
                    self->name, protocol_name);
        return FALSE;
    }
    /* Only a module that requires the protocol's owner is initialised after
     * it and deinitialised before it; anything else could dangle. */
    if (self->desc->requires == NULL ||
        !g_strv_contains(self->desc->requires, entry->owner->name)) {
        g_set_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_DEPENDENCY,
                    _("module %s adds commands to protocol %s but does not list module %s in "
                      "its requires"),
                    self->name, protocol_name, entry->owner->name);
        return FALSE;
    }
    return add_commands(entry, self, commands, error);
}

static gboolean
command_owned_by(gpointer key, gpointer value, gpointer module)
{
    return ((CommandEntry *)value)->owner == module;
}

static gboolean
protocol_owned_by(gpointer key, gpointer value, gpointer module)
{
    return ((ProtocolEntry *)value)->owner == module;
}

void
protocol_forget_module(PrHost *host, PrModule *module)
{
    GHashTableIter it;
    gpointer value;
    g_hash_table_foreach_remove(host->protocols, protocol_owned_by, module);
    g_hash_table_iter_init(&it, host->protocols);
    while (g_hash_table_iter_next(&it, NULL, &value))
        g_hash_table_foreach_remove(((ProtocolEntry *)value)->commands, command_owned_by, module);
}
