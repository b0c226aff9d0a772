/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <gio/gio.h>

G_DEFINE_QUARK(postroomctl - error - quark, ctl_error)

int
ctl_exit_code(const GError *error)
{
    if (error == NULL)
        return EX_OK;
    if (error->domain == CTL_ERROR) {
        switch ((CtlError)error->code) {
        case CTL_ERROR_USAGE:
            return EX_USAGE;
        case CTL_ERROR_DATA:
            return EX_DATAERR;
        case CTL_ERROR_NO_USER:
            return EX_NOUSER;
        case CTL_ERROR_EXISTS:
            return EX_CANTCREAT;
        case CTL_ERROR_IO:
            return EX_IOERR;
        case CTL_ERROR_UNAVAILABLE:
            return EX_UNAVAILABLE;
        case CTL_ERROR_CONFIG:
            return EX_CONFIG;
        case CTL_ERROR_SOFTWARE:
            return EX_SOFTWARE;
        case CTL_ERROR_TEMPFAIL:
            return EX_TEMPFAIL;
        }
        return EX_SOFTWARE;
    }
    if (error->domain == PR_CONFIG_ERROR || error->domain == PR_MODULE_ERROR)
        return EX_CONFIG;
    if (error->domain == PR_STORE_ERROR) {
        switch (error->code) {
        case PR_STORE_ERROR_NOT_FOUND:
            return EX_NOUSER;
        case PR_STORE_ERROR_EXISTS:
            return EX_CANTCREAT;
        case PR_STORE_ERROR_IO:
            return EX_IOERR;
        case PR_STORE_ERROR_SCHEMA:
            return EX_UNAVAILABLE;
        default:
            return EX_SOFTWARE;
        }
    }
    if (error->domain == G_IO_ERROR || error->domain == G_FILE_ERROR)
        return EX_IOERR;
    return EX_SOFTWARE;
}

static char *printable(const char *text, gboolean allow_newline);

void
ctl_print_error(const GError *error)
{
    g_autofree char *text = printable(error->message, TRUE);
    g_printerr("postroomctl: %s\n", text);
}

void
ctl_warn(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    g_autofree char *text = g_strdup_vprintf(format, args);
    va_end(args);
    g_printerr("postroomctl: %s\n", text);
}

char *
ctl_format_time(gint64 unix_time)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local(unix_time);
    if (dt == NULL)
        return g_strdup_printf("%" G_GINT64_FORMAT, unix_time);
    return g_date_time_format(dt, "%Y-%m-%d %H:%M:%S");
}

static char *
printable(const char *text, gboolean allow_newline)
{
    GString *out = g_string_new(NULL);
    const char *p = text != NULL ? text : "";

    while (*p != '\0') {
        gunichar c = g_utf8_get_char_validated(p, -1);
        if (c == (gunichar)-1 || c == (gunichar)-2) {
            g_string_append_c(out, '?');
            p++;
            continue;
        }
        /* Line breaks inside an error message are fine on a terminal; any
         * other control character (ESC, CR, C1 controls) is not. */
        if ((c == '\n' && allow_newline) || (!g_unichar_iscntrl(c) && c != 0x2028 && c != 0x2029))
            g_string_append_len(out, p, g_utf8_next_char(p) - p);
        else
            g_string_append_c(out, '?');
        p = g_utf8_next_char(p);
    }
    return g_string_free(out, FALSE);
}

char *
ctl_printable(const char *text)
{
    return printable(text, FALSE);
}

/* JSON ------------------------------------------------------------------ */

struct _CtlJson {
    GString *text;
    GArray *has_items; /* gboolean per open container */
    gboolean after_key;
};

CtlJson *
ctl_json_new(void)
{
    CtlJson *json = g_new0(CtlJson, 1);
    json->text = g_string_new(NULL);
    json->has_items = g_array_new(FALSE, FALSE, sizeof(gboolean));
    return json;
}

void
ctl_json_free(CtlJson *json)
{
    if (json == NULL)
        return;
    g_string_free(json->text, TRUE);
    g_array_unref(json->has_items);
    g_free(json);
}

/* Writes the separator a new value or key needs. */
static void
json_next(CtlJson *json)
{
    if (json->after_key) {
        json->after_key = FALSE;
        return;
    }
    if (json->has_items->len == 0)
        return;
    gboolean *has = &g_array_index(json->has_items, gboolean, json->has_items->len - 1);
    if (*has)
        g_string_append_c(json->text, ',');
    *has = TRUE;
}

static void
json_open(CtlJson *json, char c)
{
    json_next(json);
    g_string_append_c(json->text, c);
    gboolean none = FALSE;
    g_array_append_val(json->has_items, none);
}

static void
json_close(CtlJson *json, char c)
{
    if (json->has_items->len > 0)
        g_array_set_size(json->has_items, json->has_items->len - 1);
    g_string_append_c(json->text, c);
}

void
ctl_json_begin_object(CtlJson *json)
{
    json_open(json, '{');
}

void
ctl_json_end_object(CtlJson *json)
{
    json_close(json, '}');
}

void
ctl_json_begin_array(CtlJson *json)
{
    json_open(json, '[');
}

void
ctl_json_end_array(CtlJson *json)
{
    json_close(json, ']');
}

/* RFC 8259 §7. Invalid UTF-8 (which the database should never hold)
 * becomes U+FFFD so the document always parses; U+2028/U+2029 are escaped
 * too because JavaScript string literals cannot hold them raw. */
