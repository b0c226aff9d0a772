/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The IMAP4rev1 module's session and command dispatch. The host delivers
 * lines; imap-session.c gathers each command with its literals
 * (ImapCommandBuffer), parses it (imap_parse_command()) and calls the
 * handler from the table in imap-module.c. A handler either answers at
 * once or starts asynchronous work and answers later with
 * imap_command_done(), which also resumes reading. */

#include <postroom/postroom-plugin.h>

#include "imap-parse.h"

G_BEGIN_DECLS

/* RFC 3501 §3 states, as host state bits (pr_connection_set_state()). */
enum {
    IMAP_STATE_NOT_AUTHENTICATED = 1 << 0,
    IMAP_STATE_AUTHENTICATED = 1 << 1,
    IMAP_STATE_SELECTED = 1 << 2,
    IMAP_STATE_LOGOUT = 1 << 3,
    IMAP_STATE_ANY = IMAP_STATE_NOT_AUTHENTICATED | IMAP_STATE_AUTHENTICATED | IMAP_STATE_SELECTED,
    IMAP_STATE_AUTH_OR_SELECTED = IMAP_STATE_AUTHENTICATED | IMAP_STATE_SELECTED,
};

/* The longest command line the host buffers (literals come separately). */
#define IMAP_MAX_LINE 8192
/* RFC 3501 §5.4: the autologout timer is at least 30 minutes. */
#define IMAP_IDLE_TIMEOUT (30 * 60)

/* What ENABLE turned on (RFC 5161). */
enum {
    IMAP_ENABLED_CONDSTORE = 1 << 0,
    IMAP_ENABLED_QRESYNC = 1 << 1,
};

typedef struct _ImapSession ImapSession;

/* A command handler. @cmd belongs to the session until imap_command_done()
 * (for PR_COMMAND_ASYNC) or the handler's return. */
typedef PrCommandResult (*ImapHandler)(PrConnection *conn, ImapSession *s, ImapCommand *cmd);

enum {
    IMAP_CMD_NONE = 0,
    IMAP_CMD_UID = 1 << 0,    /* the UID form exists ("UID FETCH") */
    IMAP_CMD_SECRET = 1 << 1, /* arguments are never logged */
    IMAP_CMD_AUTH = 1 << 2,   /* refused before TLS where the service requires it */
};

typedef struct {
    const char *name; /* upper case; "UID FETCH" for the UID form */
    ImapHandler handler;
    guint32 states;
    guint32 flags;
} ImapCommandSpec;

struct _ImapSession {
    PrConnection *conn;
    ImapCommandBuffer buffer; /* the command being gathered */
    guint64 literal_skip;     /* bytes of a refused {N+} literal still to discard */
    ImapCommand *current;     /* the command being handled asynchronously */
    gboolean uid_command;     /* current is a UID command */

    /* authentication */
    guint failed_logins;
    char *login; /* canonical account name once authenticated */

    /* selected state */
    PrMailbox *mailbox;
    char *mailbox_name;   /* as the client named it (INBOX upper case) */
    gboolean read_only;   /* EXAMINE */
    guint32 enabled;      /* IMAP_ENABLED_* */
    GArray *saved_search; /* SEARCHRES $: UIDs (guint32), or NULL */

    /* AUTHENTICATE: the SASL exchange under way, else NULL */
    PrSasl *sasl;
    /* A command refused for its size: discard its remaining lines */
    gboolean discarding;
    gboolean dispatching;   /* inside a handler called by the dispatcher */
    gboolean answered;      /* imap_command_done() ran inside the handler */
    gboolean login_counted; /* counted against max_logins_per_user */
    gboolean syncing;       /* a pr_mailbox_sync_async() is under way */
    gboolean sync_again;    /* a change notification came meanwhile */
    GQueue sync_waiting;    /* syncs asked for while one ran */

    /* IDLE */
    char *idle_tag; /* the IDLE command's tag while idling, else NULL */

    gboolean finished; /* the connection ended; last async op frees */
    guint busy;        /* async operations in flight */
};

/* imap-session.c */
void imap_greeting(PrConnection *conn, gpointer session);
void imap_tls_started(PrConnection *conn, gpointer session);
void imap_session_finish(PrConnection *conn, gpointer session);
/* Sends "tag status text" for the current command, frees it, and resumes
 * reading when the command was asynchronous. @status is "OK", "NO" or
 * "BAD"; @text may start with a response code ("[READ-ONLY] ..."). */
void imap_command_done(PrConnection *conn, ImapSession *s, const char *status, const char *text);
/* Sends untagged updates (EXISTS, EXPUNGE, FETCH FLAGS) after syncing the
 * selected mailbox, then calls @then(@data, @s) (NULL: nothing), at once
 * when no mailbox is selected. Commands that may not report expunges
 * (FETCH, STORE, SEARCH without UID, RFC 3501 §7.4.1) do not call this. */
