/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Readiness of many file descriptors through one epoll set and one GSource.
 * GLib's main loop visits every attached source on every iteration, so a
 * source per idle connection makes each wake-up cost O(connections); with
 * this, ten thousand idle clients cost the loop nothing. Main thread only. */

#include <glib.h>

typedef struct _PollerWatch PollerWatch;
typedef void (*PollerFunc)(gpointer data);

/* Calls @func(@data) whenever @fd is readable (level-triggered). */
PollerWatch *poller_add(int fd, PollerFunc func, gpointer data);
/* Stops watching; safe from inside any callback. Call before closing fd. */
void poller_remove(PollerWatch *watch);
