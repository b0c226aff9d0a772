/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The SMTP server's command arguments (modules/smtp/smtp-parse.c). The
 * first byte picks what the rest is: the arguments of MAIL or RCPT, of
 * EHLO/HELO or of BDAT, a text checked as xtext, or bytes that a
 * well-behaved client encodes as xtext. Whatever is accepted must hold
 * what the RFCs allow, and must come back the same when a client (our own
 * sender) writes it out again in canonical form and we read it back. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "smtp.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_make_warnings_fatal();
    return 0;
}

static gboolean
is_xtext(const char *s, gsize max)
{
    gsize len = strlen(s);

    if (len == 0 || len > max)
        return FALSE;
    for (gsize i = 0; i < len; i++) {
        guchar c = s[i];
        if (c == '+') {
            if (i + 2 >= len || !strchr("0123456789ABCDEF", s[i + 1]) ||
                !strchr("0123456789ABCDEF", s[i + 2]) || s[i + 1] == '\0' || s[i + 2] == '\0')
                return FALSE;
            i += 2;
        } else if (c < '!' || c > '~' || c == '=') {
            return FALSE;
        }
    }
    return TRUE;
}

/* What an accepted path may hold, whatever the input was. */
static void
check_accepted(const SmtpPath *path, gboolean mail)
{
    FUZZ_CHECK(path->error == NULL);
    FUZZ_CHECK(path->address != NULL);
    FUZZ_CHECK(strlen(path->address) + 2 <= SMTP_MAX_PATH);
    FUZZ_CHECK(g_utf8_validate(path->address, -1, NULL));
    /* Nothing that could end a line or a header when it is written out. */
    for (const guchar *p = (const guchar *)path->address; *p != '\0'; p++)
        FUZZ_CHECK(*p >= ' ' && *p != 0x7f);
    if (mail) {
        if (smtp_non_ascii(path->address))
            FUZZ_CHECK(path->smtputf8);
    } else {
        FUZZ_CHECK(*path->address != '\0');
        FUZZ_CHECK(!path->has_size && path->ret == NULL && path->envid == NULL);
    }
    FUZZ_CHECK(!path->has_size || path->size >= 0);
    FUZZ_CHECK(path->body == SMTP_BODY_7BIT || path->body == SMTP_BODY_8BITMIME);
    if (path->ret != NULL)
        FUZZ_CHECK(strcmp(path->ret, "FULL") == 0 || strcmp(path->ret, "HDRS") == 0);
    if (path->envid != NULL)
        FUZZ_CHECK(is_xtext(path->envid, SMTP_MAX_ENVID));
    if (path->notify != NULL) {
        g_auto(GStrv) items = g_strsplit(path->notify, ",", -1);
        FUZZ_CHECK(items[0] != NULL);
        for (int i = 0; items[i] != NULL; i++)
            FUZZ_CHECK(g_strv_contains(
                (const char *const[]){ "NEVER", "SUCCESS", "FAILURE", "DELAY", NULL }, items[i]));
        FUZZ_CHECK(strstr(path->notify, "NEVER") == NULL || strcmp(path->notify, "NEVER") == 0);
    }
    if (path->orcpt != NULL) {
        const char *semi = strchr(path->orcpt, ';');
        FUZZ_CHECK(strlen(path->orcpt) <= SMTP_MAX_ORCPT);
        FUZZ_CHECK(semi != NULL && semi != path->orcpt && is_xtext(semi + 1, SMTP_MAX_ORCPT));
    }
}

/* The command as our sender writes it (sender-txn.c): the address in
 * brackets and the parameters we keep. */
static char *
canonical(const SmtpPath *path, gboolean mail)
{
    GString *s = g_string_new(mail ? "FROM:<" : "TO:<");

    g_string_append(s, path->address);
    g_string_append_c(s, '>');
    if (path->has_size)
        g_string_append_printf(s, " SIZE=%" G_GINT64_FORMAT, path->size);
    if (path->body == SMTP_BODY_8BITMIME)
        g_string_append(s, " BODY=8BITMIME");
    if (path->smtputf8)
        g_string_append(s, " SMTPUTF8");
    if (path->ret != NULL)
        g_string_append_printf(s, " RET=%s", path->ret);
    if (path->envid != NULL)
        g_string_append_printf(s, " ENVID=%s", path->envid);
    if (path->notify != NULL)
        g_string_append_printf(s, " NOTIFY=%s", path->notify);
    if (path->orcpt != NULL)
        g_string_append_printf(s, " ORCPT=%s", path->orcpt);
    return g_string_free(s, FALSE);
}

