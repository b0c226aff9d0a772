/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "delivery-service.h"

#include <glib/gi18n-lib.h>
#include <postroom/pr-delivery.h>
#include <postroom/pr-queue.h>

#include "delivery-owned.h"
#include "store/store-mail.h"
#include "store/store-ops.h"

/* ---- the directory snapshot ---- */

/* Immutable once built; store workers route against it concurrently. */
typedef struct {
    gatomicrefcount ref;
    gint64 version;
    RouterData *data;
} Directory;

static Directory *
directory_ref(Directory *d)
{
    g_atomic_ref_count_inc(&d->ref);
    return d;
}

static void
directory_unref(Directory *d)
{
    if (d != NULL && g_atomic_ref_count_dec(&d->ref)) {
        router_data_free(d->data);
        g_free(d);
    }
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Directory, directory_unref)

struct _DeliveryService {
    PrHost *host;
    DeliverySettings settings; /* read-only after creation */
    GMutex lock;               /* guards current and confirmed */
    Directory *current;        /* the newest version seen */
    gint64 confirmed;          /* monotonic time of a query that found it current */
    PrQueueNotifyFunc notify;
    gpointer notify_data;
    PrModule *notify_module;
    OwnedAddresses *owned; /* pr_delivery_claim_address() */

    GMutex batch_lock;   /* guards pending and committing */
    GPtrArray *pending;  /* DeliverItem*, prepared, waiting for a commit */
    gboolean committing; /* a worker is committing pending items */
    /* Prepares begun and ended (batched or failed): the committer waits
     * briefly for those running (see wait_for_prepares()). */
    guint64 prepares_begun, prepares_ended;
    GCond prepared;     /* signalled when a prepare ends ... */
    gboolean gathering; /* ... if the committer waits for it */
};

DeliveryService *
delivery_service_new(PrHost *host)
{
    DeliveryService *ds = g_new0(DeliveryService, 1);
    ds->host = host;
    delivery_settings_init(&ds->settings, host->config, host->hostname);
    ds->settings.notify_host = host;
    g_mutex_init(&ds->lock);
    g_mutex_init(&ds->batch_lock);
    g_cond_init(&ds->prepared);
    ds->pending = g_ptr_array_new();
    ds->owned = owned_addresses_new();
    return ds;
}

void
delivery_service_free(DeliveryService *ds)
{
    if (ds == NULL)
        return;
    directory_unref(ds->current);
    g_mutex_clear(&ds->lock);
    /* The store is closed first, and its workers finish every job, so no
     * prepared message is still waiting here. */
    g_warn_if_fail(ds->pending->len == 0);
    g_ptr_array_unref(ds->pending);
    g_cond_clear(&ds->prepared);
    g_mutex_clear(&ds->batch_lock);
    delivery_settings_clear(&ds->settings);
    owned_addresses_free(ds->owned);
    g_free(ds);
}

/* How long a delivery trusts a snapshot that a query found current. */
#define DIRECTORY_TRUST_US (100 * 1000)

/* On a store worker: the snapshot for the store's current directory
 * version, loaded if it changed. One cheap query per recipient check keeps
 * `postroomctl user add` effective at the very next recipient, on every
 * instance sharing the database. A delivery (@recent_ok) skips the query
 * when another one confirmed the snapshot within DIRECTORY_TRUST_US: its
 * recipients were checked moments ago, against that snapshot or an older
 * one, and the snapshot only ever moves forward. (A user deleted since
 * fails at the commit, as it could anyway between routing and commit.) */
static Directory *
directory_current(DeliveryService *ds, StoreConn *c, gboolean recent_ok, GError **error)
{
    gint64 asked = g_get_monotonic_time();
    Directory *d = NULL;
    if (recent_ok) {
        g_mutex_lock(&ds->lock);
        if (ds->current != NULL && asked - ds->confirmed < DIRECTORY_TRUST_US)
            d = directory_ref(ds->current);
        g_mutex_unlock(&ds->lock);
        if (d != NULL)
            return d;
    }
    gint64 version = store_directory_version(c, error);
    if (version < 0)
        return NULL;
    g_mutex_lock(&ds->lock);
    if (ds->current != NULL && ds->current->version == version) {
        d = directory_ref(ds->current);
        ds->confirmed = MAX(ds->confirmed, asked);
    }
    g_mutex_unlock(&ds->lock);
    if (d != NULL)
        return d;

    RouterData *data = delivery_load_directory(c, &ds->settings, error);
    if (data == NULL)
        return NULL;
    d = g_new0(Directory, 1);
    g_atomic_ref_count_init(&d->ref);
    d->version = version;
    d->data = data;
    g_mutex_lock(&ds->lock);
    if (ds->current == NULL || ds->current->version < version) {
        directory_unref(ds->current);
        ds->current = directory_ref(d);
        ds->confirmed = asked;
    }
    g_mutex_unlock(&ds->lock);
    return d;
}