void
ctl_json_append_escaped(GString *out, const char *text)
{
    g_string_append_c(out, '"');
    for (const char *p = text; *p != '\0';) {
        gunichar c = g_utf8_get_char_validated(p, -1);
        if (c == (gunichar)-1 || c == (gunichar)-2) {
            g_string_append(out, "\\ufffd");
            p++;
            continue;
        }
        switch (c) {
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\b':
            g_string_append(out, "\\b");
            break;
        case '\f':
            g_string_append(out, "\\f");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        default:
            if (c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029)
                g_string_append_printf(out, "\\u%04x", (unsigned)c);
            else
                g_string_append_len(out, p, g_utf8_next_char(p) - p);
        }
        p = g_utf8_next_char(p);
    }
    g_string_append_c(out, '"');
}

void
ctl_json_key(CtlJson *json, const char *key)
{
    json_next(json);
    ctl_json_append_escaped(json->text, key);
    g_string_append_c(json->text, ':');
    json->after_key = TRUE;
}

void
ctl_json_string(CtlJson *json, const char *value)
{
    json_next(json);
    if (value == NULL)
        g_string_append(json->text, "null");
    else
        ctl_json_append_escaped(json->text, value);
}

void
ctl_json_int(CtlJson *json, gint64 value)
{
    json_next(json);
    g_string_append_printf(json->text, "%" G_GINT64_FORMAT, value);
}

void
ctl_json_bool(CtlJson *json, gboolean value)
{
    json_next(json);
    g_string_append(json->text, value ? "true" : "false");
}

void
ctl_json_null(CtlJson *json)
{
    json_next(json);
    g_string_append(json->text, "null");
}

const char *
ctl_json_get_text(CtlJson *json)
{
    return json->text->str;
}

gboolean
ctl_json_print(CtlJson *json, GError **error)
{
    if (fwrite(json->text->str, 1, json->text->len, stdout) != json->text->len ||
        fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
        int saved = errno;
        g_set_error(error, CTL_ERROR, CTL_ERROR_IO, _("Cannot write the output: %s"),
                    g_strerror(saved));
        return FALSE;
    }
    return TRUE;
}

/* Tables ---------------------------------------------------------------- */

struct _CtlTable {
    guint n_columns;
    GPtrArray *rows; /* GStrv of n_columns printable cells; row 0 is the header */
};

/* Terminal columns of @text (already printable). */
static gsize
display_width(const char *text)
{
    gsize width = 0;
    for (const char *p = text; *p != '\0'; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (g_unichar_iszerowidth(c))
            continue;
        width += g_unichar_iswide(c) ? 2 : 1;
    }
    return width;
}

static void
table_add_cells(CtlTable *table, const char *first, va_list args)
{
    char **row = g_new0(char *, table->n_columns + 1);
    for (guint i = 0; i < table->n_columns; i++) {
        const char *cell = i == 0 ? first : va_arg(args, const char *);
        row[i] = ctl_printable(cell);
    }
    g_ptr_array_add(table->rows, row);
}

CtlTable *
ctl_table_new(guint n_columns, const char *first_header, ...)
{
    CtlTable *table = g_new0(CtlTable, 1);
    table->n_columns = n_columns;
    table->rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    va_list args;
    va_start(args, first_header);
    table_add_cells(table, first_header, args);
    va_end(args);
    return table;
}

void
ctl_table_free(CtlTable *table)
{
    if (table == NULL)
        return;
    g_ptr_array_unref(table->rows);
    g_free(table);
}

void
ctl_table_add_row(CtlTable *table, const char *first_cell, ...)
{
    va_list args;
    va_start(args, first_cell);
    table_add_cells(table, first_cell, args);
    va_end(args);
}

void
ctl_table_print(CtlTable *table)
{
    g_autofree gsize *widths = g_new0(gsize, table->n_columns);
    for (guint r = 0; r < table->rows->len; r++) {
        char **row = table->rows->pdata[r];
        for (guint c = 0; c < table->n_columns; c++)
            widths[c] = MAX(widths[c], display_width(row[c]));
    }
    g_autoptr(GString) line = g_string_new(NULL);
    for (guint r = 0; r < table->rows->len; r++) {
        char **row = table->rows->pdata[r];
        g_string_truncate(line, 0);
        for (guint c = 0; c < table->n_columns; c++) {
            g_string_append(line, row[c]);
            if (c + 1 == table->n_columns)
                break;
            for (gsize pad = display_width(row[c]); pad < widths[c] + 2; pad++)
                g_string_append_c(line, ' ');
        }
        /* An empty last column must not leave trailing blanks. */
        while (line->len > 0 && line->str[line->len - 1] == ' ')
            g_string_truncate(line, line->len - 1);
        g_print("%s\n", line->str);
    }
}

void
ctl_print_fields(const char *const *labels, const char *const *values, guint n)
{
    gsize width = 0;
    for (guint i = 0; i < n; i++)
        width = MAX(width, display_width(labels[i]));
    for (guint i = 0; i < n; i++) {
        g_autofree char *value = ctl_printable(values[i]);
        g_autoptr(GString) line = g_string_new(labels[i]);
        for (gsize pad = display_width(labels[i]); pad < width + 2; pad++)
            g_string_append_c(line, ' ');
        g_string_append(line, value);
        g_print("%s\n", line->str);
    }
}
