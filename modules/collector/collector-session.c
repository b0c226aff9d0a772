/* SPDX-License-Identifier: GPL-3.0-or-later */

/* One collector session (VPOP3 §2.2): claim the collector, log in at the
 * ISP, list the messages (UIDL, LIST), ask the store which UIDs it knows,
 * then for each message: delete it if it is old (leave_days), skip it if it
 * was handled, else (download rules: TOP n 0 first) download it, route it,
 * deliver it and only then DELE it; QUIT; give the claim back with the
 * result.
 *
 * A message is DELE'd only after the delivery that records its UID
 * (pr_envelope_set_collected()) has committed, and DELE takes effect only
 * at QUIT: a crash at any moment leaves every message either on the
 * server with its UID unknown (fetched again) or recorded (deleted at the
 * next session if leave_days says so), never lost, never twice.
 *
 * Several messages are handled at once (a window of COLLECTOR_WINDOW, and
 * of COLLECTOR_WINDOW_BYTES of listed sizes): each is a Msg running its own
 * chain of steps, each callback starting its next one. Their POP3 commands
 * queue on the one connection (pipelined when the server allows it), so
 * the next messages download while the ones before are delivered, and the
 * host commits deliveries in flight together (one database fsync for
 * several). Once the session is halted (an error, shutdown) no message
 * starts and none that is still downloading is delivered; the session
 * QUITs when the last one in hand is done. */

#include "postroom-config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "collector-token.h"
#include "collector.h"

/* Messages handled at once in a session, and the listed octets they may
 * hold at once (a message larger than that is handled alone). */
#define COLLECTOR_WINDOW       16
#define COLLECTOR_WINDOW_BYTES (16 * 1024 * 1024)

/* A delivery the message in hand needs: its text and recipients. */
typedef struct {
    GBytes *data;
    GPtrArray *rcpts;    /* char* */
    gboolean collected;  /* records the UID: its success allows DELE */
    gboolean is_message; /* the collected message itself (not a notice) */
    gboolean routed;     /* to the addresses routing found (not a rule's
                          * target): implicit_mapping applies */
    char *what;          /* for logs */
} Delivery;

/* A message being handled. */
typedef struct {
    CollectorSession *s;
    guint64 weight;                  /* its share of COLLECTOR_WINDOW_BYTES */
    const CollectorPop3Entry *entry; /* borrowed from the listing */
    gboolean requested;              /* a queried message the recipient asked for */
    gboolean retr_for_top;           /* downloaded for its header: TOP does not work */
    gboolean queried;                /* its recipients were asked already */
    CollectorPop3Message *message;   /* RETR */
    CollectorHeaders *headers;       /* from TOP or RETR */
    char *sender;                    /* envelope sender for the delivery */
    char *token;                     /* a query notice's token (collector-query.c) */
    GPtrArray *asked;                /* char*, NULL-terminated: whom the notice asked */
    CollectorRoute *route;
    GPtrArray *valid;   /* char*: routed addresses the router takes */
    GPtrArray *unknown; /* char*: routed addresses nobody has here */
    guint checking;     /* index into route->recipients */
    const CollectorRule *rule;
    CollectorRuleEffects fx;
    GQueue deliveries;  /* Delivery* */
    gboolean recorded;  /* a delivery recorded the UID (or set_uid did) */
    gboolean set_state; /* after the deliveries (notices), record @state */
    PrCollectorUidState state;
    gboolean dele;   /* DELE after the deliveries */
    gboolean failed; /* a delivery failed: no DELE */
} Msg;

struct _CollectorSession {
    CollectorModule *m;
    PrCollector *c;
    CollectorSettings *set;
    CollectorRouteConfig *route;
    CollectorPop3 *pop3;
    char *server; /* "host:port", for texts */
    GSource *lease_timer;
    gboolean claimed;
    gboolean stopping;
    gboolean renewing;
    gboolean end_pending; /* the end waits for a lease renewal in flight */
    gboolean ending;
    GError *error; /* what ended the session early */
    GPtrArray *listing;
    GHashTable *known;
    guint index;
    guint fetched;
    guint deleted;
    guint deleted_old;
    guint skipped; /* messages that could not be handled and stay on the server */
    guint active;  /* Msgs in hand */
    guint64 active_bytes;
    gboolean halted; /* no more messages: an error ended the session */
    gboolean no_top; /* TOP does not work at this server: RETR instead */
    gboolean pumping, pump_again;
    gboolean quitting;
};

static void pump(CollectorSession *s);
static void finish(CollectorSession *s);
static void route_message(Msg *msg);
static void run_deliveries(Msg *msg);
static void handle_new(Msg *msg);
static void download(Msg *msg);

gint64
collector_session_id(CollectorSession *s)
{
    return s->c->id;
}

static gint64
now_unix(void)
{
    return g_get_real_time() / G_USEC_PER_SEC;
}

/* ---- the message in hand ------------------------------------------------------ */

static void
delivery_free(Delivery *d)
{
    g_clear_pointer(&d->data, g_bytes_unref);
    g_clear_pointer(&d->rcpts, g_ptr_array_unref);
    g_free(d->what);
    g_free(d);
}

static void
msg_free(Msg *msg)
{
    if (msg == NULL)
        return;
    g_assert(msg->s->active > 0);
    msg->s->active--;
    msg->s->active_bytes -= msg->weight;
    collector_pop3_message_free(msg->message);
    g_clear_pointer(&msg->headers, collector_headers_free);
    g_clear_pointer(&msg->route, collector_route_free);
    g_clear_pointer(&msg->valid, g_ptr_array_unref);
    g_clear_pointer(&msg->unknown, g_ptr_array_unref);
    g_free(msg->sender);
    g_free(msg->token);
    g_clear_pointer(&msg->asked, g_ptr_array_unref);
    g_queue_clear_full(&msg->deliveries, (GDestroyNotify)delivery_free);
    g_free(msg);
}

static Msg *
msg_new(CollectorSession *s, const CollectorPop3Entry *e, guint64 weight)
{
    Msg *msg = g_new0(Msg, 1);

    msg->s = s;
    msg->entry = e;
    msg->weight = weight;
    s->active++;
    s->active_bytes += weight;
    return msg;
}

/* The message is handled (or given up): the next ones may start, or the
 * session end. Nothing may use @msg or its session after this. */
