/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Download rules (VPOP3 section 2.5): what to do with a message still on
 * the ISP's server, decided from its summary (headers from TOP n 0, size
 * from LIST) before it is downloaded. One rule set, shared by every
 * collector with use_rules=yes, read from `[collector] rules_file`. Rules
 * are tried in file order; the first that matches decides; no match means
 * download. Pure code: the caller reads the clock and the recipients.
 *
 * How to call (the collector module):
 *
 *   // at start and on SIGHUP; keep the old set if the new one fails:
 *   g_autoptr(GError) error = NULL;
 *   CollectorRules *rules = collector_rules_load(path, &error);
 *   if (rules == NULL && g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
 *       // no file: no rules (every message is downloaded)
 *   else if (rules == NULL)
 *       // error->message names the file, the rule and the key: log it
 *
 *   // per new message of a collector with use_rules=yes, after TOP n 0:
 *   g_autoptr(CollectorHeaders) headers = collector_headers_parse(top, top_len);
 *   // if collector_rules_need_recipients(rules): route the message
 *   // (collector-route.h) and check each address with
 *   // pr_delivery_check_recipient_async(): valid = PR_RECIPIENT_LOCAL
 *   CollectorRuleRecipient rcpts[] = { { "fred@example.com", TRUE }, ... };
 *   g_autoptr(GDateTime) now = g_date_time_new_now_local();
 *   CollectorMessageSummary msg = { headers, size_from_list, now, rcpts,
 *                                   n_rcpts, collector->id };
 *   const CollectorRule *rule = collector_rules_evaluate(rules, &msg);
 *   if (rule == NULL)  -> download as usual
 *   else {
 *       // log to dlrules.log: collector_rule_get_name(rule),
 *       // collector_rule_action_name(collector_rule_get_action(rule)), target
 *       CollectorRuleEffects fx =
 *           collector_rule_action_effects(collector_rule_get_action(rule));
 *       // act on fx (see CollectorRuleEffects), target = collector_rule_get_target(rule)
 *   }
 *
 * Build: compile collector-rules.c and collector-headers.c into the module.
 *
 * The file (GKeyFile; doc/admin-guide.md has a full example):
 *
 *   [rule NAME]            one group per rule, in order
 *   enabled = yes|no       default yes
 *   match = all|any        default all; a rule without conditions matches always
 *   action = ...           required: see CollectorRuleAction
 *   target = USER|ADDRESS  for the actions that redirect or copy, only for them
 *   conditions, each at most once per rule:
 *   header:NAME = PATTERN  any NAME field's value: `*` `?` wildcards against
 *                          the whole value, or without wildcards a substring;
 *                          any case; encoded words (RFC 2047) decoded; a run
 *                          of blanks (folding) reads as one space. Empty: the
 *                          field is present.
 *   size = N[K|M|G]        the message has at least N octets
 *   time = HH:MM-HH:MM[;…] now is within a window (both ends included; a window
 *                          may wrap midnight: 22:00-06:00)
 *   day = D[;D|D-D…]       today is one of the days, 1 = Sunday … 7 = Saturday
 *   recipient = PATTERN[;…] a recipient matches (with @: the address, without:
 *                          its local part), wildcards, any case
 *   collector = N[;N…]     the collector's number
 *   valid_rcpts = yes|no   yes: some recipient exists here; no: none does
 *   invalid_rcpts = yes|no yes: some recipient does not exist; no: all exist
 */

#include <glib.h>

#include "collector-headers.h"

G_BEGIN_DECLS

#define COLLECTOR_RULES_ERROR (collector_rules_error_quark())
GQuark collector_rules_error_quark(void);

typedef enum {
    COLLECTOR_RULES_ERROR_SYNTAX,  /* not a key file */
    COLLECTOR_RULES_ERROR_INVALID, /* a group, key or value is wrong */
} CollectorRulesErrorCode;

/* The names in the file are these in lower case with dashes. */
typedef enum {
    COLLECTOR_RULE_DOWNLOAD,
    COLLECTOR_RULE_IGNORE,
    COLLECTOR_RULE_SILENTLY_DELETE,
    COLLECTOR_RULE_DOWNLOAD_AND_DELETE,
    COLLECTOR_RULE_DELETE_AND_WARN,
    COLLECTOR_RULE_REDIRECT,
    COLLECTOR_RULE_COPY,
    COLLECTOR_RULE_QUERY,
    COLLECTOR_RULE_QUERY_AND_COPY,
    COLLECTOR_RULE_QUERY_AND_REDIRECT,
    COLLECTOR_RULE_DOWNLOAD_COPY_AND_DELETE,
    COLLECTOR_RULE_DOWNLOAD_REDIRECT_AND_DELETE,
} CollectorRuleAction;

/* What an action means, for the session to carry out:
 *   DOWNLOAD           RETR the message
 *   DELIVER_RCPTS      deliver it to its routed recipients
 *   DELIVER_TARGET     deliver it to the rule's target (redirect: instead of
 *                      the recipients; copy: as well)
 *   DELETE             DELE it at the ISP now (after the delivery's commit
 *                      when downloaded), whatever leave_days says
 *   LEAVE              leave it on the server untouched, not fetched again
 *                      (UID state "left")
 *   QUERY_RCPTS        ask the recipients whether they want it (as for an
 *                      oversized message; UID state "queried")
 *   QUERY_TARGET       send that question to the target (query-and-copy: as
 *                      well; query-and-redirect: instead)
 *   WARN_RCPTS         tell the recipients it was deleted unread
 * A message without DOWNLOAD, DELETE or LEAVE stays on the server as
 * "queried". VPOP3's documentation does not spell the combined actions
 * out; this reading keeps every Query action from downloading. */
typedef enum {
    COLLECTOR_RULE_FX_DOWNLOAD = 1 << 0,
    COLLECTOR_RULE_FX_DELIVER_RCPTS = 1 << 1,
    COLLECTOR_RULE_FX_DELIVER_TARGET = 1 << 2,
    COLLECTOR_RULE_FX_DELETE = 1 << 3,
    COLLECTOR_RULE_FX_LEAVE = 1 << 4,
    COLLECTOR_RULE_FX_QUERY_RCPTS = 1 << 5,
    COLLECTOR_RULE_FX_QUERY_TARGET = 1 << 6,
    COLLECTOR_RULE_FX_WARN_RCPTS = 1 << 7,
} CollectorRuleEffects;

typedef struct {
    const char *address; /* as routed */
    gboolean valid;      /* the router knows it here (PR_RECIPIENT_LOCAL) */
} CollectorRuleRecipient;

typedef struct {
    const CollectorHeaders *headers; /* NULL: none fetched; header conditions fail */
    guint64 size;                    /* octets, as LIST said */
    GDateTime *now;                  /* local time, for time= and day= */
    const CollectorRuleRecipient *recipients;
    guint n_recipients;
    gint64 collector_id; /* PrCollector.id */
} CollectorMessageSummary;

typedef struct _CollectorRules CollectorRules;
typedef struct _CollectorRule CollectorRule;

/* Parses rules from @data; @filename names them in errors. */
CollectorRules *collector_rules_parse(const char *data, gsize len, const char *filename,
                                      GError **error);
/* Reads and parses @path: G_FILE_ERROR (NOENT when missing) or
 * COLLECTOR_RULES_ERROR. */
CollectorRules *collector_rules_load(const char *path, GError **error);
void collector_rules_free(CollectorRules *rules);

/* Rules in the set, enabled or not. */
guint collector_rules_count(const CollectorRules *rules);
/* Whether a rule tests recipients (recipient=, valid_rcpts=,
 * invalid_rcpts=): if not, the caller need not resolve them first. */
gboolean collector_rules_need_recipients(const CollectorRules *rules);

/* The first enabled rule that matches, or NULL (download). */
const CollectorRule *collector_rules_evaluate(const CollectorRules *rules,
                                              const CollectorMessageSummary *msg);

const char *collector_rule_get_name(const CollectorRule *rule);
CollectorRuleAction collector_rule_get_action(const CollectorRule *rule);
/* NULL for actions without a target. */
const char *collector_rule_get_target(const CollectorRule *rule);

/* "download-and-delete" ... as in the file. */
const char *collector_rule_action_name(CollectorRuleAction action);
CollectorRuleEffects collector_rule_action_effects(CollectorRuleAction action);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(CollectorRules, collector_rules_free)

G_END_DECLS
