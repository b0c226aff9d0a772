/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* postroomctl: private declarations shared by its source files. */

#include <glib.h>
#include <sysexits.h>

#include "config.h"
#include "listener.h"
#include "module-loader.h"
#include "store/store.h"

/* Errors of the tool itself; each code is one sysexits(3) class. */
#define CTL_ERROR (ctl_error_quark())
GQuark ctl_error_quark(void);

typedef enum {
    CTL_ERROR_USAGE,       /* EX_USAGE: wrong arguments */
    CTL_ERROR_DATA,        /* EX_DATAERR: a bad name, a short password */
    CTL_ERROR_NO_USER,     /* EX_NOUSER: no such user, list or domain */
    CTL_ERROR_EXISTS,      /* EX_CANTCREAT: the object exists already */
    CTL_ERROR_IO,          /* EX_IOERR */
    CTL_ERROR_UNAVAILABLE, /* EX_UNAVAILABLE: the database cannot be opened */
    CTL_ERROR_CONFIG,      /* EX_CONFIG */
    CTL_ERROR_SOFTWARE,    /* EX_SOFTWARE */
    CTL_ERROR_TEMPFAIL,    /* EX_TEMPFAIL: try again later (disk full, store busy) */
} CtlError;

typedef struct {
    /* From the command line. */
    const char *config_path;
    gboolean json;

    Config *config;
    GPtrArray *modules;   /* PrModule*, from loader_scan(); own the schemas */
    GPtrArray *problems;  /* char*, files loader_scan() refused */
    char *config_problem; /* validation error, kept by commands that go on */
    StoreConn *conn;
} Ctl;

/* Options of the entity commands, filled by the option parser. */
typedef struct {
    char *password_file;
    gboolean password_stdin;
    char *full_name;
    char *kind;
    char *description;
    char **add;
    char **remove;
    char *ip;
    int limit;
    char *from; /* deliver */
    char *auth_user;
    char *forward_to; /* user set */
    char *keep_copy;
    char *assistant;
    char *assistant_only;
    char *everyone;
    char *quota;
    char *max_outgoing_size; /* user add, user set */
    char *local_only;        /* list set */
    char *state;             /* queue list */
    gboolean all;            /* queue hold, release, delete; user drop-secret */
    gboolean no_secret;      /* user add, user passwd */
    gboolean force;          /* mailbox unlock (mailbox release, purge use all) */
} CtlOptions;

extern CtlOptions ctl_options;

typedef int (*CtlRunFunc)(Ctl *ctl, char **args, GError **error);

/* ctl-config.c */
gboolean ctl_load_config(Ctl *ctl, gboolean tolerate_invalid, GError **error);
gboolean ctl_open_store(Ctl *ctl, GError **error);
void ctl_clear(Ctl *ctl);
int ctl_cmd_init(Ctl *ctl, char **args, GError **error);
int ctl_cmd_config_check(Ctl *ctl, char **args, GError **error);
int ctl_cmd_modules(Ctl *ctl, char **args, GError **error);
int ctl_cmd_version(Ctl *ctl, char **args, GError **error);

/* ctl-entities.c */
int ctl_cmd_user_add(Ctl *ctl, char **args, GError **error);
int ctl_cmd_user_del(Ctl *ctl, char **args, GError **error);
int ctl_cmd_user_passwd(Ctl *ctl, char **args, GError **error);
int ctl_cmd_user_list(Ctl *ctl, char **args, GError **error);
int ctl_cmd_user_show(Ctl *ctl, char **args, GError **error);
int ctl_cmd_user_enable(Ctl *ctl, char **args, GError **error);
int ctl_cmd_user_disable(Ctl *ctl, char **args, GError **error);
int ctl_cmd_domain_add(Ctl *ctl, char **args, GError **error);
int ctl_cmd_domain_del(Ctl *ctl, char **args, GError **error);
int ctl_cmd_domain_list(Ctl *ctl, char **args, GError **error);
int ctl_cmd_mapping_add(Ctl *ctl, char **args, GError **error);
int ctl_cmd_mapping_del(Ctl *ctl, char **args, GError **error);
int ctl_cmd_mapping_list(Ctl *ctl, char **args, GError **error);
int ctl_cmd_list_add(Ctl *ctl, char **args, GError **error);
int ctl_cmd_list_del(Ctl *ctl, char **args, GError **error);
int ctl_cmd_list_members(Ctl *ctl, char **args, GError **error);
int ctl_cmd_list_list(Ctl *ctl, char **args, GError **error);
int ctl_cmd_loginaudit(Ctl *ctl, char **args, GError **error);
int ctl_cmd_unlock(Ctl *ctl, char **args, GError **error);
/* One line of a secret from @fd, or from the terminal without echo after
 * @prompt; the line end is removed. CTL_ERROR_DATA when too long. */
gboolean ctl_read_secret_line(int fd, char *buf, gsize size, GError **error);
gboolean ctl_prompt_secret(const char *prompt, char *buf, gsize size, GError **error);

/* ctl-secrets.c: APOP/CRAM-MD5 secrets. CTL_SECRET_MAX is the size of
 * the buffer a password is read into. */
