/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The writer runs on whichever thread logs (store workers, TLS handshake
 * threads), so everything below is under one lock. */

typedef enum { FILE_MAIN, FILE_ERRORS, FILE_SECURITY, N_FILES } LogFileKind;

static const char *const file_names[N_FILES] = { "main.log", "errors.log", "security.log" };

static GMutex log_lock;
static struct {
    char *dir;
    gint64 max_size;
    gboolean to_stderr;
    gboolean journal;
    GLogLevelFlags level;
    FILE *files[N_FILES];
} state;

GLogLevelFlags
log_level_from_string(const char *name)
{
    static const struct {
        const char *name;
        GLogLevelFlags level;
    } levels[] = {
        { "error", G_LOG_LEVEL_CRITICAL },  { "warning", G_LOG_LEVEL_WARNING },
        { "message", G_LOG_LEVEL_MESSAGE }, { "info", G_LOG_LEVEL_INFO },
        { "debug", G_LOG_LEVEL_DEBUG },
    };
    for (gsize i = 0; name != NULL && i < G_N_ELEMENTS(levels); i++) {
        if (g_ascii_strcasecmp(name, levels[i].name) == 0)
            return levels[i].level;
    }
    return G_LOG_LEVEL_INFO;
}

/* Smaller is more severe, as in GLib: ERROR 1<<2 ... DEBUG 1<<7. */
static gboolean
level_enabled(GLogLevelFlags level)
{
    return (level & G_LOG_LEVEL_MASK) <= state.level;
}

static const char *
level_name(GLogLevelFlags level)
{
    switch (level & G_LOG_LEVEL_MASK) {
    case G_LOG_LEVEL_ERROR:
        return "ERROR";
    case G_LOG_LEVEL_CRITICAL:
        return "CRITICAL";
    case G_LOG_LEVEL_WARNING:
        return "WARNING";
    case G_LOG_LEVEL_MESSAGE:
        return "MESSAGE";
    case G_LOG_LEVEL_INFO:
        return "INFO";
    default:
        return "DEBUG";
    }
}

static void
close_files(void)
{
    for (int i = 0; i < N_FILES; i++)
        g_clear_pointer(&state.files[i], fclose);
}

static FILE *
open_file(LogFileKind kind)
{
    if (state.files[kind] == NULL && state.dir != NULL) {
        g_autofree char *path = g_build_filename(state.dir, file_names[kind], NULL);
        state.files[kind] = fopen(path, "ae");
        if (state.files[kind] != NULL)
            setvbuf(state.files[kind], NULL, _IOLBF, 0);
    }
    return state.files[kind];
}

/* VPOP3 keeps one previous generation: main.log -> main.lbk. */
static void
rotate_if_needed(LogFileKind kind)
{
    FILE *f = state.files[kind];
    struct stat st;
    if (f == NULL || fstat(fileno(f), &st) != 0 || st.st_size < state.max_size)
        return;
    g_autofree char *path = g_build_filename(state.dir, file_names[kind], NULL);
    g_autofree char *stem = g_strndup(path, strlen(path) - 4);
    g_autofree char *backup = g_strconcat(stem, ".lbk", NULL);
    g_clear_pointer(&state.files[kind], fclose);
    if (rename(path, backup) != 0)
        fprintf(stderr, "postroomd: cannot rotate %s: %s\n", path, g_strerror(errno));
}

static void
write_line(LogFileKind kind, const char *line)
{
    FILE *f = open_file(kind);
    if (f == NULL)
        return;
    fputs(line, f);
    rotate_if_needed(kind);
}

static GLogWriterOutput
writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
    const char *message = NULL, *domain = NULL, *channel = NULL, *event = NULL;

    for (gsize i = 0; i < n_fields; i++) {
        if (fields[i].length >= 0)
            continue; /* binary fields are not ours */
        if (strcmp(fields[i].key, "MESSAGE") == 0)
            message = fields[i].value;
        else if (strcmp(fields[i].key, "GLIB_DOMAIN") == 0)
            domain = fields[i].value;
        else if (strcmp(fields[i].key, "PR_CHANNEL") == 0)
            channel = fields[i].value;
        else if (strcmp(fields[i].key, "PR_EVENT") == 0)
            event = fields[i].value;
    }
    /* Security events reach security.log whatever the level. */
    gboolean security = channel != NULL && strcmp(channel, "security") == 0;
    gboolean enabled =
        level_enabled(level) || ((level & G_LOG_LEVEL_DEBUG) && g_getenv("G_MESSAGES_DEBUG"));
    if (!enabled && !security)
        return G_LOG_WRITER_HANDLED;

    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *stamp = g_date_time_format(now, "%Y-%m-%d %H:%M:%S");
    g_autofree char *line = g_strdup_printf(
        "%s %s %s: %s%s%s%s\n", stamp, level_name(level), domain != NULL ? domain : "postroom",
        event != NULL ? "[" : "", event != NULL ? event : "", event != NULL ? "] " : "",
        message != NULL ? message : "");

    g_mutex_lock(&log_lock);
    if (enabled) {
        if (state.journal)
            g_log_writer_journald(level, fields, n_fields, NULL);
        else if (state.to_stderr)
            fputs(line, stderr);
        write_line(FILE_MAIN, line);
        if ((level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) != 0)
            write_line(FILE_ERRORS, line);
    }
    if (security)
        write_line(FILE_SECURITY, line);
    g_mutex_unlock(&log_lock);

    if ((level & G_LOG_FLAG_FATAL) != 0)
        return G_LOG_WRITER_UNHANDLED;
    return G_LOG_WRITER_HANDLED;
}

void
log_reconfigure(const LogSettings *settings)
{
    g_mutex_lock(&log_lock);
    close_files();
    g_free(state.dir);
    state.dir = g_strdup(settings->dir);
    state.max_size = settings->max_size > 0 ? settings->max_size : 10 * 1024 * 1024;
    state.to_stderr = settings->to_stderr;
    /* Under systemd stderr is the journal: write structured entries there. */
    state.journal = settings->to_stderr && g_log_writer_is_journald(fileno(stderr));
    state.level = settings->level;
    g_mutex_unlock(&log_lock);
}

void
log_setup(const LogSettings *settings)
{
    static gsize installed = 0;
    log_reconfigure(settings);
    /* GLib allows one writer per process, set once. */
    if (g_once_init_enter(&installed)) {
        g_log_set_writer_func(writer, NULL, NULL);
        g_once_init_leave(&installed, 1);
    }
}

void
log_shutdown(void)
{
    g_mutex_lock(&log_lock);
    close_files();
    g_clear_pointer(&state.dir, g_free);
    g_mutex_unlock(&log_lock);
}
