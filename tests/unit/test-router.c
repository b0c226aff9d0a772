/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "router.h"

/* Each case routes one or more recipients through a small directory and
 * compares where the message lands: "mailboxes|remote addresses", each
 * sorted and comma-separated. */

static RouterUser *
user(const char *name)
{
    RouterUser *u = g_new0(RouterUser, 1);
    u->name = g_strdup(name);
    u->in_everyone = TRUE;
    return u;
}

static RouterList *
list(const char *name, const char *members, gboolean local_only)
{
    RouterList *l = g_new0(RouterList, 1);
    l->name = g_strdup(name);
    l->kind = ROUTER_LIST_DISTRIBUTION;
    l->local_senders_only = local_only;
    l->members = g_strsplit(members, ",", -1);
    return l;
}

/* example.com and *.example.org are local; users alice bob carol dave
 * sales; default domain example.com. */
static RouterData *
directory(void)
{
    RouterData *d = router_data_new();
    g_free(d->default_domain);
    d->default_domain = g_strdup("example.com");
    g_strfreev(d->local_domains);
    d->local_domains = g_strsplit("example.com;*.example.org;special@partner.net", ";", -1);
    const char *names[] = { "alice", "bob", "carol", "dave", "sales", NULL };
    for (int i = 0; names[i] != NULL; i++)
        router_data_add_user(d, user(names[i]));
    return d;
}

static int
compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *
sorted(GPtrArray *a)
{
    g_autoptr(GPtrArray) copy = g_ptr_array_new();
    for (guint i = 0; i < a->len; i++)
        g_ptr_array_add(copy, a->pdata[i]);
    g_ptr_array_sort(copy, compare_strings);
    g_ptr_array_add(copy, NULL);
    return g_strjoinv(",", (char **)copy->pdata);
}

static RouterMessage
from_outside(void)
{
    RouterMessage m = { .sender = "stranger@elsewhere.net", .size = 4096 };
    return m;
}

static RouterMessage
from_local(const char *auth_user)
{
    RouterMessage m = { .sender = "", .auth_user = auth_user, .sender_local = TRUE, .size = 4096 };
    return m;
}

/* Routes @rcpts (comma-separated) and checks the whole outcome. */
static void
check(const RouterData *d, const RouterMessage *m, const char *rcpts, const char *expected)
{
    g_auto(GStrv) list_of = g_strsplit(rcpts, ",", -1);
    g_autoptr(RouterOutcome) out = router_route(d, m, (const char *const *)list_of);
    g_autofree char *boxes = sorted(out->mailboxes);
    g_autofree char *remote = sorted(out->remote);
    g_autofree char *got = g_strdup_printf("%s|%s", boxes, remote);
    g_assert_cmpstr(got, ==, expected);
}

static RouterStatus
status_of(const RouterData *d, const RouterMessage *m, const char *rcpt)
{
    const char *r[] = { rcpt, NULL };
    g_autoptr(RouterOutcome) out = router_route(d, m, r);
    return ((RouterResult *)out->results->pdata[0])->status;
}

static void
test_domains(void)
{
    g_autoptr(RouterData) d = directory();
    RouterMessage m = from_outside();
    g_test_summary("Bare names get the default domain; local domains match with wildcards "
                   "and as full addresses; other domains are remote");
    check(d, &m, "alice", "alice|");
    check(d, &m, "ALICE@Example.COM", "alice|");
    check(d, &m, "bob@mail.example.org", "bob|");
    check(d, &m, "bob@example.org", "|bob@example.org");
    check(d, &m, "special@partner.net", "|");
    g_assert_cmpint(status_of(d, &m, "special@partner.net"), ==, ROUTER_UNKNOWN_LOCAL);
    check(d, &m, "alice@partner.net", "|alice@partner.net");
    check(d, &m, "<carol@example.com>", "carol|");
    g_assert_cmpint(status_of(d, &m, "nobody@example.com"), ==, ROUTER_UNKNOWN_LOCAL);
    g_assert_cmpint(status_of(d, &m, "bad address@example.com"), ==, ROUTER_UNKNOWN_LOCAL);
}

