/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "host.h"

/* Periodic store maintenance: purges loginaudit rows older than
 * [auth] audit_days, now and every six hours. */
void housekeeping_start(PrHost *host);
void housekeeping_stop(void);