static void
check_path(const char *args, gboolean mail)
{
    g_autoptr(SmtpPath) path = g_new0(SmtpPath, 1);
    SmtpParseStatus st = mail ? smtp_parse_mail(args, path) : smtp_parse_rcpt(args, path);

    FUZZ_CHECK(st >= SMTP_PARSE_OK && st <= SMTP_PARSE_BAD_ADDRESS);
    if (st != SMTP_PARSE_OK) {
        FUZZ_CHECK(path->error != NULL && *path->error != '\0');
        return;
    }
    check_accepted(path, mail);

    g_autofree char *again = canonical(path, mail);
    g_autoptr(SmtpPath) back = g_new0(SmtpPath, 1);
    st = mail ? smtp_parse_mail(again, back) : smtp_parse_rcpt(again, back);
    if (st != SMTP_PARSE_OK)
        g_error("\"%s\" was accepted, its canonical form \"%s\" is not: %s", args, again,
                back->error);
    FUZZ_CHECK(strcmp(back->address, path->address) == 0);
    FUZZ_CHECK(back->has_size == path->has_size && back->size == path->size);
    FUZZ_CHECK(back->body == path->body && back->smtputf8 == path->smtputf8);
    FUZZ_CHECK(g_strcmp0(back->ret, path->ret) == 0);
    FUZZ_CHECK(g_strcmp0(back->envid, path->envid) == 0);
    FUZZ_CHECK(g_strcmp0(back->notify, path->notify) == 0);
    FUZZ_CHECK(g_strcmp0(back->orcpt, path->orcpt) == 0);
}

static void
check_helo(const char *arg)
{
    gsize len = strlen(arg);

    if (!smtp_valid_helo(arg))
        return;
    FUZZ_CHECK(len > 0 && len <= 255 && g_utf8_validate(arg, -1, NULL));
    for (gsize i = 0; i < len; i++)
        FUZZ_CHECK((guchar)arg[i] >= '!' && (guchar)arg[i] != 0x7f);
}

static void
check_bdat(const char *args)
{
    gint64 size = -1;
    gboolean last = TRUE;

    if (!smtp_parse_bdat(args, &size, &last)) {
        FUZZ_CHECK(!last);
        return;
    }
    FUZZ_CHECK(size >= 0);
    g_autofree char *again = g_strdup_printf("%" G_GINT64_FORMAT "%s", size, last ? " LAST" : "");
    gint64 size2 = -1;
    gboolean last2 = FALSE;
    FUZZ_CHECK(smtp_parse_bdat(again, &size2, &last2));
    FUZZ_CHECK(size2 == size && last2 == last);
}

/* xtext from a client that encodes correctly (RFC 3461 §4). */
static void
xtext_round_trip(const guint8 *data, gsize size, gsize max)
{
    GString *s = g_string_new(NULL);
    g_autofree char *text = NULL;

    for (gsize i = 0; i < size; i++) {
        if (data[i] >= '!' && data[i] <= '~' && data[i] != '+' && data[i] != '=')
            g_string_append_c(s, (char)data[i]);
        else
            g_string_append_printf(s, "+%02X", data[i]);
    }
    text = g_string_free(s, FALSE);
    FUZZ_CHECK(smtp_xtext_valid(text, max) == (*text != '\0' && strlen(text) <= max));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4 * SMTP_MAX_LINE)
        return 0;
    g_autofree char *text = g_strndup((const char *)data + 1, size - 1);
    gsize max = data[0] >> 3 == 0 ? 500 : data[0] >> 3;

    switch (data[0] & 7) {
    case 0:
    case 1:
        check_path(text, (data[0] & 7) == 0);
        break;
    case 2:
        check_helo(text);
        break;
    case 3:
        check_bdat(text);
        break;
    case 4:
        FUZZ_CHECK(smtp_xtext_valid(text, max) == is_xtext(text, max));
        break;
    case 5:
        xtext_round_trip(data + 1, size - 1, max);
        break;
    default:
        /* Both, as smtp-mail.c sees a line: MAIL, then RCPT. */
        check_path(text, TRUE);
        check_path(text, FALSE);
        break;
    }
    return 0;
}
