/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "poller.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#define MAX_EVENTS 256

struct _PollerWatch {
    int fd;
    PollerFunc func;
    gpointer data;
    gboolean removed;
};

typedef struct {
    GSource source;
    int epfd;
    gboolean dispatching;
    GPtrArray *removed; /* freed after the batch that may still name them */
} PollerSource;

static PollerSource *poller;

static gboolean
poller_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
    PollerSource *p = (PollerSource *)source;
    struct epoll_event events[MAX_EVENTS];
    int n = epoll_wait(p->epfd, events, MAX_EVENTS, 0);

    p->dispatching = TRUE;
    for (int i = 0; i < n; i++) {
        PollerWatch *w = events[i].data.ptr;
        if (!w->removed)
            w->func(w->data);
    }
    p->dispatching = FALSE;
    g_ptr_array_set_size(p->removed, 0);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs poller_funcs = { NULL, NULL, poller_dispatch, NULL, NULL, NULL };

static PollerSource *
poller_get(void)
{
    if (poller == NULL) {
        int epfd = epoll_create1(EPOLL_CLOEXEC);
        if (epfd < 0)
            g_error("epoll_create1: %s", g_strerror(errno));
        poller = (PollerSource *)g_source_new(&poller_funcs, sizeof(PollerSource));
        poller->epfd = epfd;
        poller->removed = g_ptr_array_new_with_free_func(g_free);
        g_source_set_name((GSource *)poller, "postroom connections");
        /* GLib blocks a source that cannot recurse while it dispatches, and
         * taking its fd out of the poll set and putting it back signals the
         * context's wake-up eventfd each time: two writes and an extra
         * empty loop turn per batch of client input. Nothing runs a nested
         * main loop under this source, so let it "recurse" instead. */
        g_source_set_can_recurse((GSource *)poller, TRUE);
        g_source_add_unix_fd((GSource *)poller, epfd, G_IO_IN);
        g_source_attach((GSource *)poller, NULL);
    }
    return poller;
}

PollerWatch *
poller_add(int fd, PollerFunc func, gpointer data)
{
    PollerSource *p = poller_get();
    PollerWatch *w = g_new0(PollerWatch, 1);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };

    w->fd = fd;
    w->func = func;
    w->data = data;
    if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        g_error("epoll_ctl(ADD, %d): %s", fd, g_strerror(errno));
    return w;
}

void
poller_remove(PollerWatch *watch)
{
    PollerSource *p = poller_get();
    if (watch == NULL)
        return;
    epoll_ctl(p->epfd, EPOLL_CTL_DEL, watch->fd, NULL);
    watch->removed = TRUE;
    if (p->dispatching)
        g_ptr_array_add(p->removed, watch);
    else
        g_free(watch);
}
