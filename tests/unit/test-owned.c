/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Addresses modules own (pr_delivery_claim_address()): which local parts
 * may be claimed, one owner per local part, which addresses match (every
 * local domain, any +detail, any case), and handing a message over. */
#include "config.h"

#include "delivery-owned.h"

#include <string.h>

/* Two distinct module pointers: the table only compares them. */
static int module_a, module_b;
#define MODULE_A ((PrModule *)&module_a)
#define MODULE_B ((PrModule *)&module_b)

static RouterData *
directory(void)
{
    RouterData *d = router_data_new();
    g_free(d->default_domain);
    d->default_domain = g_strdup("example.com");
    g_strfreev(d->local_domains);
    d->local_domains = g_strsplit("example.com;*.example.org;special@partner.net", ";", -1);
    return d;
}

static void
test_valid(void)
{
    g_assert_true(owned_local_part_valid("postroom-collector"));
    g_assert_true(owned_local_part_valid("a.b_c=d"));
    g_assert_true(owned_local_part_valid("X"));
    g_assert_false(owned_local_part_valid(""));
    g_assert_false(owned_local_part_valid(NULL));
    g_assert_false(owned_local_part_valid("a+b"));
    g_assert_false(owned_local_part_valid("a@b"));
    g_assert_false(owned_local_part_valid("a b"));
    g_autofree char *longest = g_strnfill(64, 'a');
    g_autofree char *too_long = g_strnfill(65, 'a');
    g_assert_true(owned_local_part_valid(longest));
    g_assert_false(owned_local_part_valid(too_long));
}

static void
test_split(void)
{
    g_autofree char *lp = NULL, *detail = NULL;
    g_assert_true(owned_address_split("Robot+AbC@example.com", &lp, &detail));
    g_assert_cmpstr(lp, ==, "robot");
    g_assert_cmpstr(detail, ==, "AbC");
    g_clear_pointer(&lp, g_free);
    g_clear_pointer(&detail, g_free);
    g_assert_true(owned_address_split("robot@example.com", &lp, &detail));
    g_assert_cmpstr(lp, ==, "robot");
    g_assert_null(detail);
    g_clear_pointer(&lp, g_free);
    /* Only the first + splits; an empty detail is a detail. */
    g_assert_true(owned_address_split("r+a+b@x", &lp, &detail));
    g_assert_cmpstr(lp, ==, "r");
    g_assert_cmpstr(detail, ==, "a+b");
    g_clear_pointer(&lp, g_free);
    g_clear_pointer(&detail, g_free);
    g_assert_true(owned_address_split("r+@x", &lp, &detail));
    g_assert_cmpstr(detail, ==, "");
    g_clear_pointer(&lp, g_free);
    g_clear_pointer(&detail, g_free);
    g_assert_false(owned_address_split("no-at-sign", &lp, &detail));
    g_assert_false(owned_address_split("@example.com", &lp, &detail));
}

/* The warning of a message nobody owns any more is expected: counted,
 * not fatal. */
static int dropped;

static GLogWriterOutput
writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
    for (gsize i = 0; i < n_fields; i++) {
        if (g_strcmp0(fields[i].key, "MESSAGE") == 0 && fields[i].length < 0 &&
            strstr(fields[i].value, "was dropped") != NULL) {
            dropped++;
            return G_LOG_WRITER_HANDLED;
        }
    }
    return g_log_writer_default(level, fields, n_fields, user_data);
}

static int calls;
static char *last_detail;

static void
on_mail(PrHost *host, const PrOwnedMail *mail, gpointer user_data)
{
    calls += GPOINTER_TO_INT(user_data);
    g_free(last_detail);
    last_detail = g_strdup(mail->detail);
}