static void
test_mappings(void)
{
    g_autoptr(RouterData) d = directory();
    RouterMessage m = from_outside();
    g_test_summary("Mappings: all matching apply, they override the implicit user, name@domain "
                   "is domain-specific, wildcards, catch-all only when nothing else matched");
    router_data_add_mapping(d, "sales", "bob");
    check(d, &m, "sales@example.com", "bob|");
    router_data_add_mapping(d, "sales", "carol");
    check(d, &m, "sales@example.com", "bob,carol|");
    router_data_add_mapping(d, "sales", "sales");
    check(d, &m, "sales@example.com", "bob,carol,sales|");

    router_data_add_mapping(d, "info@example.com", "dave");
    check(d, &m, "info@example.com", "dave|");
    g_assert_cmpint(status_of(d, &m, "info@www.example.org"), ==, ROUTER_UNKNOWN_LOCAL);

    router_data_add_mapping(d, "sup?ort*", "alice");
    check(d, &m, "support-team@example.com", "alice|");

    router_data_add_mapping(d, "~@example.com", "dave");
    check(d, &m, "whoever@example.com", "dave|");
    check(d, &m, "carol@example.com", "carol|");
    g_assert_cmpint(status_of(d, &m, "whoever@www.example.org"), ==, ROUTER_UNKNOWN_LOCAL);

    /* A mapping to an address in a local domain is followed. */
    router_data_add_mapping(d, "boss", "alice@example.com");
    check(d, &m, "boss", "alice|");
    /* A mapping to an outside address sends it out. */
    router_data_add_mapping(d, "ext", "partner@elsewhere.net");
    check(d, &m, "ext@example.com", "|partner@elsewhere.net");
}

static void
test_implicit_off_and_remote(void)
{
    g_autoptr(RouterData) d = directory();
    RouterMessage m = from_outside();
    g_test_summary("The implicit user match can be switched off; *REMOTE sends a local-domain "
                   "address out");
    d->implicit_user_mapping = FALSE;
    g_assert_cmpint(status_of(d, &m, "alice@example.com"), ==, ROUTER_UNKNOWN_LOCAL);
    router_data_add_mapping(d, "alice@example.com", "alice");
    check(d, &m, "alice@example.com", "alice|");

    router_data_add_mapping(d, "roamer", "*REMOTE");
    check(d, &m, "roamer@example.com", "|roamer@example.com");
}

static void
test_implicit_off_per_message(void)
{
    g_autoptr(RouterData) d = directory();
    RouterMessage m = from_outside();
    g_test_summary("A message (a collector's) can switch the implicit user match off for itself "
                   "only; mappings and lists still apply");
    m.no_implicit_user_mapping = TRUE;
    g_assert_cmpint(status_of(d, &m, "alice@example.com"), ==, ROUTER_UNKNOWN_LOCAL);
    router_data_add_list(d, list("team", "alice,bob", FALSE));
    check(d, &m, "team@example.com", "alice,bob|");
    router_data_add_mapping(d, "info", "carol");
    check(d, &m, "info@example.com", "carol|");

    RouterMessage other = from_outside();
    check(d, &other, "alice@example.com", "alice|");
}

static void
test_lists(void)
{
    g_autoptr(RouterData) d = directory();
    RouterMessage outside = from_outside();
    RouterMessage inside = from_local("alice");
    g_test_summary("Lists expand to users, lists, mappings and outside addresses; nesting loops "
                   "are cut; local-only lists refuse outside senders; everyone is built in");
    router_data_add_mapping(d, "helpdesk", "dave");
    router_data_add_list(d, list("team", "alice,bob,helpdesk,friend@elsewhere.net,inner", FALSE));
    router_data_add_list(d, list("inner", "carol,team", FALSE));
    check(d, &outside, "team@example.com", "alice,bob,carol,dave|friend@elsewhere.net");

    const char *r[] = { "team@example.com", NULL };
    g_autoptr(RouterOutcome) out = router_route(d, &outside, r);
    RouterResult *res = out->results->pdata[0];
    g_assert_cmpint(res->status, ==, ROUTER_OK);
    g_assert_cmpuint(res->notes->len, ==, 1);
    g_assert_nonnull(strstr(res->notes->pdata[0], "contains itself"));

    router_data_add_list(d, list("staff", "bob", TRUE));
    g_assert_cmpint(status_of(d, &outside, "staff@example.com"), ==, ROUTER_REFUSED);
    check(d, &inside, "staff@example.com", "bob|");

    ((RouterUser *)g_hash_table_lookup(d->users, "sales"))->in_everyone = FALSE;
    check(d, &outside, "everyone@example.com", "alice,bob,carol,dave|");
}

