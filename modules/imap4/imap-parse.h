/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The IMAP command syntax (RFC 3501 §9, LITERAL+ of RFC 7888): a command
 * arrives as lines, each but the last ending with a literal's announcement
 * {N} or {N+} followed by N raw bytes. ImapCommandBuffer gathers the lines
 * and literals of one command within a size limit; imap_parse_command()
 * turns the gathered bytes into a tag, a command name and a tree of
 * arguments. Pure code without I/O, so that it can be fuzzed and tested
 * alone; what each command makes of its arguments is the command's
 * business (imap-seqset.c, imap-utf7.c, ...). */

#pragma once

#include <glib.h>

/* Nesting of parenthesised lists: deeper is refused (a stack bound, and
 * no command needs more than a few levels). */
#define IMAP_MAX_LIST_DEPTH 32
/* Arguments in one command, lists' members included. */
#define IMAP_MAX_ARGS 10000
/* A command buffer that grew beyond this is freed after the command. */
#define IMAP_COMMAND_KEEP 4096

typedef enum {
    IMAP_ARG_ATOM,    /* also numbers, flags (\Seen) and fetch items (BODY[1.MIME]<0.10>) */
    IMAP_ARG_QUOTED,  /* "..." with its escapes undone */
    IMAP_ARG_LITERAL, /* {N} data: may hold any byte but NUL */
    IMAP_ARG_NIL,     /* the atom NIL, in any case */
    IMAP_ARG_LIST,    /* ( ... ) */
} ImapArgType;

typedef struct _ImapArg ImapArg;

struct _ImapArg {
    ImapArgType type;
    char *str;       /* atom, quoted, literal: NUL-terminated; NULL for NIL and lists */
    gsize len;       /* of str */
    GPtrArray *list; /* IMAP_ARG_LIST: its members (ImapArg *) */
};

typedef struct {
    char *tag;
    char *name;      /* the command name in upper case: "UID FETCH" for UID commands */
    GPtrArray *args; /* ImapArg *, the arguments after the name */
} ImapCommand;

void imap_command_free(ImapCommand *cmd);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ImapCommand, imap_command_free)

/* Parses one whole command (lines joined with CRLF, literals inline, no
 * final CRLF). Returns NULL on a syntax error and sets @error_text to a
 * short reason for the BAD reply; @tag_out receives the tag whenever one
 * could be read (for "tag BAD"), else NULL ("* BAD"). */
ImapCommand *imap_parse_command(const char *data, gsize len, char **tag_out, char **error_text);

/* ---- gathering a command's lines and literals ---- */

typedef enum {
    IMAP_GATHER_COMPLETE,   /* the command is whole: imap_command_buffer_data() */
    IMAP_GATHER_LITERAL,    /* a literal of @literal_size bytes follows */
    IMAP_GATHER_TOO_LONG,   /* over the buffer's limit: refuse the command */
    IMAP_GATHER_BAD_LENGTH, /* an unreadable literal length */
} ImapGatherResult;

typedef struct {
    GByteArray *data;
    gsize limit;         /* most bytes in one command, literals included */
    gsize literal_left;  /* bytes of the current literal still to come */
    gboolean in_literal; /* between a literal's announcement and its end */
} ImapCommandBuffer;

void imap_command_buffer_init(ImapCommandBuffer *buf, gsize limit);
void imap_command_buffer_clear(ImapCommandBuffer *buf);
/* Forgets the command gathered so far (after it was handled or refused). */
void imap_command_buffer_reset(ImapCommandBuffer *buf);

/* Adds a line (without its CRLF). On IMAP_GATHER_LITERAL, @literal_size
 * and @synchronizing tell what follows: a synchronising literal waits for
 * the server's "+" continuation, a non-synchronising one ({N+}) does not.
 * On IMAP_GATHER_TOO_LONG the caller must still read past a literal that
 * was announced non-synchronising: @literal_size says how many bytes. */
ImapGatherResult imap_command_buffer_add_line(ImapCommandBuffer *buf, const char *line, gsize len,
                                              guint64 *literal_size, gboolean *synchronizing);

/* Adds up to the rest of the current literal from @data; returns how many
 * bytes were taken. The literal is whole when imap_command_buffer_in_literal()
 * turns FALSE; the next line continues the command. */
gsize imap_command_buffer_add_literal(ImapCommandBuffer *buf, const guint8 *data, gsize len);

static inline gboolean
imap_command_buffer_in_literal(const ImapCommandBuffer *buf)
{
    return buf->in_literal;
}

static inline const char *
imap_command_buffer_data(const ImapCommandBuffer *buf, gsize *len)
{
    *len = buf->data->len;
    return (const char *)buf->data->data;
}

/* Reads a literal announcement "{N}" or "{N+}" at the end of @line.
 * Returns FALSE if the line does not end with one; sets @bad if it ends
 * with something that looks like one but is not valid. */
gboolean imap_literal_announcement(const char *line, gsize len, guint64 *size,
                                   gboolean *synchronizing, gboolean *bad);

/* ---- argument helpers ---- */

/* An astring (atom, quoted or literal): its text, or NULL. */
const char *imap_arg_astring(const ImapArg *arg);
/* An nstring: NIL gives "" with @is_nil set. */
const char *imap_arg_nstring(const ImapArg *arg, gboolean *is_nil);
/* An atom's text, or NULL if @arg is not an atom. */
const char *imap_arg_atom(const ImapArg *arg);
/* A number (RFC 3501 "number", 32 bits unsigned) in an atom. */
gboolean imap_arg_number(const ImapArg *arg, guint32 *value);
