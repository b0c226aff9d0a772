/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Local delivery: every way mail comes in ends here. The message is routed
 * once, written once to the spool (file and directory fsynced) with the
 * Return-Path and Received headers, and referenced by every recipient's
 * mailbox, and by the outbound queue for remote recipients, in one small
 * transaction (shared by a few messages under load). Only then is it
 * acknowledged. */

#include "config.h"
#include <postroom/pr-delivery.h>
#include "router.h"
#include "store/store.h"

typedef struct {
    char *hostname; /* in Received: */
    char *spool_dir;
    gint64 disk_reserve; /* bytes; local senders are refused below it */
    gint64 max_size;     /* bytes, 0 = no limit */
    gboolean msgaudit;   /* write msgaudit rows */
    char *postmaster;    /* user told about quota alerts, or NULL */
    RouterData *router;  /* settings only: the directory is added per load */
    PrHost *notify_host; /* told of each commit (open mailboxes), or NULL */
} DeliverySettings;

void delivery_settings_init(DeliverySettings *settings, Config *config, const char *hostname);
void delivery_settings_clear(DeliverySettings *settings);

/* A routing directory: @settings' router settings plus the store's users,
 * lists, mappings and domains. */
RouterData *delivery_load_directory(StoreConn *c, const DeliverySettings *settings, GError **error);

typedef struct {
    const char *sender;      /* envelope sender, "" for <> */
    const char *auth_user;   /* authenticated local user, or NULL */
    gboolean sender_local;   /* from a local user or a trusted client */
    const char *client_ip;   /* for Received:, or NULL for local injection */
    const char *client_name; /* HELO name, or NULL */
    const char *protocol;    /* "local", "ESMTP", "ESMTPSA", "POP3" ... */
    const char *const *recipients;
    /* RFC 3461, kept with queue entries: per recipient (parallel to
     * @recipients, entries may be NULL) or NULL for none. */
    const char *const *notify;
    const char *const *orcpt;
    const char *dsn_ret, *dsn_envid;
    gint64 collector_id;               /* pr_envelope_set_collected(): the UID is */
    const char *collector_uid;         /* recorded with the message; or NULL */
    gboolean no_implicit_user_mapping; /* pr_envelope_set_implicit_mapping() */
} DeliveryEnvelope;

typedef struct {
    RouterOutcome *outcome; /* per recipient: where it went, or why not */
    gint64 message_id;      /* 0 when nothing was stored */
} DeliveryReport;

void delivery_report_free(DeliveryReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DeliveryReport, delivery_report_free)

/* Delivers @message (any line ends; stored with CRLF). Recipients the
 * router refuses are reported, not errors; the call fails only when
 * nothing could be stored safely. */
DeliveryReport *delivery_deliver(StoreConn *c, const DeliverySettings *settings,
                                 const RouterData *directory, GBytes *message,
                                 const DeliveryEnvelope *envelope, GError **error);

/* The same in two halves, so that many messages can share one commit
 * (see delivery-service.c). delivery_prepare() checks, routes and writes
 * the spool files (data fsynced), without the database: any thread, many
 * at once. It fails like delivery_deliver(); otherwise the job holds the
 * routing outcome, and copies to store unless nobody was to get the
 * message. @env's strings and @directory must stay valid until the job is
 * freed. */
typedef struct _DeliveryJob DeliveryJob;
DeliveryJob *delivery_prepare(const DeliverySettings *settings, const RouterData *directory,
                              GBytes *message, const DeliveryEnvelope *envelope, GError **error);
gboolean delivery_job_has_copies(const DeliveryJob *job);
/* Commits @n prepared jobs: their rows in one transaction; if that fails,
 * each job is committed alone, so that only the jobs at fault fail. Quota
 * alerts follow each committed job. On @c's thread; outside any
 * transaction. */
void delivery_commit(StoreConn *c, const DeliverySettings *settings, DeliveryJob *const *jobs,
                     guint n);
/* The report of a committed job (transfer full), or its error. Once only. */
DeliveryReport *delivery_job_finish(DeliveryJob *job, GError **error);
void delivery_job_free(DeliveryJob *job);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DeliveryJob, delivery_job_free)

/* Exposed for tests: CRLF line ends, and a final CRLF. */
GBytes *delivery_normalize(GBytes *message);