static void
msg_end(Msg *msg)
{
    CollectorSession *s = msg->s;

    msg_free(msg);
    pump(s);
}

static void
add_delivery(Msg *msg, GBytes *data, const char *rcpt, const GPtrArray *rcpts, gboolean collected,
             gboolean is_message, const char *what)
{
    Delivery *d = g_new0(Delivery, 1);

    d->data = g_bytes_ref(data);
    d->rcpts = g_ptr_array_new_with_free_func(g_free);
    if (rcpt != NULL)
        g_ptr_array_add(d->rcpts, g_strdup(rcpt));
    for (guint i = 0; rcpts != NULL && i < rcpts->len; i++)
        g_ptr_array_add(d->rcpts, g_strdup(rcpts->pdata[i]));
    d->collected = collected;
    d->is_message = is_message;
    d->routed = rcpts != NULL;
    d->what = g_strdup(what);
    g_queue_push_tail(&msg->deliveries, d);
}

static GBytes *
string_bytes(GString *t)
{
    gsize len = t->len;
    return g_bytes_new_take(g_string_free(t, FALSE), len);
}

/* ---- ending ----------------------------------------------------------------- */

static char *
result_text(CollectorSession *s)
{
    if (s->error != NULL && s->fetched == 0)
        return g_strdup(s->error->message);
    GString *t = g_string_new(NULL);
    g_string_append_printf(t, ngettext("%u message", "%u messages", s->fetched), s->fetched);
    if (s->deleted_old > 0)
        g_string_append_printf(
            t, ngettext(", %u old message deleted", ", %u old messages deleted", s->deleted_old),
            s->deleted_old);
    if (s->skipped > 0)
        g_string_append_printf(t,
                               ngettext(", %u left on the server after an error",
                                        ", %u left on the server after errors", s->skipped),
                               s->skipped);
    if (s->error != NULL)
        g_string_append_printf(t, _("; then: %s"), s->error->message);
    return g_string_free(t, FALSE);
}

static void
end_done(GObject *source, GAsyncResult *result, gpointer data)
{
    CollectorSession *s = data;
    g_autoptr(GError) error = NULL;

    if (!pr_collector_end_finish(s->m->host, result, &error))
        pr_log_event(G_LOG_LEVEL_WARNING, "COLLECTOR_STORE_FAILED",
                     "collector %s: the session's end was not recorded: %s", s->c->name,
                     error->message);
    collector_session_ended(s->m, s);
}

static void
really_end(CollectorSession *s)
{
    if (s->lease_timer != NULL) {
        g_source_destroy(s->lease_timer);
        g_clear_pointer(&s->lease_timer, g_source_unref);
    }
    if (!s->claimed) {
        collector_session_ended(s->m, s);
        return;
    }
    g_autofree char *text = result_text(s);
    pr_log_event(G_LOG_LEVEL_INFO, "COLLECTOR_SESSION_END", "collector %s: session ended: %s",
                 s->c->name, text);
    pr_collector_end_async(s->m->host, s->c->id, text, NULL, end_done, s);
}

static void
end_session(CollectorSession *s)
{
    s->ending = TRUE;
    if (s->renewing) {
        s->end_pending = TRUE;
        return;
    }
    really_end(s);
}

static void
closed(GObject *source, GAsyncResult *result, gpointer data)
{
    CollectorSession *s = data;

    collector_pop3_close_finish(s->pop3, result);
    end_session(s);
}

static void
close_connection(CollectorSession *s)
{
    collector_pop3_close_async(s->pop3, closed, s);
}

static void
quit_done(GObject *source, GAsyncResult *result, gpointer data)
{
    CollectorSession *s = data;
    g_autoptr(GError) error = NULL;

    if (!collector_pop3_quit_finish(s->pop3, result, &error)) {
        /* The server keeps what was DELE'd: the next session deletes it. */
        if (s->deleted > 0)
            pr_log_event(G_LOG_LEVEL_MESSAGE, "COLLECTOR_QUIT_FAILED",
                         "collector %s: QUIT failed (%s); the %u messages deleted in this "
                         "session are deleted again next time",
                         s->c->name, error->message, s->deleted);
        else
            g_debug("collector %s: QUIT failed: %s", s->c->name, error->message);
    }
    close_connection(s);
}

/* Once no message is in hand (pump()). */
static void
quit(CollectorSession *s)
{
    s->quitting = TRUE;
    if (s->pop3 == NULL) {
        end_session(s);
        return;
    }
    collector_pop3_quit_async(s->pop3, quit_done, s);
}

/* No more messages: the session QUITs when those in hand are done. */
static void
finish(CollectorSession *s)
{
    s->halted = TRUE;
    pump(s);
}

/* Ends the session early with @error (taken): the administrator is told.
 * A message calling this ends itself too (msg_end()). */
static void
fail(CollectorSession *s, GError *error)
{
    if (s->error == NULL) {
        collector_alert_error(s->m, s->c, s->server, error);
        s->error = error;
    } else {
        g_error_free(error);
    }
    finish(s);
}

/* A POP3 command failed: -ERR ends only the message in hand, anything else
 * the session. */
static gboolean
pop3_failed(CollectorSession *s, GError *error)
{
    if (g_error_matches(error, COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_REFUSED)) {
        collector_alert_error(s->m, s->c, s->server, error);
        g_error_free(error);
        s->skipped++;
        return FALSE;
    }
    fail(s, error);
    return TRUE;
}

/* ---- deleting ----------------------------------------------------------------- */

static void
dele_done(GObject *source, GAsyncResult *result, gpointer data)
{
    Msg *msg = data;
    CollectorSession *s = msg->s;
    GError *error = NULL;

    if (!collector_pop3_dele_finish(s->pop3, result, &error))
        pop3_failed(s, error);
    else
        s->deleted++;
    msg_end(msg);
}

static void
dele(Msg *msg)
{
    collector_pop3_dele_async(msg->s->pop3, msg->entry->msgno, dele_done, msg);
}

/* Whether a message downloaded before (first seen at @first_seen) is old
 * enough to be deleted at the ISP now. */
static gboolean
is_old(CollectorSession *s, gint64 first_seen)
{
    if (s->set->leave_days < 0)
        return FALSE;
    return now_unix() - first_seen >= (gint64)s->set->leave_days * 86400;
}