/* ---- envelopes ---- */

struct _PrEnvelope {
    char *sender;
    char *client_ip, *helo, *protocol;
    char *auth_user;
    gboolean sender_local;
    char *ret, *envid;
    GPtrArray *recipients, *notify, *orcpt; /* char*, parallel; NULL entries allowed */
    gint64 collector_id;
    char *collector_uid; /* pr_envelope_set_collected(), or NULL */
    gboolean no_implicit_user_mapping;
};

PrEnvelope *
pr_envelope_new(const char *sender)
{
    g_return_val_if_fail(sender != NULL, NULL);
    PrEnvelope *e = g_new0(PrEnvelope, 1);
    e->sender = g_strdup(sender);
    e->protocol = g_strdup("local");
    e->recipients = g_ptr_array_new_with_free_func(g_free);
    e->notify = g_ptr_array_new_with_free_func(g_free);
    e->orcpt = g_ptr_array_new_with_free_func(g_free);
    return e;
}

void
pr_envelope_free(PrEnvelope *e)
{
    if (e == NULL)
        return;
    g_free(e->sender);
    g_free(e->client_ip);
    g_free(e->helo);
    g_free(e->protocol);
    g_free(e->auth_user);
    g_free(e->ret);
    g_free(e->envid);
    g_free(e->collector_uid);
    g_ptr_array_unref(e->recipients);
    g_ptr_array_unref(e->notify);
    g_ptr_array_unref(e->orcpt);
    g_free(e);
}

static void
replace(char **field, const char *value)
{
    g_free(*field);
    *field = g_strdup(value);
}

void
pr_envelope_set_client(PrEnvelope *e, const char *ip, const char *helo, const char *protocol)
{
    g_return_if_fail(e != NULL);
    replace(&e->client_ip, ip);
    replace(&e->helo, helo);
    replace(&e->protocol, protocol != NULL ? protocol : "local");
}

void
pr_envelope_set_auth_user(PrEnvelope *e, const char *user)
{
    g_return_if_fail(e != NULL);
    replace(&e->auth_user, user);
}

void
pr_envelope_set_sender_local(PrEnvelope *e, gboolean local)
{
    g_return_if_fail(e != NULL);
    e->sender_local = local;
}

void
pr_envelope_set_dsn(PrEnvelope *e, const char *ret, const char *envid)
{
    g_return_if_fail(e != NULL);
    replace(&e->ret, ret);
    replace(&e->envid, envid);
}

void
pr_envelope_set_collected(PrEnvelope *e, gint64 collector_id, const char *uid)
{
    g_return_if_fail(e != NULL && uid != NULL);
    e->collector_id = collector_id;
    replace(&e->collector_uid, uid);
}

void
pr_envelope_set_implicit_mapping(PrEnvelope *e, gboolean enabled)
{
    g_return_if_fail(e != NULL);
    e->no_implicit_user_mapping = !enabled;
}

void
pr_envelope_add_recipient(PrEnvelope *e, const char *address, const char *notify, const char *orcpt)
{
    g_return_if_fail(e != NULL && address != NULL);
    g_ptr_array_add(e->recipients, g_strdup(address));
    g_ptr_array_add(e->notify, g_strdup(notify));
    g_ptr_array_add(e->orcpt, g_strdup(orcpt));
}

guint
pr_envelope_get_n_recipients(const PrEnvelope *e)
{
    g_return_val_if_fail(e != NULL, 0);
    return e->recipients->len;
}

void
pr_envelope_clear_recipients(PrEnvelope *e)
{
    g_return_if_fail(e != NULL);
    g_ptr_array_set_size(e->recipients, 0);
    g_ptr_array_set_size(e->notify, 0);
    g_ptr_array_set_size(e->orcpt, 0);
}

static GPtrArray *
copy_strings(GPtrArray *from)
{
    GPtrArray *to = g_ptr_array_new_full(from->len + 1, g_free);
    for (guint i = 0; i < from->len; i++)
        g_ptr_array_add(to, g_strdup(from->pdata[i]));
    return to;
}

