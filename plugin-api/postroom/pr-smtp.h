/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <postroom/pr-host.h>

G_BEGIN_DECLS

/**
 * SECTION:pr-smtp
 * @title: SMTP hook points
 *
 * The `smtp` module runs these named hooks (see pr_host_connect_hook()) at
 * each step of a mail transaction, on every one of its services (`smtp`,
 * `submission`, `smtps`). A handler reads the values below with
 * pr_hook_context_get() and may refuse the step: it sets a reply with
 * pr_hook_context_set_reply() and returns %PR_HOOK_STOP (or resumes with
 * it). The reply must be one SMTP line with a 4xx or 5xx code, for example
 * `"550 5.7.1 Sender rejected"`; anything else is replaced by
 * `"550 5.7.1 Rejected by local policy"` and logged. A `421` reply closes
 * the connection after it is sent. Handlers that continue change nothing.
 *
 * Every hook has these values:
 *
 * - `service`: the service name (`smtp`, `submission`, `smtps`)
 * - `ip`: the client's address
 * - `helo`: the EHLO/HELO name (absent before EHLO/HELO)
 * - `tls`: `yes` when the connection is encrypted, else `no`
 * - `trusted`: `yes` when a `noauth` access rule matched the client
 * - `auth_user`: the authenticated account (absent without AUTH)
 *
 * From MAIL on, the transaction's values too:
 *
 * - `sender`: the envelope sender as given, `""` for the null sender `<>`
 * - `recipient_count`: recipients accepted so far
 *
 * Values are UTF-8 text; a module should not trust them further than the
 * client that sent them.
 */

/**
 * PR_SMTP_HOOK_HELO:
 *
 * Run for a syntactically valid EHLO or HELO, before the session accepts
 * the name. Extra values: `command` (`EHLO` or `HELO`) and `helo` (the new
 * name). Stopping leaves the session without a name (MAIL is refused until
 * a later EHLO/HELO succeeds).
 */
#define PR_SMTP_HOOK_HELO "smtp-helo"

/**
 * PR_SMTP_HOOK_MAIL:
 *
 * Run for a valid MAIL command that the session's policy accepts (TLS and
 * authentication requirements, size), before it is answered. Extra
 * values: `sender`, `size` (the SIZE= parameter, absent if not given),
 * `body` (`7BIT` or `8BITMIME`), `smtputf8` (`yes`/`no`), and the DSN
 * parameters `ret` and `envid` when given. Stopping refuses the sender;
 * no transaction starts.
 */
#define PR_SMTP_HOOK_MAIL "smtp-mail"

/**
 * PR_SMTP_HOOK_RCPT:
 *
 * Run for each recipient the router and the relay policy accepted, before
 * it is answered. Extra values: `recipient` (as given), `recipient_status`
 * (`local` or `remote`: `remote` means relaying), and the DSN parameters
 * `notify` and `orcpt` when given. Stopping refuses this recipient only.
 */
#define PR_SMTP_HOOK_RCPT "smtp-rcpt"

/**
 * PR_SMTP_HOOK_DATA:
 *
 * Run once the whole message has arrived (after DATA's final dot, or BDAT
 * LAST) and passed the size and content checks, before it is stored.
 * Extra values: `recipients` (the accepted recipients, one per line),
 * `size` (octets received) and `header` (the message's header section,
 * cut at 64 KiB). Stopping refuses the message for every recipient:
 * nothing is stored.
 */
#define PR_SMTP_HOOK_DATA "smtp-data"

G_END_DECLS