/* ---- after the deliveries ---------------------------------------------------------- */

static void
uid_set(GObject *source, GAsyncResult *result, gpointer data)
{
    Msg *msg = data;
    CollectorSession *s = msg->s;
    g_autoptr(GError) error = NULL;
    gboolean ok = g_async_result_is_tagged(result, pr_collector_query_uid_async)
                      ? pr_collector_query_uid_finish(s->m->host, result, &error)
                      : pr_collector_set_uid_finish(s->m->host, result, &error);

    if (!ok) {
        fail(s, g_error_copy(error));
        msg_end(msg);
        return;
    }
    msg->recorded = TRUE;
    if (msg->dele) {
        dele(msg);
        return;
    }
    msg_end(msg);
}

/* Records a message that was not downloaded (left, queried). */
static void
set_uid(Msg *msg, PrCollectorUidState state)
{
    CollectorSession *s = msg->s;

    /* A query notice's token goes with the state: a reply names it. */
    if (state == PR_COLLECTOR_UID_QUERIED && msg->token != NULL) {
        pr_collector_query_uid_async(s->m->host, s->c->id, msg->entry->uid, msg->token,
                                     (const char *const *)msg->asked->pdata, NULL, uid_set, msg);
        return;
    }
    pr_collector_set_uid_async(s->m->host, s->c->id, msg->entry->uid, state, NULL, uid_set, msg);
}

static void
message_done(Msg *msg)
{
    if (!msg->failed && msg->set_state) {
        msg->set_state = FALSE;
        set_uid(msg, msg->state);
        return;
    }
    if (msg->failed || !msg->recorded) {
        /* Left on the server, its UID unknown: tried again next session. */
        msg->s->skipped++;
        msg_end(msg);
        return;
    }
    if (msg->dele) {
        dele(msg);
        return;
    }
    msg_end(msg);
}

static void
delivered(GObject *source, GAsyncResult *result, gpointer data)
{
    Msg *msg = data;
    CollectorSession *s = msg->s;
    Delivery *d = g_queue_pop_head(&msg->deliveries);
    g_autoptr(GError) error = NULL;
    g_autoptr(PrDeliveryReport) report = pr_delivery_deliver_finish(s->m->host, result, &error);

    if (report != NULL && pr_delivery_report_get_stored(report)) {
        if (d->collected)
            msg->recorded = TRUE;
        if (d->is_message)
            s->fetched++;
        pr_log_event(G_LOG_LEVEL_INFO, "COLLECTOR_DELIVERED",
                     "collector %s: message %s (%" G_GUINT64_FORMAT " octets) %s", s->c->name,
                     msg->entry->uid, msg->entry->size, d->what);
    } else if (report == NULL &&
               (g_error_matches(error, PR_DELIVERY_ERROR, PR_DELIVERY_ERROR_TEMPORARY) ||
                g_error_matches(error, PR_DELIVERY_ERROR, PR_DELIVERY_ERROR_NO_SPACE))) {
        /* The store or the disk: nothing more can be delivered now. */
        GError *e = g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_REFUSED,
                                _("A collected message could not be stored (%s); it stays on the "
                                  "server and the session was ended"),
                                error->message);
        delivery_free(d);
        msg->failed = TRUE;
        s->skipped++;
        fail(s, e);
        msg_end(msg);
        return;
    } else {
        /* Permanent (too many hops, too big) or every recipient refused:
         * fetching it again would not help. */
        g_autoptr(GError) e = g_error_new(
            COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_REFUSED,
            _("A collected message (UID %s) could not be delivered (%s): %s; it is left on the "
              "server and not collected again"),
            msg->entry->uid, _(d->what),
            error != NULL ? error->message : _("every recipient was refused"));
        collector_alert_error(s->m, s->c, s->server, e);
        if (d->collected) {
            delivery_free(d);
            g_queue_clear_full(&msg->deliveries, (GDestroyNotify)delivery_free);
            msg->dele = FALSE;
            set_uid(msg, PR_COLLECTOR_UID_LEFT);
            return;
        }
    }
    delivery_free(d);
    run_deliveries(msg);
}

static void
run_deliveries(Msg *msg)
{
    CollectorSession *s = msg->s;
    Delivery *d = g_queue_peek_head(&msg->deliveries);

    if (d == NULL) {
        message_done(msg);
        return;
    }
    g_autoptr(PrEnvelope) env = pr_envelope_new(d->is_message ? msg->sender : "");
    for (guint i = 0; i < d->rcpts->len; i++)
        pr_envelope_add_recipient(env, d->rcpts->pdata[i], NULL, NULL);
    if (d->is_message)
        pr_envelope_set_client(env, NULL, s->set->server, "POP3");
    if (d->collected)
        pr_envelope_set_collected(env, s->c->id, msg->entry->uid);
    if (d->routed)
        pr_envelope_set_implicit_mapping(env, msg->route->implicit_mapping);
    /* Not cancellable: once the message is committed the UID must be
     * known to this session too. */
    if (d->is_message)
        pr_delivery_deliver_async(s->m->host, env, d->data, NULL, delivered, msg);
    else
        collector_deliver_text(
            s->m, d->rcpts->pdata[0],
            g_string_new_len(g_bytes_get_data(d->data, NULL), (gssize)g_bytes_get_size(d->data)),
            s->c->id, d->collected ? msg->entry->uid : NULL, delivered, msg);
}

/* ---- routing errors (VPOP3's six choices) ----------------------------------------- */

/* Never a bounce to the null sender or to a mailer-daemon: both are what
 * bounces come from, and answering them makes loops (RFC 3464 §2). */
static gboolean
bounce_allowed(const char *sender)
{
    if (sender == NULL || *sender == '\0')
        return FALSE;
    const char *at = strrchr(sender, '@');
    gsize local = at != NULL ? (gsize)(at - sender) : strlen(sender);
    return !(local == strlen("mailer-daemon") &&
             g_ascii_strncasecmp(sender, "mailer-daemon", local) == 0);
}