static PrEnvelope *
envelope_copy(const PrEnvelope *e)
{
    PrEnvelope *c = g_new0(PrEnvelope, 1);
    c->sender = g_strdup(e->sender);
    c->client_ip = g_strdup(e->client_ip);
    c->helo = g_strdup(e->helo);
    c->protocol = g_strdup(e->protocol);
    c->auth_user = g_strdup(e->auth_user);
    c->sender_local = e->sender_local;
    c->ret = g_strdup(e->ret);
    c->envid = g_strdup(e->envid);
    c->collector_id = e->collector_id;
    c->collector_uid = g_strdup(e->collector_uid);
    c->no_implicit_user_mapping = e->no_implicit_user_mapping;
    c->recipients = copy_strings(e->recipients);
    c->notify = copy_strings(e->notify);
    c->orcpt = copy_strings(e->orcpt);
    return c;
}

/* ---- what the router said, as the SDK says it ---- */

static PrRecipientStatus
status_of(const RouterData *data, const RouterResult *r)
{
    g_autofree char *valid = router_normalize(data, r->address);
    if (valid == NULL)
        return PR_RECIPIENT_INVALID;
    switch (r->status) {
    case ROUTER_UNKNOWN_LOCAL:
        return PR_RECIPIENT_UNKNOWN;
    case ROUTER_REFUSED:
        return PR_RECIPIENT_REFUSED;
    case ROUTER_LOOP:
        return PR_RECIPIENT_LOOP;
    case ROUTER_OK:
        break;
    }
    /* Relaying is sending the address itself elsewhere: a foreign domain,
     * *REMOTE, an unknown local name sent out. A local address that forwards
     * or has outside list members is still ours. */
    if (r->mailboxes->len == 0 && r->remote->len == 1 &&
        g_ascii_strcasecmp(r->remote->pdata[0], r->address) == 0)
        return PR_RECIPIENT_REMOTE;
    return PR_RECIPIENT_LOCAL;
}

/* Errors a module can act on: ours pass, the store's become temporary. */
static GError *
delivery_error(GError *error)
{
    if (error->domain == PR_DELIVERY_ERROR)
        return error;
    GError *e = g_error_new(PR_DELIVERY_ERROR, PR_DELIVERY_ERROR_TEMPORARY,
                            _("The message could not be stored: %s"), error->message);
    g_error_free(error);
    return e;
}

static GTask *
delivery_task_new(PrHost *host, GCancellable *cancellable, GAsyncReadyCallback callback,
                  gpointer user_data, gpointer tag)
{
    GTask *task = g_task_new(NULL, cancellable, callback, user_data);
    g_task_set_source_tag(task, tag);
    /* A delivery that committed must be reported, cancelled or not. */
    g_task_set_check_cancellable(task, FALSE);
    g_task_set_task_data(task, host, NULL);
    if (host->delivery == NULL) {
        g_task_return_new_error(task, PR_DELIVERY_ERROR, PR_DELIVERY_ERROR_TEMPORARY,
                                _("No store is configured."));
        g_clear_object(&task);
    }
    return task;
}

/* ---- recipient checks ---- */

typedef struct {
    DeliveryService *ds;
    PrEnvelope *envelope;
    char *address;
} CheckJob;

static void
check_job_free(gpointer p)
{
    CheckJob *j = p;
    pr_envelope_free(j->envelope);
    g_free(j->address);
    g_free(j);
}

static gpointer
check_job(StoreConn *c, gpointer data, GError **error)
{
    CheckJob *j = data;
    g_autoptr(Directory) d = directory_current(j->ds, c, FALSE, error);
    if (d == NULL)
        return NULL;
    g_autoptr(OwnedMatch) owned = owned_addresses_match(j->ds->owned, d->data, j->address);
    if (owned != NULL) {
        PrRecipientStatus local = PR_RECIPIENT_LOCAL;
        return g_memdup2(&local, sizeof local);
    }
    RouterMessage m = { j->envelope->sender,
                        j->envelope->auth_user,
                        j->envelope->auth_user != NULL || j->envelope->sender_local,
                        0,
                        NULL,
                        0,
                        j->envelope->no_implicit_user_mapping };
    const char *one[] = { j->address, NULL };
    g_autoptr(RouterOutcome) out = router_route(d->data, &m, one);
    PrRecipientStatus status = status_of(d->data, out->results->pdata[0]);
    return g_memdup2(&status, sizeof status);
}

static void
check_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    GTask *task = user_data;
    PrHost *host = g_task_get_task_data(task);
    GError *error = NULL;
    g_autofree PrRecipientStatus *status = store_run_finish(host->store, res, &error);
    if (status != NULL)
        g_task_return_int(task, *status);
    else
        g_task_return_error(task, delivery_error(error));
    g_object_unref(task);
}

