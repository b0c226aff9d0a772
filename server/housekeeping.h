/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "host.h"

/* Periodic store maintenance, now and every six hours: purges loginaudit
 * rows older than [auth] audit_days and removes spool files no message
 * refers to. */
void housekeeping_start(PrHost *host);
void housekeeping_stop(void);