static void
plan_route_error(Msg *msg, gboolean first_is_collected)
{
    CollectorSession *s = msg->s;
    const char *target = NULL;
    CollectorRouteFail choice = collector_route_config_get_fail(s->route, &target);
    GBytes *data = msg->message->data;
    gboolean nobody = msg->unknown->len == 0;
    const char *admin = s->m->admin_address;

    if ((choice == COLLECTOR_ROUTE_FAIL_USER_ERROR ||
         choice == COLLECTOR_ROUTE_FAIL_USER_MESSAGE) &&
        (target == NULL || *target == '\0'))
        target = admin;
    switch (choice) {
    case COLLECTOR_ROUTE_FAIL_ADMIN_ERROR:
    case COLLECTOR_ROUTE_FAIL_USER_ERROR: {
        const char *to = choice == COLLECTOR_ROUTE_FAIL_ADMIN_ERROR ? admin : target;
        if (nobody) {
            g_autoptr(GBytes) t = string_bytes(collector_text_nonexistent(
                s->m, s->c, s->server, _("(no recipient found in the message)"), msg->headers, to,
                FALSE));
            add_delivery(msg, t, to, NULL, first_is_collected, FALSE, N_("routing error notice"));
        }
        for (guint i = 0; i < msg->unknown->len; i++) {
            g_autoptr(GBytes) t = string_bytes(collector_text_nonexistent(
                s->m, s->c, s->server, msg->unknown->pdata[i], msg->headers, to, FALSE));
            add_delivery(msg, t, to, NULL, first_is_collected && i == 0, FALSE,
                         N_("non-existent user alert"));
        }
        break;
    }
    case COLLECTOR_ROUTE_FAIL_ADMIN_MESSAGE:
    case COLLECTOR_ROUTE_FAIL_USER_MESSAGE: {
        const char *to = choice == COLLECTOR_ROUTE_FAIL_ADMIN_MESSAGE ? admin : target;
        add_delivery(msg, data, to, NULL, first_is_collected, TRUE,
                     N_("delivered to the routing error target"));
        break;
    }
    case COLLECTOR_ROUTE_FAIL_BOUNCE:
        if (bounce_allowed(msg->sender) && !nobody) {
            g_autoptr(GBytes) t = string_bytes(
                collector_text_bounce(s->m, msg->sender, msg->unknown, msg->headers, data));
            add_delivery(msg, t, msg->sender, NULL, first_is_collected, FALSE,
                         N_("bounced to its sender"));
            break;
        }
        /* Nobody to bounce to, or nobody it was for: dropped, as VPOP3
         * must not send backscatter. */
        G_GNUC_FALLTHROUGH;
    case COLLECTOR_ROUTE_FAIL_DISCARD:
        if (first_is_collected) {
            pr_log_event(G_LOG_LEVEL_MESSAGE, "COLLECTOR_DISCARDED",
                         "collector %s: message %s discarded (no recipient here)", s->c->name,
                         msg->entry->uid);
            msg->recorded = FALSE;
            /* Recorded as left, then deleted as for a delivered one. */
            g_queue_clear_full(&msg->deliveries, (GDestroyNotify)delivery_free);
            msg->dele = msg->dele || s->set->leave_days == 0;
            set_uid(msg, PR_COLLECTOR_UID_LEFT);
            return;
        }
        break;
    }
    run_deliveries(msg);
}

/* ---- delivering --------------------------------------------------------------------- */

/* Plans the deliveries of a downloaded message: to its recipients (or a
 * download rule's target), and what the routing errors need. */
static void
deliver(Msg *msg)
{
    CollectorSession *s = msg->s;
    GBytes *data = msg->message->data;
    CollectorRuleEffects fx = msg->rule != NULL ? msg->fx : COLLECTOR_RULE_FX_DELIVER_RCPTS;
    const char *target = msg->rule != NULL ? collector_rule_get_target(msg->rule) : NULL;
    gboolean planned = FALSE;

    msg->dele = s->set->leave_days == 0 || (fx & COLLECTOR_RULE_FX_DELETE) != 0;
    if ((fx & COLLECTOR_RULE_FX_DELIVER_RCPTS) && msg->valid->len > 0) {
        add_delivery(msg, data, NULL, msg->valid, TRUE, TRUE, N_("delivered"));
        planned = TRUE;
    }
    if ((fx & COLLECTOR_RULE_FX_DELIVER_TARGET) && target != NULL) {
        add_delivery(msg, data, target, NULL, !planned, TRUE, N_("delivered to the rule's target"));
        planned = TRUE;
    }
    if ((fx & COLLECTOR_RULE_FX_DELIVER_RCPTS) && (msg->unknown->len > 0 || msg->valid->len == 0)) {
        plan_route_error(msg, !planned);
        return;
    }
    run_deliveries(msg);
}

/* A message whose download ends after the session was halted is not
 * handled: it stays on the server, its UID unknown, as those not begun. */
static gboolean
abandoned(Msg *msg)
{
    if (!msg->s->halted && !msg->s->stopping)
        return FALSE;
    g_debug("collector %s: message %s left for the next session", msg->s->c->name, msg->entry->uid);
    msg_end(msg);
    return TRUE;
}

static void
fetched(GObject *source, GAsyncResult *result, gpointer data)
{
    Msg *msg = data;
    CollectorSession *s = msg->s;
    GError *error = NULL;

    msg->message = collector_pop3_fetch_finish(s->pop3, result, &error);
    if (msg->message == NULL) {
        pop3_failed(s, error);
        msg_end(msg);
        return;
    }
    /* What it holds, if LIST said less: later messages wait for room. */
    if (msg->message->octets > msg->weight) {
        s->active_bytes += msg->message->octets - msg->weight;
        msg->weight = msg->message->octets;
    }
    if (abandoned(msg))
        return;
    if (msg->message->oversize) {
        g_autoptr(GError) e =
            g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_REFUSED,
                        _("A message (UID %s, %llu octets) is larger than [delivery] "
                          "max_message_size; it is left on the server and not collected again"),
                        msg->entry->uid, (unsigned long long)msg->message->octets);
        collector_alert_error(s->m, s->c, s->server, e);
        msg->dele = FALSE;
        set_uid(msg, PR_COLLECTOR_UID_LEFT);
        return;
    }
    if (msg->message->nuls > 0) {
        if (s->set->nul == COLLECTOR_NUL_REFUSE) {
            /* VPOP3: not downloaded, the administrator told, the session
             * stopped. It stays on the server. */
            s->skipped++;
            fail(s, g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_REFUSED,
                                _("Data stream contained NUL character: the message with UID %s "
                                  "(%llu NUL octets) was not collected and the session was "
                                  "stopped. Set the collector's nul option to remove or "
                                  "replace to collect it."),
                                msg->entry->uid, (unsigned long long)msg->message->nuls));
            msg_end(msg);
            return;
        }
        pr_log_event(G_LOG_LEVEL_MESSAGE, "COLLECTOR_NUL",
                     "collector %s: message %s had %" G_GUINT64_FORMAT " NUL octets (%s)",
                     s->c->name, msg->entry->uid, msg->message->nuls,
                     s->set->nul == COLLECTOR_NUL_REMOVE ? "removed" : "replaced");
    }
    gboolean route = msg->headers == NULL;
    if (route) {
        gsize len = 0;
        const char *text = g_bytes_get_data(msg->message->data, &len);
        msg->headers = collector_headers_parse(text, len);
    }
    /* The ISP's Return-Path goes (its first address is the envelope
     * sender, envelope_sender()); the delivery writes ours: one in the end. */
    GBytes *stripped = collector_message_remove_field(msg->message->data, "Return-Path", NULL);
    g_bytes_unref(msg->message->data);
    msg->message->data = stripped;
    if (route) {
        route_message(msg);
        return;
    }
    deliver(msg);
}