void
pr_delivery_check_recipient_async(PrHost *host, const PrEnvelope *envelope, const char *address,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data)
{
    g_return_if_fail(host != NULL && envelope != NULL && address != NULL);
    GTask *task = delivery_task_new(host, cancellable, callback, user_data,
                                    pr_delivery_check_recipient_async);
    if (task == NULL)
        return;
    CheckJob *j = g_new0(CheckJob, 1);
    j->ds = host->delivery;
    j->envelope = envelope_copy(envelope);
    j->address = g_strdup(address);
    store_run_async(host->store, check_job, j, check_job_free, NULL, check_done, task);
}

PrRecipientStatus
pr_delivery_check_recipient_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), PR_RECIPIENT_INVALID);
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == pr_delivery_check_recipient_async,
                         PR_RECIPIENT_INVALID);
    (void)host;
    gssize status = g_task_propagate_int(G_TASK(result), error);
    return status < 0 ? PR_RECIPIENT_INVALID : (PrRecipientStatus)status;
}

/* ---- EXPN ---- */

typedef struct {
    PrRecipientStatus status;
    char **addresses, **names;
} Expansion;

static void
expansion_free(gpointer p)
{
    Expansion *x = p;
    g_strfreev(x->addresses);
    g_strfreev(x->names);
    g_free(x);
}

static gpointer
expand_job(StoreConn *c, gpointer data, GError **error)
{
    CheckJob *j = data;
    g_autoptr(Directory) d = directory_current(j->ds, c, FALSE, error);
    if (d == NULL)
        return NULL;
    g_autoptr(RouterResult) r = router_expand(d->data, j->address);
    Expansion *x = g_new0(Expansion, 1);
    x->status = status_of(d->data, r);
    if (x->status != PR_RECIPIENT_LOCAL)
        return x;
    g_autoptr(GStrvBuilder) addresses = g_strv_builder_new();
    g_autoptr(GStrvBuilder) names = g_strv_builder_new();
    for (guint i = 0; i < r->mailboxes->len; i++) {
        const RouterUser *user = g_hash_table_lookup(d->data->users, r->mailboxes->pdata[i]);
        g_autofree char *address =
            g_strdup_printf("%s@%s", (const char *)r->mailboxes->pdata[i], d->data->default_domain);
        g_strv_builder_add(addresses, address);
        g_strv_builder_add(names, user != NULL && user->full_name != NULL ? user->full_name : "");
    }
    for (guint i = 0; i < r->remote->len; i++) {
        g_strv_builder_add(addresses, r->remote->pdata[i]);
        g_strv_builder_add(names, "");
    }
    x->addresses = g_strv_builder_end(addresses);
    x->names = g_strv_builder_end(names);
    return x;
}

static void
expand_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    GTask *task = user_data;
    PrHost *host = g_task_get_task_data(task);
    GError *error = NULL;
    Expansion *x = store_run_finish(host->store, res, &error);
    if (x != NULL)
        g_task_return_pointer(task, x, expansion_free);
    else
        g_task_return_error(task, delivery_error(error));
    g_object_unref(task);
}

void
pr_delivery_expand_async(PrHost *host, const char *address, GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(host != NULL && address != NULL);
    GTask *task =
        delivery_task_new(host, cancellable, callback, user_data, pr_delivery_expand_async);
    if (task == NULL)
        return;
    CheckJob *j = g_new0(CheckJob, 1);
    j->ds = host->delivery;
    j->address = g_strdup(address);
    store_run_async(host->store, expand_job, j, check_job_free, NULL, expand_done, task);
}

PrRecipientStatus
pr_delivery_expand_finish(PrHost *host, GAsyncResult *result, char ***addresses, char ***names,
                          GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), PR_RECIPIENT_INVALID);
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == pr_delivery_expand_async,
                         PR_RECIPIENT_INVALID);
    (void)host;
    if (addresses != NULL)
        *addresses = NULL;
    if (names != NULL)
        *names = NULL;
    Expansion *x = g_task_propagate_pointer(G_TASK(result), error);
    if (x == NULL)
        return PR_RECIPIENT_INVALID;
    PrRecipientStatus status = x->status;
    if (addresses != NULL)
        *addresses = g_steal_pointer(&x->addresses);
    if (names != NULL)
        *names = g_steal_pointer(&x->names);
    expansion_free(x);
    return status;
}

/* ---- the sending user ---- */