static void
test_forwarding(void)
{
    g_autoptr(RouterData) d = directory();
    RouterMessage m = from_outside();
    g_test_summary("Forwarding replaces the local copy unless keep-copy is set; forwarding "
                   "loops end");
    RouterUser *bob = g_hash_table_lookup(d->users, "bob");
    bob->forward_to = g_strsplit("bob@home.example.net", ",", -1);
    check(d, &m, "bob", "|bob@home.example.net");
    bob->forward_keep_copy = TRUE;
    check(d, &m, "bob", "bob|bob@home.example.net");

    RouterUser *carol = g_hash_table_lookup(d->users, "carol");
    RouterUser *dave = g_hash_table_lookup(d->users, "dave");
    carol->forward_to = g_strsplit("dave", ",", -1);
    dave->forward_to = g_strsplit("carol", ",", -1);
    check(d, &m, "carol", "carol|");
}

static void
test_assistants(void)
{
    g_autoptr(RouterData) d = directory();
    g_test_summary("Assistants get copies; only-assistant keeps mail from the boss unless the "
                   "assistant sent it; an assistant's assistant is not applied");
    RouterUser *alice = g_hash_table_lookup(d->users, "alice");
    RouterUser *bob = g_hash_table_lookup(d->users, "bob");
    alice->assistants = g_strsplit("bob", ",", -1);
    bob->assistants = g_strsplit("carol", ",", -1);
    RouterMessage outside = from_outside();
    check(d, &outside, "alice", "alice,bob|");
    alice->assistant_only = TRUE;
    check(d, &outside, "alice", "bob|");

    RouterMessage from_bob = from_local("bob");
    check(d, &from_bob, "alice", "alice|");
    RouterMessage from_bob_unauth = { .sender = "Bob@example.com", .sender_local = TRUE };
    check(d, &from_bob_unauth, "alice", "alice|");
    /* Mail straight to bob still reaches his own assistant. */
    check(d, &outside, "bob", "bob,carol|");
}

static void
test_fax_and_unknown(void)
{
    g_autoptr(RouterData) d = directory();
    RouterMessage inside = from_local("alice");
    RouterMessage outside = from_outside();
    g_test_summary("The fax mailbox takes locally sent mail for unknown local addresses; "
                   "unknown local recipients can be sent out instead");
    d->fax_mailbox = g_strdup("dave");
    check(d, &inside, "0123456789@example.com", "dave|");
    g_assert_cmpint(status_of(d, &outside, "0123456789@example.com"), ==, ROUTER_UNKNOWN_LOCAL);
    g_clear_pointer(&d->fax_mailbox, g_free);
    d->unknown_local_outgoing = TRUE;
    check(d, &inside, "newhire@example.com", "|newhire@example.com");
    g_assert_cmpint(status_of(d, &outside, "newhire@example.com"), ==, ROUTER_UNKNOWN_LOCAL);
}