static void
test_claims(void)
{
    g_autoptr(RouterData) d = directory();
    OwnedAddresses *o = owned_addresses_new();
    g_autoptr(GError) error = NULL;

    /* Nothing claimed: nothing matches. */
    g_assert_null(owned_addresses_match(o, d, "robot@example.com"));
    g_assert_true(owned_addresses_claim(o, MODULE_A, "Robot", on_mail, GINT_TO_POINTER(1), &error));
    g_assert_no_error(error);
    /* Another module cannot take it; the owner can claim it again. */
    g_assert_false(owned_addresses_claim(o, MODULE_B, "robot", on_mail, NULL, &error));
    g_assert_error(error, PR_DELIVERY_ERROR, PR_DELIVERY_ERROR_ADDRESS_TAKEN);
    g_clear_error(&error);
    g_assert_true(owned_addresses_claim(o, MODULE_A, "robot", on_mail, GINT_TO_POINTER(10), NULL));

    static const struct {
        const char *address, *recipient, *detail;
    } matches[] = {
        { "robot@example.com", "robot@example.com", NULL },
        { "<ROBOT@EXAMPLE.COM>", "ROBOT@example.com", NULL },
        { "robot", "robot@example.com", NULL },
        { "robot+tok3n@example.com", "robot+tok3n@example.com", "tok3n" },
        { "robot@sub.example.org", "robot@sub.example.org", NULL },
    };
    for (guint i = 0; i < G_N_ELEMENTS(matches); i++) {
        g_autoptr(OwnedMatch) m = owned_addresses_match(o, d, matches[i].address);
        g_assert_nonnull(m);
        g_assert_cmpstr(m->recipient, ==, matches[i].recipient);
        g_assert_cmpstr(m->local_part, ==, "robot");
        g_assert_cmpstr(m->detail, ==, matches[i].detail);
    }
    static const char *const misses[] = {
        "robot@elsewhere.net", /* not a local domain */
        "robot@example.org",   /* *.example.org covers subdomains only */
        "robot@partner.net",   /* only special@partner.net is local */
        "robots@example.com",  /* another local part */
        "rob+ot@example.com",  /* the part before + is the local part */
        "not an address",      "",
    };
    for (guint i = 0; i < G_N_ELEMENTS(misses); i++)
        g_assert_null(owned_addresses_match(o, d, misses[i]));

    /* Handing over reaches the latest claim's function and data. */
    PrOwnedMail mail = {
        .sender = "a@b", .recipient = "robot+x@example.com", .local_part = "robot", .detail = "x"
    };
    calls = 0;
    g_assert_true(owned_addresses_dispatch(o, NULL, &mail));
    g_assert_cmpint(calls, ==, 10);
    g_assert_cmpstr(last_detail, ==, "x");

    /* Only the owner releases. */
    owned_addresses_release(o, MODULE_B, "robot");
    g_autoptr(OwnedMatch) still = owned_addresses_match(o, d, "robot@example.com");
    g_assert_nonnull(still);
    owned_addresses_release(o, MODULE_A, "ROBOT");
    g_assert_null(owned_addresses_match(o, d, "robot@example.com"));
    dropped = 0;
    g_assert_false(owned_addresses_dispatch(o, NULL, &mail));
    g_assert_cmpint(dropped, ==, 1);
    g_assert_cmpint(calls, ==, 10);

    /* A module that unloads loses its claims, and only its own. */
    g_assert_true(owned_addresses_claim(o, MODULE_A, "one", on_mail, NULL, NULL));
    g_assert_true(owned_addresses_claim(o, MODULE_B, "two", on_mail, NULL, NULL));
    owned_addresses_forget_module(o, MODULE_A);
    g_assert_null(owned_addresses_match(o, d, "one@example.com"));
    g_autoptr(OwnedMatch) two = owned_addresses_match(o, d, "two@example.com");
    g_assert_nonnull(two);
    g_assert_true(owned_addresses_claim(o, MODULE_B, "one", on_mail, NULL, NULL));

    owned_addresses_free(o);
    g_clear_pointer(&last_detail, g_free);
}

int
main(int argc, char **argv)
{
    g_log_set_writer_func(writer, NULL, NULL);
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/owned/valid", test_valid);
    g_test_add_func("/owned/split", test_split);
    g_test_add_func("/owned/claims", test_claims);
    return g_test_run();
}
