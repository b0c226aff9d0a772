/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* RFC 3464 delivery status notifications, as text: a multipart/report
 * (RFC 6522) with report-type=delivery-status holding a part for people,
 * the machine-readable message/delivery-status part and the original
 * message (message/rfc822) or its header (text/rfc822-headers). Shared by
 * the modules that bounce mail (sender, collector) through a static
 * library; pure code, no I/O. The caller delivers the text from the null
 * sender and never writes one to the null sender (RFC 3464 §2). */

#include <glib.h>

G_BEGIN_DECLS

/* One recipient's fields (RFC 3464 §2.3). */
typedef struct {
    const char *final_recipient;    /* the address, written "rfc822; address" */
    const char *original_recipient; /* decoded ORCPT ("rfc822; address"), or NULL */
    const char *action;             /* "failed", "delayed", ... */
    const char *status;             /* "5.1.1" */
    const char *remote_mta;         /* a host name, or NULL */
    const char *diagnostic;         /* an SMTP reply ("550 ...", type smtp) or other
                                     * text (type x-postroom), or NULL */
    gint64 last_attempt;            /* unix time, 0: no Last-Attempt-Date */
    gint64 will_retry_until;        /* unix time, 0: no Will-Retry-Until */
} DsnRecipient;

typedef struct {
    const char *hostname; /* Reporting-MTA, and MAILER-DAEMON@hostname as From */
    const char *to;       /* who gets the report: the original's sender */
    const char *subject;
    const char *human; /* the text for people, CRLF line ends */
    const char *envid; /* decoded ENVID, or NULL */
    gint64 arrival;    /* Arrival-Date, unix time */
    const DsnRecipient *recipients;
    guint n_recipients;
    GBytes *original;      /* the original message (CRLF line ends), or NULL */
    gboolean headers_only; /* only its header section, as text/rfc822-headers */
} DsnReport;

/* The whole report message, header included, with CRLF line ends. */
GString *dsn_report_build(const DsnReport *report);

/* RFC 5322 §3.3 date-time of @unix_time in local time, in English
 * whatever the locale. */
char *dsn_rfc5322_date(gint64 unix_time);

/* @text as one header line: control characters become spaces. */
char *dsn_one_line(const char *text);

/* RFC 3461 §4 xtext (ORCPT, ENVID: "+2B" for '+') decoded, as one line. */
char *dsn_xtext_decode(const char *text);

/* Octets of @message's header section, the CRLF ending its last field
 * included (all of it when there is no empty line). */
gsize dsn_header_length(GBytes *message);

G_END_DECLS