static void
fetch(Msg *msg)
{
    CollectorSession *s = msg->s;
    /* The host refuses more than max_message_size; read a little more so
     * that "too big" is the delivery's verdict, with its text. */
    gsize bound = (gsize)s->m->max_message_size + 64 * 1024;

    collector_pop3_fetch_async(s->pop3, msg->entry->msgno, -1, bound, s->set->nul, s->set->nul_char,
                               fetched, msg);
}

/* The message is to be downloaded: it may be already (RETR stood in for
 * TOP). */
static void
download(Msg *msg)
{
    if (msg->message != NULL) {
        deliver(msg);
        return;
    }
    fetch(msg);
}

/* ---- download rules, size limit ----------------------------------------------------- */

static void
notice_recipients(Msg *msg, const GPtrArray *to, const char *subject, const char *body)
{
    CollectorSession *s = msg->s;

    for (guint i = 0; to != NULL && i < to->len; i++) {
        g_autoptr(GBytes) t = string_bytes(
            collector_text_notice(s->m, s->c, to->pdata[i], subject, body, msg->headers));
        add_delivery(msg, t, to->pdata[i], NULL, FALSE, FALSE, N_("notice"));
    }
}

/* Too big for the collector's max_size, or a Query rule: the message stays
 * on the server, its recipients are told. */
static void
query(Msg *msg, const GPtrArray *to)
{
    CollectorSession *s = msg->s;

    if (msg->queried) {
        /* Asked before: still held back, nothing to say again. */
        msg_end(msg);
        return;
    }
    const GPtrArray *rcpts = to != NULL && to->len > 0 ? to : NULL;
    g_autoptr(GPtrArray) admin = g_ptr_array_new();

    if (rcpts == NULL) {
        g_ptr_array_add(admin, s->m->admin_address);
        rcpts = admin;
    }
    /* Without an address to reply to (or randomness), the notice asks the
     * recipients to see the administrator (postroomctl collector fetch). */
    g_autoptr(GError) error = NULL;
    if (s->m->query_address != NULL && (msg->token = collector_token_new(&error)) == NULL)
        g_warning(_("No token for a query notice: %s"), error->message);
    msg->asked = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < rcpts->len; i++) {
        g_autoptr(GBytes) t =
            string_bytes(collector_query_notice(s->m, s->c, rcpts->pdata[i], msg->token,
                                                msg->entry->size, msg->rule != NULL, msg->headers));
        add_delivery(msg, t, rcpts->pdata[i], NULL, FALSE, FALSE, N_("notice"));
        g_ptr_array_add(msg->asked, g_strdup(rcpts->pdata[i]));
    }
    g_ptr_array_add(msg->asked, NULL);
    /* The notices first, then the state: a notice lost in a crash is sent
     * again rather than never. */
    msg->dele = FALSE;
    msg->set_state = TRUE;
    msg->state = PR_COLLECTOR_UID_QUERIED;
    run_deliveries(msg);
}

static void
log_rule(Msg *msg)
{
    CollectorSession *s = msg->s;
    const char *subject = collector_headers_lookup(msg->headers, "Subject");
    const char *from = collector_headers_lookup(msg->headers, "From");
    const char *target = collector_rule_get_target(msg->rule);
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *stamp = g_date_time_format(now, "%Y-%m-%d %H:%M:%S");
    g_autofree char *line = g_strdup_printf(
        "%s collector %" G_GINT64_FORMAT " (%s): rule \"%s\": %s%s%s; UID %s, %" G_GUINT64_FORMAT
        " octets, from %s, subject %s",
        stamp, s->c->id, s->c->name, collector_rule_get_name(msg->rule),
        collector_rule_action_name(collector_rule_get_action(msg->rule)),
        target != NULL ? " to " : "", target != NULL ? target : "", msg->entry->uid,
        msg->entry->size, from != NULL ? from : "-", subject != NULL ? subject : "-");
    collector_rules_log(s->m, line);
}

/* The message's recipients are known (routed and checked): apply the
 * download rules, the size limit, or download it. */