void imap_session_sync(PrConnection *conn, ImapSession *s, GFunc then, gpointer data);
/* Closes the selected mailbox (CLOSE, UNSELECT, SELECT of another). */
void imap_session_unselect(ImapSession *s);
void imap_session_op_begin(ImapSession *s);
void imap_session_op_end(ImapSession *s);

/* message commands (H3b files): imap-fetch.c, imap-store.c, imap-search.c,
 * imap-copy.c, imap-expunge.c. The UID forms share the handler and look at
 * s->uid_command. */
PrCommandResult imap_cmd_fetch(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_store(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_search(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_copy(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_move(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_expunge(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_close(PrConnection *conn, ImapSession *s, ImapCommand *cmd);

/* Sends "tag BAD text" for the current command and counts a bad command;
 * returns what the handler returns. */
PrCommandResult imap_command_bad(PrConnection *conn, ImapSession *s, const char *text);
/* imap_command_done() with the session's state after the handler ran:
 * for a handler that answers at once. */
PrCommandResult imap_command_reply(PrConnection *conn, ImapSession *s, const char *status,
                                   const char *text);
/* The line handler and its return to command mode (after TLS). */
PrCommandResult imap_line(PrConnection *conn, gpointer session, const char *line, gsize len);

/* imap-module.c: the command table, settings, per-user login counts */
const ImapCommandSpec *imap_find_command(const char *name);
gint64 imap_setting_int(PrConnection *conn, const char *key);
gboolean imap_setting_bool(PrConnection *conn, const char *key);
/* Counts a session of @login; FALSE when it already has @max sessions. */
gboolean imap_login_acquire(const char *login, guint max);
void imap_login_release(const char *login);

/* imap-auth.c: not authenticated state and any state */
char *imap_capabilities(PrConnection *conn, ImapSession *s);
PrCommandResult imap_cmd_capability(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_noop(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_logout(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_id(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_starttls(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_login(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_authenticate(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_sasl_line(PrConnection *conn, ImapSession *s, const char *line);
PrCommandResult imap_cmd_enable(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_namespace(PrConnection *conn, ImapSession *s, ImapCommand *cmd);

/* imap-folders.c */
/* The store's name (UTF-8, "INBOX" in upper case) of a mailbox argument,
 * or NULL if it is not a valid name. */
char *imap_mailbox_arg(const ImapArg *arg);
/* Appends @name (UTF-8) to @out as the client reads it. */
void imap_append_mailbox(GString *out, const char *name);
PrCommandResult imap_cmd_list(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_lsub(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_create(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_delete(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_rename(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_subscribe(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_unsubscribe(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_status(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
/* Answers a failed folder operation: NONEXISTENT, NOPERM (RFC 5530),
 * ALREADYEXISTS, CANNOT with the host's text, else UNAVAILABLE. */
void imap_folder_failed(PrConnection *conn, ImapSession *s, const GError *error);

/* imap-acl.c: RFC 4314 */
/* Whether the user has @right (RFC 4314) on the selected mailbox. */
gboolean imap_may(ImapSession *s, char right);
PrCommandResult imap_cmd_setacl(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_deleteacl(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_getacl(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_listrights(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_myrights(PrConnection *conn, ImapSession *s, ImapCommand *cmd);

/* imap-quota.c: RFC 9208 */
PrCommandResult imap_cmd_getquotaroot(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_getquota(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_setquota(PrConnection *conn, ImapSession *s, ImapCommand *cmd);

/* imap-select.c */
PrCommandResult imap_cmd_select(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_examine(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_unselect(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_check(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
/* "\Seen \Flagged" plus \Recent when @index is recent in this session. */
void imap_append_flags(GString *out, PrMailbox *mailbox, guint index);

/* imap-append.c */
PrCommandResult imap_cmd_append(PrConnection *conn, ImapSession *s, ImapCommand *cmd);

/* imap-idle.c */
PrCommandResult imap_cmd_idle(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
/* The line after IDLE: DONE ends it. */
PrCommandResult imap_idle_line(PrConnection *conn, ImapSession *s, const char *line);
/* Stops idling without answering (the connection ends). */
void imap_idle_stop(ImapSession *s);

/* The message commands (imap-fetch.c, imap-store.c, imap-search.c,
 * imap-copy.c, imap-expunge.c); the UID forms share the handler and read
 * ImapSession.uid_command. */
PrCommandResult imap_cmd_fetch(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_store(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_search(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_copy(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_move(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_expunge(PrConnection *conn, ImapSession *s, ImapCommand *cmd);
PrCommandResult imap_cmd_close(PrConnection *conn, ImapSession *s, ImapCommand *cmd);

G_END_DECLS
