/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The host's side of pr-collector.h: the store jobs behind it and the
 * watch that turns "run now" requests in the store into calls of the
 * module's notify function. */

#include "host.h"

/* How often the store is asked for "run now" requests while a module
 * listens for them. */
#define COLLECTOR_POLL_SECONDS 2

/* Stops @module's "run now" notification (after its deinit); @module
 * NULL stops it whichever module set it. */
void collector_api_forget_module(PrHost *host, PrModule *module);