static void
decide(Msg *msg)
{
    CollectorSession *s = msg->s;

    if (msg->message != NULL && !msg->retr_for_top) {
        deliver(msg);
        return;
    }
    if (s->set->use_rules && s->m->rules != NULL && !msg->requested) {
        g_autoptr(GDateTime) now = g_date_time_new_now_local();
        g_autofree CollectorRuleRecipient *rcpts =
            g_new0(CollectorRuleRecipient, msg->valid->len + msg->unknown->len + 1);
        guint n = 0;
        for (guint i = 0; i < msg->valid->len; i++)
            rcpts[n++] = (CollectorRuleRecipient){ msg->valid->pdata[i], TRUE };
        for (guint i = 0; i < msg->unknown->len; i++)
            rcpts[n++] = (CollectorRuleRecipient){ msg->unknown->pdata[i], FALSE };
        CollectorMessageSummary summary = {
            .headers = msg->headers,
            .size = msg->entry->size,
            .now = now,
            .recipients = rcpts,
            .n_recipients = n,
            .collector_id = s->c->id,
        };
        msg->rule = collector_rules_evaluate(s->m->rules, &summary);
        if (msg->rule != NULL) {
            CollectorRuleEffects fx =
                collector_rule_action_effects(collector_rule_get_action(msg->rule));
            const char *target = collector_rule_get_target(msg->rule);
            msg->fx = fx;
            log_rule(msg);
            if (fx & COLLECTOR_RULE_FX_DOWNLOAD) {
                download(msg);
                return;
            }
            if (fx & COLLECTOR_RULE_FX_WARN_RCPTS) {
                g_autofree char *body = g_strdup_printf(
                    _("A message for you was deleted on the mail server of your Internet "
                      "provider without being downloaded (download rule \"%s\")."),
                    collector_rule_get_name(msg->rule));
                notice_recipients(msg, msg->valid, _("A message was deleted unread"), body);
            }
            if (fx & (COLLECTOR_RULE_FX_QUERY_RCPTS | COLLECTOR_RULE_FX_QUERY_TARGET)) {
                g_autoptr(GPtrArray) to = g_ptr_array_new();
                if (fx & COLLECTOR_RULE_FX_QUERY_RCPTS)
                    for (guint i = 0; i < msg->valid->len; i++)
                        g_ptr_array_add(to, msg->valid->pdata[i]);
                if ((fx & COLLECTOR_RULE_FX_QUERY_TARGET) && target != NULL)
                    g_ptr_array_add(to, (gpointer)target);
                query(msg, to);
                return;
            }
            if (fx & COLLECTOR_RULE_FX_LEAVE) {
                msg->dele = FALSE;
                set_uid(msg, PR_COLLECTOR_UID_LEFT);
                return;
            }
            if (fx & COLLECTOR_RULE_FX_DELETE) {
                /* Deleted unread: the notices first (if any), then DELE.
                 * Not recorded: if QUIT fails, the rule decides again. */
                msg->recorded = TRUE;
                msg->dele = TRUE;
                run_deliveries(msg);
                return;
            }
        }
    }
    if (s->set->max_size > 0 && msg->entry->size > s->set->max_size && !msg->requested) {
        query(msg, msg->valid);
        return;
    }
    download(msg);
}

/* ---- routing ------------------------------------------------------------------------ */

static void check_next(Msg *msg);

static void
checked(GObject *source, GAsyncResult *result, gpointer data)
{
    Msg *msg = data;
    CollectorSession *s = msg->s;
    g_autoptr(GError) error = NULL;
    PrRecipientStatus st = pr_delivery_check_recipient_finish(s->m->host, result, &error);
    const CollectorRecipient *r = msg->route->recipients->pdata[msg->checking++];
    gboolean headers = collector_route_config_get_routing(s->route) == COLLECTOR_ROUTING_HEADERS;

    if (error != NULL) {
        s->skipped++;
        fail(s, g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_REFUSED,
                            _("The recipients of a collected message could not be checked: %s"),
                            error->message));
        msg_end(msg);
        return;
    }
    switch (st) {
    case PR_RECIPIENT_LOCAL:
        g_ptr_array_add(msg->valid, g_strdup(r->address));
        break;
    case PR_RECIPIENT_REMOTE:
        /* deliver_to may be an outside address on purpose; an address
         * found in the headers that maps out (*REMOTE: users who collect
         * their own mail) is not ours to deliver (VPOP3 §2.9). */
        if (!headers)
            g_ptr_array_add(msg->valid, g_strdup(r->address));
        else
            g_debug("collector %s: %s (from %s) is handled elsewhere; ignored", s->c->name,
                    r->address, r->source);
        break;
    case PR_RECIPIENT_UNKNOWN:
        g_ptr_array_add(msg->unknown, g_strdup(r->address));
        break;
    case PR_RECIPIENT_REFUSED:
    case PR_RECIPIENT_LOOP:
    case PR_RECIPIENT_INVALID:
        pr_log_event(G_LOG_LEVEL_MESSAGE, "COLLECTOR_RECIPIENT_IGNORED",
                     "collector %s: message %s: recipient %s (from %s) ignored (%s)", s->c->name,
                     msg->entry->uid, r->address, r->source,
                     st == PR_RECIPIENT_REFUSED ? "the list takes only local senders"
                     : st == PR_RECIPIENT_LOOP  ? "already delivered there"
                                                : "not an address");
        break;
    }
    check_next(msg);
}

static void
check_next(Msg *msg)
{
    CollectorSession *s = msg->s;

    if (s->stopping) {
        s->skipped++;
        msg_end(msg);
        return;
    }
    if (msg->checking >= msg->route->recipients->len) {
        decide(msg);
        return;
    }
    const CollectorRecipient *r = msg->route->recipients->pdata[msg->checking];
    g_autoptr(PrEnvelope) env = pr_envelope_new(msg->sender);
    pr_envelope_set_implicit_mapping(env, msg->route->implicit_mapping);
    pr_delivery_check_recipient_async(s->m->host, env, r->address, NULL, checked, msg);
}

/* The envelope sender of a collected message: its Return-Path, else the
 * first From address, else the null sender. */
static char *
envelope_sender(const CollectorHeaders *headers)
{
    const char *rp = collector_headers_lookup(headers, "Return-Path");
    if (rp != NULL) {
        g_autoptr(GPtrArray) a = collector_address_list_parse(rp, NULL);
        if (a != NULL && a->len > 0)
            return g_strdup(a->pdata[0]);
        if (strstr(rp, "<>") != NULL)
            return g_strdup("");
    }
    const char *from = collector_headers_lookup(headers, "From");
    if (from != NULL) {
        g_autoptr(GPtrArray) a = collector_address_list_parse(from, NULL);
        if (a != NULL && a->len > 0)
            return g_strdup(a->pdata[0]);
    }
    return g_strdup("");
}

static void
route_message(Msg *msg)
{
    CollectorSession *s = msg->s;

    g_free(msg->sender);
    msg->sender = envelope_sender(msg->headers);
    msg->route = collector_route_message(s->route, msg->headers);
    msg->valid = g_ptr_array_new_with_free_func(g_free);
    msg->unknown = g_ptr_array_new_with_free_func(g_free);
    msg->checking = 0;
    for (guint i = 0; i < msg->route->rejected->len; i++) {
        const CollectorRecipient *r = msg->route->rejected->pdata[i];
        g_debug("collector %s: message %s: %s (from %s) is not in accepted_domains", s->c->name,
                msg->entry->uid, r->address, r->source);
    }
    check_next(msg);
}

