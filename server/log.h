/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The log writer: stderr in the foreground, the journal under systemd, and
 * the administrator's files (main.log, errors.log, security.log) rotated to
 * .lbk when they pass max_size. */

#include <glib.h>

typedef struct {
    const char *dir; /* NULL: no files */
    gint64 max_size; /* bytes before rotation */
    gboolean to_stderr;
    GLogLevelFlags level; /* most verbose level written */
} LogSettings;

void log_setup(const LogSettings *settings);
/* Re-reads the settings (SIGHUP); files are reopened. */
void log_reconfigure(const LogSettings *settings);
GLogLevelFlags log_level_from_string(const char *name);
void log_shutdown(void);
