/* SPDX-License-Identifier: GPL-3.0-or-later */

/* What an attempt means for the queue: the retry schedule (doubling from
 * retry_initial up to retry_max), giving up once an entry is older than
 * give_up_after, the one delay warning after warn_after, RFC 3461 NOTIFY,
 * and the smarthosts' "at most N recipients per period". */

#include "postroom-config.h"

#include <string.h>

#include "sender.h"

gint64
sender_retry_delay(const SenderConfig *config, int attempts)
{
    gint64 delay = config->retry_initial;

    for (int i = 0; i < attempts && delay < config->retry_max; i++)
        delay *= 2;
    return MIN(delay, config->retry_max);
}

/* RFC 3461 §4.1: without NOTIFY the MTA decides; Postroom then reports
 * failures and delays, as most MTAs do. */
gboolean
sender_notify_allows(const PrQueueEntry *entry, const char *what)
{
    const char *notify = entry->notify != NULL ? entry->notify : "";

    if (*notify == '\0')
        return g_ascii_strcasecmp(what, "SUCCESS") != 0;
    g_auto(GStrv) words = g_strsplit(notify, ",", -1);
    for (guint i = 0; words[i] != NULL; i++) {
        if (g_ascii_strcasecmp(g_strstrip(words[i]), what) == 0)
            return TRUE;
    }
    return FALSE;
}

/* @attempts counts earlier attempts, so the first deferral waits
 * retry_initial. An entry that has waited give_up_after fails on its next
 * temporary error, whatever the schedule says. */
void
sender_decide(const SenderConfig *config, const PrQueueEntry *entry, SenderResult result,
              gint64 now, PrQueueOutcome *outcome, gint64 *next_try, gboolean *gave_up,
              gboolean *notice)
{
    gboolean bounce = entry->sender[0] != '\0';

    *next_try = now;
    *gave_up = FALSE;
    *notice = FALSE;
    switch (result) {
    case SENDER_RESULT_OK:
        *outcome = PR_QUEUE_DELIVERED;
        return;
    case SENDER_RESULT_RELEASE:
        *outcome = PR_QUEUE_RELEASE;
        return;
    case SENDER_RESULT_PERMANENT:
        *outcome = PR_QUEUE_FAILED;
        *notice = bounce && sender_notify_allows(entry, "FAILURE");
        return;
    case SENDER_RESULT_TEMPORARY:
    default:
        break;
    }
    if (now - entry->created >= config->give_up_after) {
        *outcome = PR_QUEUE_FAILED;
        *gave_up = TRUE;
        *notice = bounce && sender_notify_allows(entry, "FAILURE");
        return;
    }
    *outcome = PR_QUEUE_DEFERRED;
    *next_try = now + sender_retry_delay(config, entry->attempts);
    if (config->warn_after > 0 && entry->warned == 0 &&
        now - entry->created >= config->warn_after && bounce &&
        sender_notify_allows(entry, "DELAY")) {
        *outcome = PR_QUEUE_DEFERRED_WARNED;
        *notice = TRUE;
    }
}

static void
rate_expire(SenderRate *rate, gint64 now)
{
    while (!g_queue_is_empty(&rate->times)) {
        gint64 t = GPOINTER_TO_SIZE(g_queue_peek_head(&rate->times));
        if (t > now - rate->period)
            break;
        g_queue_pop_head(&rate->times);
    }
}

/* Takes up to @wanted recipients out of what the period still allows now;
 * @next_free is when one more will be allowed. The recipients count from
 * the moment a session is given them, whether or not it gets through: an
 * ISP's hourly cap counts attempts too. */
guint
sender_rate_take(SenderRate *rate, guint wanted, gint64 now, gint64 *next_free)
{
    guint used, granted;

    *next_free = now;
    if (rate->limit == 0)
        return wanted;
    rate_expire(rate, now);
    used = g_queue_get_length(&rate->times);
    granted = used >= rate->limit ? 0 : MIN(wanted, rate->limit - used);
    for (guint i = 0; i < granted; i++)
        g_queue_push_tail(&rate->times, GSIZE_TO_POINTER((gsize)now));
    if (granted < wanted && !g_queue_is_empty(&rate->times))
        *next_free = (gint64)GPOINTER_TO_SIZE(g_queue_peek_head(&rate->times)) + rate->period;
    return granted;
}

void
sender_rate_clear(SenderRate *rate)
{
    g_queue_clear(&rate->times);
}
