/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

/**
 * SECTION:pr-log
 * @title: Logging
 *
 * Modules log with GLib's structured logging under their own domain
 * (`G_LOG_DOMAIN "postroom-<name>"`): g_debug(), g_info(), g_message(),
 * g_warning(). The host writes to stderr (foreground), the journal (under
 * systemd) and the administrator's files in `[log] dir`: `main.log`
 * (everything at info and above), `errors.log` (warnings and worse) and
 * `security.log` (messages on the security channel). Events an administrator
 * acts on carry a stable, untranslated `PR_EVENT` code.
 */

/**
 * pr_log_event:
 * @level: a #GLogLevelFlags
 * @event: a stable event code, e.g. "AUTH_LOCKOUT"
 * @...: printf-style format and arguments of the message
 *
 * Logs a message tagged with an event code.
 */
#define pr_log_event(level, event, ...)                                                            \
    g_log_structured(G_LOG_DOMAIN, (level), "PR_EVENT", (event), "MESSAGE", __VA_ARGS__)

/**
 * pr_log_security:
 * @event: a stable event code
 * @...: printf-style format and arguments of the message
 *
 * Logs a message on the security channel (`security.log`).
 */
#define pr_log_security(event, ...)                                                                \
    g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "PR_CHANNEL", "security", "PR_EVENT",      \
                     (event), "MESSAGE", __VA_ARGS__)