static void
top_fetched(GObject *source, GAsyncResult *result, gpointer data)
{
    Msg *msg = data;
    CollectorSession *s = msg->s;
    GError *error = NULL;
    g_autoptr(CollectorPop3Message) top = collector_pop3_fetch_finish(s->pop3, result, &error);

    if (top == NULL &&
        g_error_matches(error, COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_UNSUPPORTED)) {
        /* No TOP at this ISP: the header comes with the whole message, and
         * the decision is made on it before it is delivered (decide()). */
        if (!s->no_top)
            pr_log_event(G_LOG_LEVEL_MESSAGE, "COLLECTOR_NO_TOP",
                         "collector %s: the server refused TOP (%s); headers are read with RETR "
                         "for the rest of the session",
                         s->c->name, error->message);
        s->no_top = TRUE;
        g_error_free(error);
        if (abandoned(msg))
            return;
        msg->retr_for_top = TRUE;
        fetch(msg);
        return;
    }
    if (top == NULL) {
        pop3_failed(s, error);
        msg_end(msg);
        return;
    }
    if (abandoned(msg))
        return;
    gsize len = 0;
    const char *text = g_bytes_get_data(top->data, &len);
    msg->headers = collector_headers_parse(text, len);
    route_message(msg);
}

/* ---- the messages ------------------------------------------------------------------- */

static void
handle_new(Msg *msg)
{
    CollectorSession *s = msg->s;
    const CollectorPop3Entry *e = msg->entry;
    gboolean rules = s->set->use_rules && s->m->rules != NULL && !msg->requested;
    gboolean too_big = s->set->max_size > 0 && e->size > s->set->max_size && !msg->requested;

    /* The header first when something must be decided before RETR; the
     * whole message when the server has no TOP. */
    if ((rules || too_big) && (s->no_top || !collector_pop3_has_top(s->pop3))) {
        s->no_top = TRUE;
        msg->retr_for_top = TRUE;
        fetch(msg);
        return;
    }
    if (rules || too_big) {
        collector_pop3_fetch_async(s->pop3, e->msgno, 0, 0, COLLECTOR_NUL_REPLACE, ' ', top_fetched,
                                   msg);
        return;
    }
    fetch(msg);
}

/* Starts handling the listing's message @e, if there is anything to do. */
static void
start_message(CollectorSession *s, const CollectorPop3Entry *e)
{
    const PrCollectorUid *known = g_hash_table_lookup(s->known, e->uid);
    Msg *msg;

    if (known == NULL) {
        handle_new(msg_new(s, e, e->size));
        return;
    }
    switch (known->state) {
    case PR_COLLECTOR_UID_DOWNLOADED:
        if (is_old(s, known->first_seen)) {
            /* leave_days 0: downloaded by a session whose DELE did not
             * take effect (a crash, a dropped QUIT). */
            if (s->set->leave_days > 0) {
                pr_log_event(G_LOG_LEVEL_MESSAGE, "COLLECTOR_DELETE_OLD",
                             "collector %s: deleting old message %s (first seen %" G_GINT64_FORMAT
                             " days ago)",
                             s->c->name, e->uid, (now_unix() - known->first_seen) / 86400);
                s->deleted_old++;
            }
            dele(msg_new(s, e, 0));
            return;
        }
        break;
    case PR_COLLECTOR_UID_REQUESTED:
        /* Asked for by a reply within COLLECTOR_QUERY_DAYS of the notice
         * (collector-query.c) or by the administrator: fetched, however
         * long ago it was first seen. */
        msg = msg_new(s, e, e->size);
        msg->requested = TRUE;
        fetch(msg);
        return;
    case PR_COLLECTOR_UID_QUERIED:
        /* Decided again each session: once the limit or the rules let
         * it through, it is downloaded. */
        msg = msg_new(s, e, e->size);
        msg->queried = TRUE;
        handle_new(msg);
        return;
    case PR_COLLECTOR_UID_LEFT:
        break;
    }
}

/* Whether the next message of the listing may start now. */
static gboolean
room(CollectorSession *s)
{
    const CollectorPop3Entry *e = s->listing->pdata[s->index];

    return s->active == 0 ||
           (s->active < COLLECTOR_WINDOW && s->active_bytes + e->size <= COLLECTOR_WINDOW_BYTES);
}

/* Starts the next messages while there is room; QUITs once nothing is in
 * hand and nothing more is to be done. Called again from within (a message
 * may end at once), it only asks the outer call to look again. */
static void
pump(CollectorSession *s)
{
    if (s->pumping) {
        s->pump_again = TRUE;
        return;
    }
    s->pumping = TRUE;
    do {
        s->pump_again = FALSE;
        while (!s->halted && !s->stopping && s->listing != NULL && s->known != NULL &&
               s->index < s->listing->len && room(s))
            start_message(s, s->listing->pdata[s->index++]);
    } while (s->pump_again);
    s->pumping = FALSE;
    if (s->active == 0 && !s->quitting &&
        (s->halted || s->stopping || s->listing == NULL || s->index >= s->listing->len))
        quit(s);
}

static void
uids_done(GObject *source, GAsyncResult *result, gpointer data)
{
    CollectorSession *s = data;
    g_autoptr(GError) error = NULL;

    s->known = pr_collector_uids_finish(s->m->host, result, &error);
    if (s->known == NULL) {
        fail(s, g_error_new(COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_REFUSED,
                            _("The collector's UIDs could not be read from the store: %s"),
                            error->message));
        return;
    }
    guint new_count = 0;
    for (guint i = 0; i < s->listing->len; i++) {
        const CollectorPop3Entry *e = s->listing->pdata[i];
        if (!g_hash_table_contains(s->known, e->uid))
            new_count++;
    }
    pr_log_event(G_LOG_LEVEL_INFO, "COLLECTOR_LISTED",
                 "collector %s: %u messages on the server, %u new", s->c->name, s->listing->len,
                 new_count);
    pump(s);
}

static void
check_uids(CollectorSession *s)
{
    g_autoptr(GPtrArray) listed = g_ptr_array_new();

    for (guint i = 0; i < s->listing->len; i++)
        g_ptr_array_add(listed, ((CollectorPop3Entry *)s->listing->pdata[i])->uid);
    pr_collector_uids_async(s->m->host, s->c->id, listed, NULL, uids_done, s);
}