static gpointer
sender_job(StoreConn *c, gpointer data, GError **error)
{
    CheckJob *j = data;
    g_autofree char *name = g_strdup(j->envelope->auth_user);
    g_autoptr(GError) local = NULL;

    if (name == NULL) {
        /* Asked at every MAIL: a snapshot confirmed moments ago will do for
         * the address (the limit itself is read fresh below). */
        g_autoptr(Directory) d = directory_current(j->ds, c, TRUE, error);
        if (d == NULL)
            return NULL;
        name = router_sender_user(d->data, j->envelope->sender);
        if (name == NULL)
            return NULL;
    }
    g_autoptr(StoreUser) user = store_user_get(c, name, &local);
    if (user == NULL) {
        /* A user deleted since it logged in or since the snapshot: nobody. */
        if (!g_error_matches(local, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND))
            g_propagate_error(error, g_steal_pointer(&local));
        return NULL;
    }
    return store_user_to_pr(user);
}

static void
sender_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    GTask *task = user_data;
    PrHost *host = g_task_get_task_data(task);
    GError *error = NULL;
    PrUser *user = store_run_finish(host->store, res, &error);
    if (error != NULL)
        g_task_return_error(task, delivery_error(error));
    else
        g_task_return_pointer(task, user, (GDestroyNotify)pr_user_free);
    g_object_unref(task);
}

void
pr_delivery_lookup_sender_async(PrHost *host, const PrEnvelope *envelope, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(host != NULL && envelope != NULL);
    GTask *task =
        delivery_task_new(host, cancellable, callback, user_data, pr_delivery_lookup_sender_async);
    if (task == NULL)
        return;
    CheckJob *j = g_new0(CheckJob, 1);
    j->ds = host->delivery;
    j->envelope = envelope_copy(envelope);
    store_run_async(host->store, sender_job, j, check_job_free, NULL, sender_done, task);
}

PrUser *
pr_delivery_lookup_sender_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == pr_delivery_lookup_sender_async,
                         NULL);
    (void)host;
    return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- delivery ---- */

struct _PrDeliveryReport {
    GArray *statuses;           /* PrRecipientStatus per envelope recipient */
    GArray *mailboxes, *remote; /* guint per envelope recipient: where it went */
    gboolean stored;
    gboolean queued; /* remote recipients went to the queue */
};

void
pr_delivery_report_free(PrDeliveryReport *report)
{
    if (report == NULL)
        return;
    g_array_unref(report->statuses);
    g_array_unref(report->mailboxes);
    g_array_unref(report->remote);
    g_free(report);
}

gboolean
pr_delivery_report_get_stored(const PrDeliveryReport *report)
{
    g_return_val_if_fail(report != NULL, FALSE);
    return report->stored;
}

PrRecipientStatus
pr_delivery_report_get_status(const PrDeliveryReport *report, guint index)
{
    g_return_val_if_fail(report != NULL && index < report->statuses->len, PR_RECIPIENT_INVALID);
    return g_array_index(report->statuses, PrRecipientStatus, index);
}

guint
pr_delivery_report_get_mailboxes(const PrDeliveryReport *report, guint index, guint *n_remote)
{
    g_return_val_if_fail(report != NULL && index < report->statuses->len, 0);
    if (n_remote != NULL)
        *n_remote = g_array_index(report->remote, guint, index);
    return g_array_index(report->mailboxes, guint, index);
}

/* ---- group commit ----
 *
 * A delivery is prepared (routed, written to the spool and fsynced) on any
 * store worker, several at once. Prepared messages then wait in
 * ds->pending for a commit: the worker that finds no commit running
 * becomes the committer and commits everything pending in one
 * transaction, again and again until nothing waits, while the other
 * workers prepare more. Under load a commit so covers every message that
 * arrived during the previous one, and one database fsync acknowledges
 * them all; alone, a message is committed at once, as before. Each
 * message's task completes only after the commit that holds it, so the
 * client's 250 still means "on disk". */

/* About 600 statements: libgda's cost per statement grows with the length
 * of the transaction, so a batch stays well below the ~1,000 rows that
 * bulk work commits at. Under SMTP load batches are far smaller anyway
 * (as many as sessions waiting for their 250). */
#define MAX_BATCH 64

typedef struct {
    DeliveryService *ds;
    PrEnvelope *envelope; /* recipients NULL-terminated while prepared */
    GBytes *message;
    GTask *task; /* the caller's */
    Directory *directory;
    DeliveryJob *job;
    PrDeliveryReport *report; /* the outcome, for the main thread */
    GError *error;
    /* Per envelope recipient: its OwnedMatch if a module owns it, else
     * NULL; NULL when no recipient is owned. */
    GPtrArray *owned;
    /* What the router gets: the recipients nobody owns (NULL-terminated)
     * and their DSN parameters; the strings are the envelope's. */
    GPtrArray *routed, *routed_notify, *routed_orcpt;
} DeliverItem;

