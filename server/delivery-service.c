/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "delivery-service.h"

#include <glib/gi18n-lib.h>
#include <postroom/pr-delivery.h>
#include <postroom/pr-queue.h>

#include "store/store-mail.h"

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
    GMutex lock;               /* guards current */
    Directory *current;
    PrQueueNotifyFunc notify;
    gpointer notify_data;
    PrModule *notify_module;
};

DeliveryService *
delivery_service_new(PrHost *host)
{
    DeliveryService *ds = g_new0(DeliveryService, 1);
    ds->host = host;
    delivery_settings_init(&ds->settings, host->config, host->hostname);
    g_mutex_init(&ds->lock);
    return ds;
}

void
delivery_service_free(DeliveryService *ds)
{
    if (ds == NULL)
        return;
    directory_unref(ds->current);
    g_mutex_clear(&ds->lock);
    delivery_settings_clear(&ds->settings);
    g_free(ds);
}

/* On a store worker: the snapshot for the store's current directory
 * version, loaded if it changed. One cheap query per call keeps
 * `postroomctl user add` effective at the very next recipient, on every
 * instance sharing the database. */
static Directory *
directory_current(DeliveryService *ds, StoreConn *c, GError **error)
{
    gint64 version = store_directory_version(c, error);
    if (version < 0)
        return NULL;
    g_mutex_lock(&ds->lock);
    Directory *d =
        ds->current != NULL && ds->current->version == version ? directory_ref(ds->current) : NULL;
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
    g_autoptr(Directory) d = directory_current(j->ds, c, error);
    if (d == NULL)
        return NULL;
    RouterMessage m = { j->envelope->sender,
                        j->envelope->auth_user,
                        j->envelope->auth_user != NULL || j->envelope->sender_local,
                        0,
                        NULL,
                        0 };
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

/* ---- delivery ---- */

struct _PrDeliveryReport {
    GArray *statuses; /* PrRecipientStatus per envelope recipient */
    gboolean stored;
    gboolean queued; /* remote recipients went to the queue */
};

void
pr_delivery_report_free(PrDeliveryReport *report)
{
    if (report == NULL)
        return;
    g_array_unref(report->statuses);
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

typedef struct {
    DeliveryService *ds;
    PrEnvelope *envelope;
    GBytes *message;
} DeliverJob;

static void
deliver_job_free(gpointer p)
{
    DeliverJob *j = p;
    pr_envelope_free(j->envelope);
    g_bytes_unref(j->message);
    g_free(j);
}

static gpointer
deliver_job(StoreConn *c, gpointer data, GError **error)
{
    DeliverJob *j = data;
    PrEnvelope *e = j->envelope;
    g_autoptr(Directory) d = directory_current(j->ds, c, error);
    if (d == NULL)
        return NULL;

    g_ptr_array_add(e->recipients, NULL);
    DeliveryEnvelope env = { e->sender,
                             e->auth_user,
                             e->auth_user != NULL || e->sender_local,
                             e->client_ip,
                             e->helo,
                             e->protocol,
                             (const char *const *)e->recipients->pdata,
                             (const char *const *)e->notify->pdata,
                             (const char *const *)e->orcpt->pdata,
                             e->ret,
                             e->envid };
    g_autoptr(DeliveryReport) r =
        delivery_deliver(c, &j->ds->settings, d->data, j->message, &env, error);
    g_ptr_array_remove_index(e->recipients, e->recipients->len - 1);
    if (r == NULL)
        return NULL;

    PrDeliveryReport *report = g_new0(PrDeliveryReport, 1);
    report->statuses = g_array_new(FALSE, FALSE, sizeof(PrRecipientStatus));
    for (guint i = 0; i < r->outcome->results->len; i++) {
        PrRecipientStatus s = status_of(d->data, r->outcome->results->pdata[i]);
        g_array_append_val(report->statuses, s);
    }
    report->stored = r->message_id != 0;
    report->queued = report->stored && r->outcome->remote->len > 0;
    return report;
}

static void
deliver_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    GTask *task = user_data;
    PrHost *host = g_task_get_task_data(task);
    GError *error = NULL;
    PrDeliveryReport *report = store_run_finish(host->store, res, &error);
    if (report == NULL) {
        g_task_return_error(task, delivery_error(error));
    } else {
        gboolean queued = report->queued;
        g_task_return_pointer(task, report, (GDestroyNotify)pr_delivery_report_free);
        if (queued && host->delivery != NULL)
            delivery_service_queued(host->delivery);
    }
    g_object_unref(task);
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
    DeliverJob *j = g_new0(DeliverJob, 1);
    j->ds = host->delivery;
    j->envelope = envelope_copy(envelope);
    j->message = g_bytes_ref(message);
    /* No cancellable for the job: once started, a delivery runs to its end
     * so that what was stored is always reported. */
    store_run_async(host->store, deliver_job, j, deliver_job_free, NULL, deliver_done, task);
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
}

void
delivery_service_queued(DeliveryService *ds)
{
    if (ds->notify != NULL)
        ds->notify(ds->notify_data);
}