static void
test_monitoring(void)
{
    g_autoptr(RouterData) d = directory();
    g_test_summary("Monitoring copies for incoming, outgoing and internal mail, by scope and "
                   "minimum size, never to someone who gets the message anyway");
    d->monitor_incoming.scope = ROUTER_MONITOR_SELECTED;
    d->monitor_incoming.users = g_strsplit("bob", ",", -1);
    d->monitor_incoming.target = g_strdup("dave");
    d->monitor_outgoing.scope = ROUTER_MONITOR_ALL;
    d->monitor_outgoing.target = g_strdup("carol");
    d->monitor_outgoing.min_size = 10000;
    d->monitor_internal.scope = ROUTER_MONITOR_ALL;
    d->monitor_internal.target = g_strdup("dave");

    RouterMessage outside = from_outside();
    const char *to_bob[] = { "bob", NULL };
    const char *to_alice[] = { "alice", NULL };
    const char *to_world[] = { "friend@elsewhere.net", NULL };
    g_autoptr(RouterOutcome) a = router_route(d, &outside, to_bob);
    g_autofree char *a_copies = sorted(a->monitor_mailboxes);
    g_assert_cmpstr(a_copies, ==, "dave");
    g_autoptr(RouterOutcome) b = router_route(d, &outside, to_alice);
    g_assert_cmpuint(b->monitor_mailboxes->len, ==, 0);

    RouterMessage small = from_local("alice");
    g_autoptr(RouterOutcome) c = router_route(d, &small, to_world);
    g_assert_cmpuint(c->monitor_mailboxes->len, ==, 0);
    RouterMessage big = from_local("alice");
    big.size = 20000;
    g_autoptr(RouterOutcome) e = router_route(d, &big, to_world);
    g_autofree char *e_copies = sorted(e->monitor_mailboxes);
    g_assert_cmpstr(e_copies, ==, "carol");

    g_autoptr(RouterOutcome) f = router_route(d, &small, to_bob);
    g_autofree char *f_copies = sorted(f->monitor_mailboxes);
    g_assert_cmpstr(f_copies, ==, "dave");
    const char *to_dave[] = { "dave", NULL };
    g_autoptr(RouterOutcome) g = router_route(d, &small, to_dave);
    g_assert_cmpuint(g->monitor_mailboxes->len, ==, 0);
}

static void
test_hops_and_loops(void)
{
    g_autoptr(RouterData) d = directory();
    g_test_summary("More Received: lines than the hop limit stop the message; a Delivered-To "
                   "for the recipient is a mail loop");
    RouterMessage m = from_outside();
    const char *r[] = { "alice", NULL };
    m.received_count = 31;
    g_autoptr(RouterOutcome) out = router_route(d, &m, r);
    g_assert_true(out->too_many_hops);
    g_assert_cmpuint(out->mailboxes->len, ==, 0);
    m.received_count = 30;
    const char *seen[] = { "ALICE@example.com", NULL };
    m.delivered_to = seen;
    g_assert_cmpint(status_of(d, &m, "alice"), ==, ROUTER_LOOP);
    g_assert_cmpint(status_of(d, &m, "bob"), ==, ROUTER_OK);

    /* The mailbox, not the address typed: another domain, or a mapping,
     * leading back to a mailbox the message already reached is a loop too. */
    g_assert_cmpint(status_of(d, &m, "alice@www.example.org"), ==, ROUTER_LOOP);
    router_data_add_mapping(d, "boss", "alice");
    router_data_add_list(d, list("both", "alice,bob", FALSE));
    g_assert_cmpint(status_of(d, &m, "boss"), ==, ROUTER_LOOP);
    check(d, &m, "both", "bob|");
}

static void
test_dedup(void)
{
    g_autoptr(RouterData) d = directory();
    RouterMessage m = from_outside();
    g_test_summary("A mailbox reached through several recipients gets one copy");
    router_data_add_list(d, list("team", "alice,bob", FALSE));
    check(d, &m, "alice,team,ALICE@example.com", "alice,bob|");
}

/* router_expand() as "mailboxes|remote" in walk order, or "unknown". */
static char *
expanded(const RouterData *d, const char *address)
{
    g_autoptr(RouterResult) r = router_expand(d, address);
    if (r->status != ROUTER_OK)
        return g_strdup("unknown");
    g_ptr_array_add(r->mailboxes, NULL);
    g_ptr_array_add(r->remote, NULL);
    g_autofree char *boxes = g_strjoinv(",", (char **)r->mailboxes->pdata);
    g_autofree char *remote = g_strjoinv(",", (char **)r->remote->pdata);
    return g_strdup_printf("%s|%s", boxes, remote);
}

#define assert_expands(d, address, expected)                                                       \
    do {                                                                                           \
        g_autofree char *got_ = expanded(d, address);                                              \
        g_assert_cmpstr(got_, ==, expected);                                                       \
    } while (0)