static void
deliver_item_free(DeliverItem *item)
{
    delivery_job_free(item->job);
    directory_unref(item->directory);
    pr_envelope_free(item->envelope);
    g_bytes_unref(item->message);
    g_clear_object(&item->task);
    pr_delivery_report_free(item->report);
    g_clear_error(&item->error);
    g_clear_pointer(&item->owned, g_ptr_array_unref);
    g_clear_pointer(&item->routed, g_ptr_array_unref);
    g_clear_pointer(&item->routed_notify, g_ptr_array_unref);
    g_clear_pointer(&item->routed_orcpt, g_ptr_array_unref);
    g_free(item);
}

/* The SDK's report of a finished job (or of none: every recipient is
 * owned by a module), or NULL with @error set. Owned recipients are local
 * and count as stored: they are handed over before the caller hears. */
static PrDeliveryReport *
report_of(DeliverItem *item, GError **error)
{
    g_autoptr(DeliveryReport) r = NULL;
    guint n = item->envelope->recipients->len;
    guint routed = 0;
    gboolean owned = FALSE;

    if (item->job != NULL) {
        r = delivery_job_finish(item->job, error);
        if (r == NULL)
            return NULL;
    }
    PrDeliveryReport *report = g_new0(PrDeliveryReport, 1);
    report->statuses = g_array_new(FALSE, FALSE, sizeof(PrRecipientStatus));
    report->mailboxes = g_array_new(FALSE, TRUE, sizeof(guint));
    report->remote = g_array_new(FALSE, TRUE, sizeof(guint));
    for (guint i = 0; i < n; i++) {
        PrRecipientStatus s = PR_RECIPIENT_LOCAL;
        guint mailboxes = 0, remote = 0;
        if (item->owned != NULL && item->owned->pdata[i] != NULL) {
            owned = TRUE;
            mailboxes = 1; /* the owning module took it */
        } else if (r != NULL && routed < r->outcome->results->len) {
            const RouterResult *rr = r->outcome->results->pdata[routed++];
            s = status_of(item->directory->data, rr);
            mailboxes = rr->mailboxes->len;
            remote = rr->remote->len;
        } else {
            s = PR_RECIPIENT_INVALID;
        }
        g_array_append_val(report->statuses, s);
        g_array_append_val(report->mailboxes, mailboxes);
        g_array_append_val(report->remote, remote);
    }
    report->stored = owned || (r != NULL && r->message_id != 0);
    report->queued = r != NULL && r->message_id != 0 && r->outcome->remote->len > 0;
    return report;
}

/* On a worker: which recipients modules own (item->owned stays NULL when
 * none is); prepare_job() gives the router the others. */
static void
split_owned(DeliverItem *item)
{
    PrEnvelope *e = item->envelope;
    g_autoptr(GPtrArray) owned =
        g_ptr_array_new_full(e->recipients->len, (GDestroyNotify)owned_match_free);
    gboolean any = FALSE;

    for (guint i = 0; i < e->recipients->len; i++) {
        OwnedMatch *m =
            owned_addresses_match(item->ds->owned, item->directory->data, e->recipients->pdata[i]);
        any = any || m != NULL;
        g_ptr_array_add(owned, m);
    }
    if (!any)
        return;
    item->owned = g_steal_pointer(&owned);
}

/* Main thread: the owners get their messages before the caller hears. */
static void
hand_to_owners(DeliverItem *item, PrHost *host)
{
    PrEnvelope *e = item->envelope;

    if (item->owned == NULL || host->delivery == NULL)
        return;
    g_autoptr(GBytes) message = delivery_normalize(item->message);
    for (guint i = 0; i < item->owned->len; i++) {
        const OwnedMatch *m = item->owned->pdata[i];
        if (m == NULL)
            continue;
        PrOwnedMail mail = {
            .sender = e->sender,
            .recipient = m->recipient,
            .local_part = m->local_part,
            .detail = m->detail,
            .auth_user = e->auth_user,
            .client_ip = e->client_ip,
            .message = message,
        };
        g_info("message from <%s> to <%s> handed to the module owning it", e->sender, m->recipient);
        owned_addresses_dispatch(host->delivery->owned, host, &mail);
    }
}