#define CTL_SECRET_MAX 1024
gboolean ctl_secrets_wanted(Ctl *ctl);
int ctl_secrets_has(Ctl *ctl, const char *name, GError **error); /* 1, 0, or -1 */
void ctl_secrets_print_stored(const char *name);
int ctl_cmd_user_drop_secret(Ctl *ctl, char **args, GError **error);

/* ctl-mail.c */
int ctl_cmd_deliver(Ctl *ctl, char **args, GError **error);
int ctl_cmd_user_set(Ctl *ctl, char **args, GError **error);
/* --max-outgoing-size: -1 when not given; FALSE with @error when invalid. */
gboolean ctl_parse_max_outgoing(gint64 *out, GError **error);
int ctl_cmd_list_set(Ctl *ctl, char **args, GError **error);

/* ctl-queue.c */
int ctl_cmd_queue_list(Ctl *ctl, char **args, GError **error);
int ctl_cmd_queue_show(Ctl *ctl, char **args, GError **error);
int ctl_cmd_queue_hold(Ctl *ctl, char **args, GError **error);
int ctl_cmd_queue_release(Ctl *ctl, char **args, GError **error);
int ctl_cmd_queue_delete(Ctl *ctl, char **args, GError **error);
int ctl_cmd_queue_flush(Ctl *ctl, char **args, GError **error);

/* ctl-collector.c */
int ctl_cmd_collector_add(Ctl *ctl, char **args, GError **error);
int ctl_cmd_collector_set(Ctl *ctl, char **args, GError **error);
int ctl_cmd_collector_del(Ctl *ctl, char **args, GError **error);
int ctl_cmd_collector_list(Ctl *ctl, char **args, GError **error);
int ctl_cmd_collector_show(Ctl *ctl, char **args, GError **error);
int ctl_cmd_collector_run(Ctl *ctl, char **args, GError **error);
int ctl_cmd_collector_forget(Ctl *ctl, char **args, GError **error);
int ctl_cmd_collector_fetch(Ctl *ctl, char **args, GError **error);
/* The options of collector add and set (the settings, --enabled,
 * --priority, the password options). */
extern const GOptionEntry ctl_collector_entries[];
void ctl_collector_clear_options(void);

/* ctl-folder.c */
int ctl_cmd_folder_acl(Ctl *ctl, char **args, GError **error);

/* ctl-mailbox.c */
int ctl_cmd_mailbox_list(Ctl *ctl, char **args, GError **error);
int ctl_cmd_mailbox_held(Ctl *ctl, char **args, GError **error);
int ctl_cmd_mailbox_release(Ctl *ctl, char **args, GError **error);
int ctl_cmd_mailbox_purge(Ctl *ctl, char **args, GError **error);
int ctl_cmd_mailbox_unlock(Ctl *ctl, char **args, GError **error);

/* Removes spool files (paths relative to the spool directory) that the
 * store no longer refers to, warning about those that cannot be. */
void ctl_unlink_spool_files(Ctl *ctl, GPtrArray *paths);

/* A lower-case ASCII (IDNA) copy of a domain name, or NULL with
 * CTL_ERROR_DATA. */
char *ctl_check_domain(const char *name, GError **error);
/* The lower-case copy of a valid user name, or NULL with CTL_ERROR_DATA. */
char *ctl_check_user_name(const char *name, GError **error);

/* ctl-output.c */
int ctl_exit_code(const GError *error);
void ctl_print_error(const GError *error);
void ctl_warn(const char *format, ...) G_GNUC_PRINTF(1, 2);
char *ctl_format_time(gint64 unix_time);

/* A JSON writer for --json: compact, always valid UTF-8, never translated. */
typedef struct _CtlJson CtlJson;
CtlJson *ctl_json_new(void);
void ctl_json_free(CtlJson *json);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CtlJson, ctl_json_free)
void ctl_json_begin_object(CtlJson *json);
void ctl_json_end_object(CtlJson *json);
void ctl_json_begin_array(CtlJson *json);
void ctl_json_end_array(CtlJson *json);
void ctl_json_key(CtlJson *json, const char *key);
void ctl_json_string(CtlJson *json, const char *value); /* NULL: null */
void ctl_json_int(CtlJson *json, gint64 value);
void ctl_json_bool(CtlJson *json, gboolean value);
void ctl_json_null(CtlJson *json);
/* Writes the document and a newline to stdout. */
gboolean ctl_json_print(CtlJson *json, GError **error);
/* For tests and callers that need the text. */
const char *ctl_json_get_text(CtlJson *json);
void ctl_json_append_escaped(GString *out, const char *text);

/* An aligned text table for plain output. Cells are made printable. */
typedef struct _CtlTable CtlTable;
CtlTable *ctl_table_new(guint n_columns, const char *first_header, ...);
void ctl_table_free(CtlTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CtlTable, ctl_table_free)
void ctl_table_add_row(CtlTable *table, const char *first_cell, ...);
void ctl_table_print(CtlTable *table);

/* Key/value lines ("Name:      alice") for `show` commands. */
void ctl_print_fields(const char *const *labels, const char *const *values, guint n);

/* Printable copy of untrusted text: control characters and invalid
 * UTF-8 become '?', so a name cannot move the cursor of a terminal. */
char *ctl_printable(const char *text);