static void
listed(GObject *source, GAsyncResult *result, gpointer data)
{
    CollectorSession *s = data;
    GError *error = NULL;

    s->listing = collector_pop3_listing_finish(s->pop3, result, &error);
    if (s->listing == NULL) {
        fail(s, error);
        return;
    }
    check_uids(s);
}

static void
stat_done(GObject *source, GAsyncResult *result, gpointer data)
{
    CollectorSession *s = data;
    GError *error = NULL;
    guint count = 0;
    guint64 size = 0;

    if (!collector_pop3_stat_finish(s->pop3, result, &count, &size, &error)) {
        fail(s, error);
        return;
    }
    if (count == 0) {
        /* Nothing to list: old servers (QPOP 2.53) drop the connection on
         * LIST of an empty mailbox. The store still learns that every UID
         * it knows is gone. */
        s->listing = g_ptr_array_new();
        check_uids(s);
        return;
    }
    collector_pop3_listing_async(s->pop3, listed, s);
}

static void
logged_in(GObject *source, GAsyncResult *result, gpointer data)
{
    CollectorSession *s = data;
    GError *error = NULL;

    if (!collector_pop3_login_finish(s->pop3, result, &error)) {
        fail(s, error);
        return;
    }
    if (s->stopping) {
        finish(s);
        return;
    }
    collector_pop3_stat_async(s->pop3, stat_done, s);
}

/* ---- claiming --------------------------------------------------------------------- */

static void
renewed(GObject *source, GAsyncResult *result, gpointer data)
{
    CollectorSession *s = data;
    g_autoptr(GError) error = NULL;
    gboolean held = pr_collector_begin_finish(s->m->host, result, &error);

    s->renewing = FALSE;
    if (!held && error == NULL) {
        pr_log_event(G_LOG_LEVEL_WARNING, "COLLECTOR_CLAIM_LOST",
                     "collector %s: another instance took the collector over; stopping",
                     s->c->name);
        collector_session_stop(s);
    } else if (!held) {
        g_debug("collector %s: the claim was not renewed: %s", s->c->name, error->message);
    }
    if (s->end_pending) {
        s->end_pending = FALSE;
        really_end(s);
    }
}

static gboolean
renew(gpointer data)
{
    CollectorSession *s = data;

    if (!s->renewing && !s->ending) {
        s->renewing = TRUE;
        pr_collector_begin_async(s->m->host, s->c->id, (guint)s->m->claim_lease, NULL, renewed, s);
    }
    return G_SOURCE_CONTINUE;
}

static void
claimed(GObject *source, GAsyncResult *result, gpointer data)
{
    CollectorSession *s = data;
    g_autoptr(GError) error = NULL;
    GError *local = NULL;

    s->claimed = pr_collector_begin_finish(s->m->host, result, &error);
    if (!s->claimed) {
        if (error != NULL)
            pr_log_event(G_LOG_LEVEL_WARNING, "COLLECTOR_STORE_FAILED",
                         "collector %s: could not be claimed: %s", s->c->name, error->message);
        else
            g_debug("collector %s: another instance runs it", s->c->name);
        end_session(s);
        return;
    }
    s->lease_timer = g_timeout_source_new_seconds((guint)MAX(s->m->claim_lease / 3, 5));
    g_source_set_callback(s->lease_timer, renew, s, NULL);
    g_source_attach(s->lease_timer, NULL);
    if (s->stopping) {
        end_session(s);
        return;
    }

    s->set = collector_settings_new(s->c, &local);
    if (s->set == NULL) {
        fail(s, local);
        return;
    }
    s->route = collector_route_config_new(s->c->options, &local);
    if (s->route == NULL) {
        fail(s, local);
        return;
    }
    GTlsDatabase *ca = NULL;
    if (s->set->ca_file != NULL) {
        ca = collector_ca_database(s->m, s->set->ca_file, &local);
        if (ca == NULL) {
            fail(s, local);
            return;
        }
    }
    g_free(s->server);
    s->server = g_strdup_printf("%s:%u", s->set->server, s->set->port);
    CollectorPop3Options o = {
        .server = s->set->server,
        .port = s->set->port,
        .tls = s->set->tls,
        .verify_cert = s->set->verify_cert,
        .ca = ca,
        .auth = s->set->auth,
        .username = s->set->username,
        .password = s->set->password,
        .connect_timeout = (guint)s->m->connect_timeout,
        .command_timeout = (guint)s->m->command_timeout,
        .no_pipelining = !s->set->pipelining,
    };
    s->pop3 = collector_pop3_new(&o);
    pr_log_event(G_LOG_LEVEL_INFO, "COLLECTOR_SESSION_START",
                 "collector %s: session with %s started", s->c->name, s->server);
    collector_pop3_login_async(s->pop3, logged_in, s);
}

void
collector_session_start(CollectorModule *m, PrCollector *collector)
{
    CollectorSession *s = g_new0(CollectorSession, 1);

    s->m = m;
    s->c = collector;
    s->server = g_strdup(pr_collector_get_option(collector, "server", "-"));
    g_hash_table_insert(m->sessions, &s->c->id, s);
    pr_collector_begin_async(m->host, collector->id, (guint)m->claim_lease, NULL, claimed, s);
}

/* Shutdown, or the claim was lost: the step in flight ends (a delivery is
 * waited for), nothing more is downloaded. */
void
collector_session_stop(CollectorSession *s)
{
    s->stopping = TRUE;
    if (s->pop3 != NULL)
        collector_pop3_abort(s->pop3);
}

void
collector_session_free(CollectorSession *s)
{
    if (s->lease_timer != NULL) {
        g_source_destroy(s->lease_timer);
        g_source_unref(s->lease_timer);
    }
    /* Ended only once every message was done. */
    g_warn_if_fail(s->active == 0);
    collector_pop3_free(s->pop3);
    g_clear_pointer(&s->listing, g_ptr_array_unref);
    g_clear_pointer(&s->known, g_hash_table_unref);
    g_clear_pointer(&s->route, collector_route_config_free);
    collector_settings_free(s->set);
    g_clear_error(&s->error);
    g_free(s->server);
    pr_collector_free(s->c);
    g_free(s);
}