/* On the caller's main context: hands the outcome to the caller. */
static void
deliver_item_complete(DeliverItem *item)
{
    GTask *task = item->task;
    PrHost *host = g_task_get_task_data(task);

    if (item->report == NULL) {
        g_task_return_error(task, delivery_error(g_steal_pointer(&item->error)));
    } else {
        gboolean queued = item->report->queued;
        hand_to_owners(item, host);
        g_task_return_pointer(task, g_steal_pointer(&item->report),
                              (GDestroyNotify)pr_delivery_report_free);
        if (queued && host->delivery != NULL)
            delivery_service_queued(host->delivery);
    }
    deliver_item_free(item);
}

static gboolean
complete_batch_cb(gpointer data)
{
    GPtrArray *items = data;
    for (guint i = 0; i < items->len; i++)
        deliver_item_complete(items->pdata[i]);
    return G_SOURCE_REMOVE;
}

/* On the committer's thread: every item of @batch goes back to its
 * caller's context, in one wake-up per context. */
static void
complete_batch(GPtrArray *batch)
{
    while (batch->len > 0) {
        GMainContext *ctx = g_task_get_context(((DeliverItem *)batch->pdata[0])->task);
        GPtrArray *same = g_ptr_array_new();
        for (guint i = 0; i < batch->len;) {
            DeliverItem *item = batch->pdata[i];
            if (g_task_get_context(item->task) == ctx) {
                g_ptr_array_add(same, item);
                g_ptr_array_remove_index(batch, i);
            } else {
                i++;
            }
        }
        g_main_context_invoke_full(ctx, G_PRIORITY_DEFAULT, complete_batch_cb, same,
                                   (GDestroyNotify)g_ptr_array_unref);
    }
}

static void
commit_batch(DeliveryService *ds, StoreConn *c, GPtrArray *batch)
{
    g_autoptr(GPtrArray) jobs = g_ptr_array_sized_new(batch->len);
    for (guint i = 0; i < batch->len; i++)
        g_ptr_array_add(jobs, ((DeliverItem *)batch->pdata[i])->job);
    delivery_commit(c, &ds->settings, (DeliveryJob *const *)jobs->pdata, jobs->len);
    for (guint i = 0; i < batch->len; i++) {
        DeliverItem *item = batch->pdata[i];
        item->report = report_of(item, &item->error);
    }
    complete_batch(batch);
}

/* Under load, the prepares running when a commit starts would each need a
 * commit (and a database fsync) of their own a moment later: the committer
 * waits for them, briefly, so that one commit covers them too. Alone, a
 * message waits for nothing. With batch_lock held. */
#define GATHER_WAIT_US 2000

static void
wait_for_prepares(DeliveryService *ds)
{
    guint64 running = ds->prepares_begun;
    gint64 until = g_get_monotonic_time() + GATHER_WAIT_US;
    ds->gathering = TRUE;
    while (ds->prepares_ended < running && ds->pending->len < MAX_BATCH &&
           g_cond_wait_until(&ds->prepared, &ds->batch_lock, until))
        ;
    ds->gathering = FALSE;
}

/* With batch_lock held. */
static void
prepare_ended(DeliveryService *ds)
{
    ds->prepares_ended++;
    if (ds->gathering)
        g_cond_signal(&ds->prepared);
}

static void
prepare_begins(DeliveryService *ds)
{
    g_mutex_lock(&ds->batch_lock);
    ds->prepares_begun++;
    g_mutex_unlock(&ds->batch_lock);
}

/* A prepare that ends without joining the batch. */
static void
prepare_ends(DeliveryService *ds)
{
    g_mutex_lock(&ds->batch_lock);
    prepare_ended(ds);
    g_mutex_unlock(&ds->batch_lock);
}

/* Adds a prepared item to the pending commit; commits if no other worker
 * does. The item belongs to the batch from here. */
static void
batch_add(DeliveryService *ds, StoreConn *c, DeliverItem *item)
{
    g_mutex_lock(&ds->batch_lock);
    g_ptr_array_add(ds->pending, item);
    prepare_ended(ds);
    if (ds->committing) {
        g_mutex_unlock(&ds->batch_lock);
        return;
    }
    ds->committing = TRUE;
    while (ds->pending->len > 0) {
        wait_for_prepares(ds);
        guint n = MIN(ds->pending->len, MAX_BATCH);
        g_autoptr(GPtrArray) batch = g_ptr_array_sized_new(n);
        for (guint i = 0; i < n; i++)
            g_ptr_array_add(batch, ds->pending->pdata[i]);
        g_ptr_array_remove_range(ds->pending, 0, n);
        g_mutex_unlock(&ds->batch_lock);
        commit_batch(ds, c, batch);
        g_mutex_lock(&ds->batch_lock);
    }
    ds->committing = FALSE;
    g_mutex_unlock(&ds->batch_lock);
}