static void
test_expand(void)
{
    g_autoptr(RouterData) d = directory();
    g_test_summary("EXPN: users, mappings, nested and local-only lists and everyone expand to "
                   "names; forwarding and assistants are not followed; unknown names are "
                   "unknown");
    router_data_add_mapping(d, "helpdesk", "dave");
    router_data_add_mapping(d, "~@example.com", "sales");
    router_data_add_list(d, list("team", "alice,bob,helpdesk,friend@elsewhere.net,inner", FALSE));
    router_data_add_list(d, list("inner", "carol,team,alice", TRUE));
    router_data_add_list(d, list("empty", "", FALSE));
    RouterUser *bob = g_hash_table_lookup(d->users, "bob");
    bob->forward_to = g_strsplit("bob@home.example.net", ",", -1);
    RouterUser *alice = g_hash_table_lookup(d->users, "alice");
    alice->assistants = g_strsplit("carol", ",", -1);
    alice->assistant_only = TRUE;

    assert_expands(d, "team@example.com", "alice,bob,dave,carol|friend@elsewhere.net");
    assert_expands(d, "<inner>", "carol,alice,bob,dave|friend@elsewhere.net");
    assert_expands(d, "bob", "bob|");
    assert_expands(d, "helpdesk@example.com", "dave|");
    assert_expands(d, "everyone", "alice,bob,carol,dave,sales|");
    assert_expands(d, "someone@elsewhere.net", "|someone@elsewhere.net");
    assert_expands(d, "empty", "|");
    /* A catch-all answers for any name, as it would take the mail. */
    assert_expands(d, "nobody@example.com", "sales|");
    assert_expands(d, "nobody@sub.example.org", "unknown");
    assert_expands(d, "not an address", "unknown");
}

static void
test_sender_user(void)
{
    g_autoptr(RouterData) d = directory();
    g_test_summary("The sending user guessed from MAIL FROM: one mailbox through the implicit "
                   "match or a mapping; no catch-all, list or outside address");
    router_data_add_mapping(d, "al.ice", "alice");
    router_data_add_mapping(d, "both", "alice");
    router_data_add_mapping(d, "both", "bob");
    router_data_add_mapping(d, "~@example.com", "sales");
    router_data_add_list(d, list("team", "alice,bob", FALSE));
    router_data_add_list(d, list("solo", "carol", FALSE));
    RouterUser *bob = g_hash_table_lookup(d->users, "bob");
    bob->forward_to = g_strsplit("bob@home.example.net", ",", -1);
    const struct {
        const char *sender;
        const char *user;
    } cases[] = {
        { "alice@example.com", "alice" },
        { "ALICE@Example.COM", "alice" },
        { "al.ice@example.com", "alice" },
        { "bob@x.example.org", "bob" }, /* forwarding does not matter */
        { "both@example.com", NULL },
        { "team@example.com", NULL },
        { "solo@example.com", "carol" },
        { "nobody@example.com", NULL }, /* only the catch-all */
        { "alice@elsewhere.net", NULL },
        { "", NULL },
        { "not an address", NULL },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *got = router_sender_user(d, cases[i].sender);
        g_assert_cmpstr(got, ==, cases[i].user);
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
    g_test_add_func("/router/domains", test_domains);
    g_test_add_func("/router/mappings", test_mappings);
    g_test_add_func("/router/implicit-off-and-remote", test_implicit_off_and_remote);
    g_test_add_func("/router/implicit-off-per-message", test_implicit_off_per_message);
    g_test_add_func("/router/lists", test_lists);
    g_test_add_func("/router/forwarding", test_forwarding);
    g_test_add_func("/router/assistants", test_assistants);
    g_test_add_func("/router/fax-and-unknown", test_fax_and_unknown);
    g_test_add_func("/router/monitoring", test_monitoring);
    g_test_add_func("/router/hops-and-loops", test_hops_and_loops);
    g_test_add_func("/router/dedup", test_dedup);
    g_test_add_func("/router/expand", test_expand);
    g_test_add_func("/router/sender-user", test_sender_user);
    return g_test_run();
}
