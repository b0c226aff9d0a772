/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "ctl.h"

#include <gio/gio.h>

#include "module-loader.h"

static void
test_json_structure(void)
{
    g_test_summary("Commas and nesting of the JSON writer");
    g_autoptr(CtlJson) json = ctl_json_new();
    ctl_json_begin_object(json);
    ctl_json_key(json, "a");
    ctl_json_begin_array(json);
    ctl_json_int(json, 1);
    ctl_json_int(json, -2);
    ctl_json_begin_object(json);
    ctl_json_key(json, "b");
    ctl_json_null(json);
    ctl_json_key(json, "c");
    ctl_json_string(json, NULL);
    ctl_json_end_object(json);
    ctl_json_begin_array(json);
    ctl_json_end_array(json);
    ctl_json_end_array(json);
    ctl_json_key(json, "d");
    ctl_json_bool(json, TRUE);
    ctl_json_key(json, "e");
    ctl_json_begin_object(json);
    ctl_json_end_object(json);
    ctl_json_key(json, "f");
    ctl_json_bool(json, FALSE);
    ctl_json_end_object(json);
    g_assert_cmpstr(ctl_json_get_text(json), ==,
                    "{\"a\":[1,-2,{\"b\":null,\"c\":null},[]],\"d\":true,\"e\":{},\"f\":false}");
}

static char *
escaped(const char *text)
{
    GString *out = g_string_new(NULL);
    ctl_json_append_escaped(out, text);
    return g_string_free(out, FALSE);
}

static void
test_json_escaping(void)
{
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        { "", "\"\"" },
        { "plain", "\"plain\"" },
        { "a\"b\\c/d", "\"a\\\"b\\\\c/d\"" },
        { "\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"" },
        { "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"" },
        { "Zoë 日本 😀", "\"Zoë 日本 😀\"" },
        { "line\xe2\x80\xa8sep\xe2\x80\xa9", "\"line\\u2028sep\\u2029\"" },
        { "bad\xff\xfe!", "\"bad\\ufffd\\ufffd!\"" },
        { "cut\xc3", "\"cut\\ufffd\"" },
        { "overlong\xc0\xaf", "\"overlong\\ufffd\\ufffd\"" },
    };
    g_test_summary("JSON strings are escaped per RFC 8259 and stay valid UTF-8");
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *got = escaped(cases[i].in);
        g_assert_cmpstr(got, ==, cases[i].out);
        g_assert_true(g_utf8_validate(got, -1, NULL));
    }
}

static void
test_printable(void)
{
    g_test_summary("Untrusted text cannot reach the terminal as control characters");
    g_autofree char *a = ctl_printable("ok é\x1b[2Jx\n\r\xff");
    g_assert_cmpstr(a, ==, "ok é?[2Jx???");
    g_autofree char *b = ctl_printable(NULL);
    g_assert_cmpstr(b, ==, "");
    g_autofree char *c = ctl_printable("\xc2\x9b"); /* C1 CSI */
    g_assert_cmpstr(c, ==, "?");
}

static GString *printed;

static void
capture_print(const char *text)
{
    g_string_append(printed, text);
}

static void
test_table(void)
{
    g_test_summary("Table columns line up, wide characters count twice, no trailing blanks");
    printed = g_string_new(NULL);
    GPrintFunc old = g_set_print_handler(capture_print);
    g_autoptr(CtlTable) table = ctl_table_new(3, "NAME", "FULL NAME", "X");
    ctl_table_add_row(table, "al", "日本", "1");
    ctl_table_add_row(table, "bartholomew", "Zoë", NULL);
    ctl_table_add_row(table, "e\x1b", "", "3");
    ctl_table_print(table);
    g_set_print_handler(old);
    g_assert_cmpstr(printed->str, ==,
                    "NAME         FULL NAME  X\n"
                    "al           日本       1\n"
                    "bartholomew  Zoë\n"
                    "e?                      3\n");
    g_string_free(printed, TRUE);
}

static void
test_exit_codes(void)
{
    static const struct {
        int code;
        int exit;
    } cases[] = {
        { CTL_ERROR_USAGE, 64 },       { CTL_ERROR_DATA, 65 },     { CTL_ERROR_NO_USER, 67 },
        { CTL_ERROR_UNAVAILABLE, 69 }, { CTL_ERROR_SOFTWARE, 70 }, { CTL_ERROR_EXISTS, 73 },
        { CTL_ERROR_IO, 74 },          { CTL_ERROR_CONFIG, 78 },
    };
    g_test_summary("Errors map to sysexits(3) codes");
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) e = g_error_new_literal(CTL_ERROR, cases[i].code, "x");
        g_assert_cmpint(ctl_exit_code(e), ==, cases[i].exit);
    }
    g_assert_cmpint(ctl_exit_code(NULL), ==, 0);
    g_autoptr(GError) nf = g_error_new_literal(PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND, "x");
    g_assert_cmpint(ctl_exit_code(nf), ==, 67);
    g_autoptr(GError) ex = g_error_new_literal(PR_STORE_ERROR, PR_STORE_ERROR_EXISTS, "x");
    g_assert_cmpint(ctl_exit_code(ex), ==, 73);
    g_autoptr(GError) failed = g_error_new_literal(PR_STORE_ERROR, PR_STORE_ERROR_FAILED, "x");
    g_assert_cmpint(ctl_exit_code(failed), ==, 70);
    g_autoptr(GError) cfg = g_error_new_literal(PR_CONFIG_ERROR, PR_CONFIG_ERROR_UNKNOWN, "x");
    g_assert_cmpint(ctl_exit_code(cfg), ==, 78);
    g_autoptr(GError) io = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "x");
    g_assert_cmpint(ctl_exit_code(io), ==, 74);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
    g_test_add_func("/ctl/json/structure", test_json_structure);
    g_test_add_func("/ctl/json/escaping", test_json_escaping);
    g_test_add_func("/ctl/printable", test_printable);
    g_test_add_func("/ctl/table", test_table);
    g_test_add_func("/ctl/exit-codes", test_exit_codes);
    return g_test_run();
}