static gboolean
complete_item_cb(gpointer data)
{
    deliver_item_complete(data);
    return G_SOURCE_REMOVE;
}

/* On a store worker, detached: the item goes to the batch, whose commit
 * completes it, or (failed, or nothing to store) back to its caller from
 * here. */
static void
prepare_job(StoreConn *c, gpointer data)
{
    DeliverItem *item = data;
    PrEnvelope *e = item->envelope;
    prepare_begins(item->ds);
    /* The snapshot the recipients were checked against at RCPT time, or a
     * newer one: no query of its own when one was confirmed just now. */
    item->directory = directory_current(item->ds, c, TRUE, &item->error);
    if (item->directory != NULL) {
        split_owned(item);
        item->routed = g_ptr_array_new();
        item->routed_notify = g_ptr_array_new();
        item->routed_orcpt = g_ptr_array_new();
        for (guint i = 0; i < e->recipients->len; i++) {
            if (item->owned != NULL && item->owned->pdata[i] != NULL)
                continue;
            g_ptr_array_add(item->routed, e->recipients->pdata[i]);
            g_ptr_array_add(item->routed_notify, e->notify->pdata[i]);
            g_ptr_array_add(item->routed_orcpt, e->orcpt->pdata[i]);
        }
        gboolean owned_only = item->owned != NULL && item->routed->len == 0;
        g_ptr_array_add(item->routed, NULL);
        DeliveryEnvelope env = { e->sender,
                                 e->auth_user,
                                 e->auth_user != NULL || e->sender_local,
                                 e->client_ip,
                                 e->helo,
                                 e->protocol,
                                 (const char *const *)item->routed->pdata,
                                 (const char *const *)item->routed_notify->pdata,
                                 (const char *const *)item->routed_orcpt->pdata,
                                 e->ret,
                                 e->envid,
                                 e->collector_id,
                                 e->collector_uid,
                                 e->no_implicit_user_mapping };
        /* Only modules' addresses: nothing to route or store here. */
        if (!owned_only)
            item->job = delivery_prepare(&item->ds->settings, item->directory->data, item->message,
                                         &env, &item->error);
        if (item->job != NULL && delivery_job_has_copies(item->job)) {
            batch_add(item->ds, c, item);
            return;
        }
        if (item->job != NULL || owned_only)
            item->report = report_of(item, &item->error); /* nothing to commit */
    }
    prepare_ends(item->ds);
    if (item->report == NULL && item->error == NULL)
        item->error = g_error_new_literal(PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                                          _("The delivery ended without a result."));
    g_main_context_invoke_full(g_task_get_context(item->task), G_PRIORITY_DEFAULT, complete_item_cb,
                               item, NULL);
}

void
pr_delivery_deliver_async(PrHost *host, const PrEnvelope *envelope, GBytes *message,
                          GCancellable *cancellable, GAsyncReadyCallback callback,
                          gpointer user_data)
{
    g_return_if_fail(host != NULL && envelope != NULL && message != NULL);
    GTask *task =
        delivery_task_new(host, cancellable, callback, user_data, pr_delivery_deliver_async);
    if (task == NULL)
        return;
    DeliverItem *item = g_new0(DeliverItem, 1);
    item->ds = host->delivery;
    item->envelope = envelope_copy(envelope);
    item->message = g_bytes_ref(message);
    item->task = task;
    /* No cancellable for the job: once started, a delivery runs to its end
     * so that what was stored is always reported. */
    store_run_detached(host->store, prepare_job, item);
}

PrDeliveryReport *
pr_delivery_deliver_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == pr_delivery_deliver_async, NULL);
    (void)host;
    return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- queue notification ---- */

void
pr_queue_set_notify(PrHost *host, PrModule *self, PrQueueNotifyFunc func, gpointer user_data)
{
    g_return_if_fail(host != NULL);
    DeliveryService *ds = host->delivery;
    if (ds == NULL)
        return;
    ds->notify = func;
    ds->notify_data = user_data;
    ds->notify_module = self;
}

void
delivery_service_forget_module(DeliveryService *ds, PrModule *module)
{
    if (ds->notify_module == module)
        ds->notify = NULL;
    owned_addresses_forget_module(ds->owned, module);
}

OwnedAddresses *
delivery_service_owned(DeliveryService *ds)
{
    return ds->owned;
}

void
delivery_service_queued(DeliveryService *ds)
{
    if (ds->notify != NULL)
        ds->notify(ds->notify_data);
}
