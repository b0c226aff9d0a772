/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Line protocols registered by modules, with their command tables merged
 * (a protocol's own commands plus those other modules added). */

#include "host.h"

typedef struct {
    const PrCommand *command;
    PrModule *owner;
} CommandEntry;

typedef struct {
    const PrLineProtocol *protocol;
    PrModule *owner;
    GHashTable *commands; /* upper-case verb -> CommandEntry* */
} ProtocolEntry;

ProtocolEntry *protocol_lookup(PrHost *host, const char *service);
const CommandEntry *protocol_find_command(ProtocolEntry *entry, const char *verb);
void protocol_entry_free(ProtocolEntry *entry);
/* Drops @module's protocols and the commands it added to others. */
void protocol_forget_module(PrHost *host, PrModule *module);
