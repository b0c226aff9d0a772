/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Hook chains, the provide/lookup registry and the registration of line
 * protocols and commands, with modules wrapped from static descriptors. */
#include "config.h"

#include <glib/gstdio.h>

#include "hooks.h"
#include "host.h"
#include "module-loader.h"
#include "protocol.h"

static gboolean
fx_init(PrModule *self, PrHost *host, GError **error)
{
    return TRUE;
}

static const char *const proto_services[] = { "fxproto", "fxother", NULL };
static const char *const ext_requires[] = { "fx_proto", NULL };
static const char *const lone_services[] = { "fxlone", NULL };

static const PrModuleDesc proto_desc = {
    PR_MODULE_ABI_MAJOR,
    PR_MODULE_ABI_MINOR,
    sizeof(PrModuleDesc),
    "fx_proto",
    "proto",
    "1.0",
    "MIT",
    .services = proto_services,
    .init = fx_init,
};
static const PrModuleDesc ext_desc = {
    PR_MODULE_ABI_MAJOR,
    PR_MODULE_ABI_MINOR,
    sizeof(PrModuleDesc),
    "fx_ext",
    "ext",
    "1.0",
    "MIT",
    .requires = ext_requires,
    .init = fx_init,
};
static const PrModuleDesc stranger_desc = {
    PR_MODULE_ABI_MAJOR,
    PR_MODULE_ABI_MINOR,
    sizeof(PrModuleDesc),
    "fx_stranger",
    "stranger",
    "1.0",
    "MIT",
    .services = lone_services,
    .init = fx_init,
};
static const PrModuleDesc plain_desc = {
    PR_MODULE_ABI_MAJOR,
    PR_MODULE_ABI_MINOR,
    sizeof(PrModuleDesc),
    "fx_plain",
    "no services",
    "1.0",
    "MIT",
    .init = fx_init,
};

typedef struct {
    char *dir;
    Config *config;
    PrHost *host;
    PrModule *proto;    /* serves fxproto, fxother */
    PrModule *ext;      /* requires fx_proto */
    PrModule *stranger; /* serves fxlone, requires nothing */
    PrModule *plain;    /* no services */
    GString *log;       /* what handlers did, in order */
    GMainLoop *loop;
    int done_calls;
    gboolean stopped;
    char *reply;
} Fixture;

static PrModule *
wrap(const PrModuleDesc *desc)
{
    g_autoptr(GError) error = NULL;
    PrModule *m = loader_wrap(desc, &error);
    g_assert_no_error(error);
    return m;
}

static void
fixture_set_up(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    fx->dir = g_dir_make_tmp("pr-hooks-XXXXXX", &error);
    g_assert_no_error(error);
    g_autofree char *path = g_build_filename(fx->dir, "postroomd.conf", NULL);
    g_autofree char *text =
        g_strdup_printf("[server]\ndata_dir=%s\nhostname=hooks.test\n", fx->dir);
    g_assert_true(g_file_set_contents(path, text, -1, &error));
    g_assert_no_error(error);
    fx->config = config_load(path, &error);
    g_assert_no_error(error);
    fx->host = host_new(fx->config);
    fx->proto = wrap(&proto_desc);
    fx->ext = wrap(&ext_desc);
    fx->stranger = wrap(&stranger_desc);
    fx->plain = wrap(&plain_desc);
    fx->log = g_string_new(NULL);
    fx->loop = g_main_loop_new(NULL, FALSE);
}

static void
fixture_tear_down(Fixture *fx, gconstpointer data)
{
    host_free(fx->host);
    config_unref(fx->config);
    loader_module_free(fx->proto);
    loader_module_free(fx->ext);
    loader_module_free(fx->stranger);
    loader_module_free(fx->plain);
    g_string_free(fx->log, TRUE);
    g_main_loop_unref(fx->loop);
    g_free(fx->reply);
    g_autofree char *path = g_build_filename(fx->dir, "postroomd.conf", NULL);
    g_unlink(path);
    g_rmdir(fx->dir);
    g_free(fx->dir);
}

static void
test_host_facts(Fixture *fx, gconstpointer data)
{
    g_assert_cmpstr(pr_host_get_hostname(fx->host), ==, "hooks.test");
    g_assert_cmpstr(pr_host_get_data_dir(fx->host), ==, fx->dir);
}

/* Handlers: user_data is a Step naming the handler and what it returns. */
typedef struct {
    Fixture *fx;
    const char *name;
    PrHookResult result;
    gboolean resume_early;  /* call resume() before returning ASYNC */
    PrHookResult resume_as; /* result passed to resume() */
    const char *reply;
} Step;

typedef struct {
    PrHookContext *ctx;
    PrHookResult result;
    Fixture *fx;
} Resume;

static gboolean
resume_idle(gpointer data)
{
    Resume *r = data;
    g_string_append(r->fx->log, "resume;");
    pr_hook_context_resume(r->ctx, r->result);
    pr_hook_context_unref(r->ctx);
    g_free(r);
    return G_SOURCE_REMOVE;
}

static PrHookResult
step_handler(PrHookContext *ctx, gpointer user_data)
{
    Step *step = user_data;
    g_string_append_printf(step->fx->log, "%s;", step->name);
    if (step->reply != NULL)
        pr_hook_context_set_reply(ctx, step->reply);
    if (step->result != PR_HOOK_ASYNC)
        return step->result;
    if (step->resume_early) {
        pr_hook_context_resume(ctx, step->resume_as);
        return PR_HOOK_ASYNC;
    }
    Resume *r = g_new0(Resume, 1);
    r->ctx = pr_hook_context_ref(ctx);
    r->result = step->resume_as;
    r->fx = step->fx;
    g_idle_add(resume_idle, r);
    return PR_HOOK_ASYNC;
}

static void
done_cb(PrHookContext *ctx, gboolean stopped, gpointer user_data)
{
    Fixture *fx = user_data;
    fx->done_calls++;
    fx->stopped = stopped;
    g_free(fx->reply);
    fx->reply = g_strdup(pr_hook_context_get_reply(ctx));
    g_string_append(fx->log, "done;");
    g_main_loop_quit(fx->loop);
}

static void
connect_step(Fixture *fx, PrModule *owner, const char *hook, int priority, Step *step)
{
    step->fx = fx;
    pr_host_connect_hook(fx->host, owner, hook, step_handler, priority, step, NULL);
}

/* Runs @hook; returns TRUE if it finished before pr_host_run_hook() returned. */
static gboolean
run(Fixture *fx, const char *hook)
{
    PrHookContext *ctx = pr_hook_context_new(hook);
    fx->done_calls = 0;
    pr_host_run_hook(fx->host, ctx, done_cb, fx);
    gboolean sync = fx->done_calls == 1;
    pr_hook_context_unref(ctx);
    return sync;
}

static gboolean
timeout_cb(gpointer data)
{
    g_error("the hook chain did not finish in time");
    return G_SOURCE_REMOVE;
}

static void
wait_done(Fixture *fx)
{
    if (fx->done_calls > 0)
        return;
    guint id = g_timeout_add_seconds(10, timeout_cb, NULL);
    g_main_loop_run(fx->loop);
    g_source_remove(id);
}

static void
test_priorities(Fixture *fx, gconstpointer data)
{
    Step late = { .name = "late" }, early1 = { .name = "early1" }, early2 = { .name = "early2" };
    Step def1 = { .name = "def1" }, def2 = { .name = "def2" }, other = { .name = "other" };

    connect_step(fx, fx->proto, "h", PR_HOOK_PRIORITY_LATE, &late);
    connect_step(fx, fx->proto, "h", PR_HOOK_PRIORITY_DEFAULT, &def1);
    connect_step(fx, fx->ext, "h", PR_HOOK_PRIORITY_EARLY, &early1);
    connect_step(fx, fx->proto, "h", PR_HOOK_PRIORITY_DEFAULT, &def2);
    connect_step(fx, fx->proto, "h", PR_HOOK_PRIORITY_EARLY, &early2);
    connect_step(fx, fx->proto, "other-hook", 0, &other);
    g_assert_true(hooks_has_handlers(fx->host, "h"));
    g_assert_false(hooks_has_handlers(fx->host, "nobody"));

    g_assert_true(run(fx, "h"));
    g_assert_cmpstr(fx->log->str, ==, "early1;early2;def1;def2;late;done;");
    g_assert_false(fx->stopped);
    g_assert_null(fx->reply);
}

static void
test_no_handlers(Fixture *fx, gconstpointer data)
{
    g_assert_true(run(fx, PR_HOOK_CONNECT));
    g_assert_cmpstr(fx->log->str, ==, "done;");
    g_assert_cmpint(fx->done_calls, ==, 1);
    g_assert_false(fx->stopped);

    /* A run without a done callback is fine too. */
    PrHookContext *ctx = pr_hook_context_new(PR_HOOK_CONNECT);
    pr_host_run_hook(fx->host, ctx, NULL, NULL);
    pr_hook_context_unref(ctx);
}

static void
test_stop(Fixture *fx, gconstpointer data)
{
    Step a = { .name = "a" };
    Step b = { .name = "b", .result = PR_HOOK_STOP, .reply = "550 5.7.1 Go away" };
    Step c = { .name = "c" };
    connect_step(fx, fx->proto, "h", 0, &a);
    connect_step(fx, fx->proto, "h", 0, &b);
    connect_step(fx, fx->proto, "h", 0, &c);

    g_assert_true(run(fx, "h"));
    g_assert_cmpstr(fx->log->str, ==, "a;b;done;");
    g_assert_true(fx->stopped);
    g_assert_cmpstr(fx->reply, ==, "550 5.7.1 Go away");
    g_assert_cmpint(fx->done_calls, ==, 1);
}

static void
test_async(Fixture *fx, gconstpointer data)
{
    Step a = { .name = "a" };
    Step b = { .name = "b", .result = PR_HOOK_ASYNC, .resume_as = PR_HOOK_CONTINUE };
    Step c = { .name = "c" };
    connect_step(fx, fx->proto, "h", 0, &a);
    connect_step(fx, fx->proto, "h", 0, &b);
    connect_step(fx, fx->proto, "h", 0, &c);

    /* The chain waits for the idle source; the context is kept alive by
     * the run even though the caller dropped its reference. */
    g_assert_false(run(fx, "h"));
    g_assert_cmpstr(fx->log->str, ==, "a;b;");
    wait_done(fx);
    g_assert_cmpstr(fx->log->str, ==, "a;b;resume;c;done;");
    g_assert_false(fx->stopped);
    g_assert_cmpint(fx->done_calls, ==, 1);
}

static void
test_async_stop(Fixture *fx, gconstpointer data)
{
    Step a = {
        .name = "a", .result = PR_HOOK_ASYNC, .resume_as = PR_HOOK_STOP, .reply = "421 busy"
    };
    Step b = { .name = "b" };
    connect_step(fx, fx->proto, "h", 0, &a);
    connect_step(fx, fx->proto, "h", 0, &b);

    g_assert_false(run(fx, "h"));
    wait_done(fx);
    g_assert_cmpstr(fx->log->str, ==, "a;resume;done;");
    g_assert_true(fx->stopped);
    g_assert_cmpstr(fx->reply, ==, "421 busy");
}

static void
test_async_twice(Fixture *fx, gconstpointer data)
{
    Step a = { .name = "a", .result = PR_HOOK_ASYNC, .resume_as = PR_HOOK_CONTINUE };
    Step b = { .name = "b", .result = PR_HOOK_ASYNC, .resume_as = PR_HOOK_CONTINUE };
    connect_step(fx, fx->proto, "h", 0, &a);
    connect_step(fx, fx->proto, "h", 1, &b);

    g_assert_false(run(fx, "h"));
    wait_done(fx);
    g_assert_cmpstr(fx->log->str, ==, "a;resume;b;resume;done;");
    g_assert_cmpint(fx->done_calls, ==, 1);
}

static void
test_resume_early(Fixture *fx, gconstpointer data)
{
    Step a = {
        .name = "a", .result = PR_HOOK_ASYNC, .resume_early = TRUE, .resume_as = PR_HOOK_CONTINUE
    };
    Step b = { .name = "b" };
    connect_step(fx, fx->proto, "h", 0, &a);
    connect_step(fx, fx->proto, "h", 0, &b);

    /* Resumed before the handler returned: the chain goes on at once. */
    g_assert_true(run(fx, "h"));
    g_assert_cmpstr(fx->log->str, ==, "a;b;done;");
    g_assert_false(fx->stopped);

    /* The same, stopping. */
    Step c = { .name = "c",
               .result = PR_HOOK_ASYNC,
               .resume_early = TRUE,
               .resume_as = PR_HOOK_STOP,
               .reply = "no" };
    Step d = { .name = "d" };
    connect_step(fx, fx->proto, "h2", 0, &c);
    connect_step(fx, fx->proto, "h2", 0, &d);
    g_string_truncate(fx->log, 0);
    g_assert_true(run(fx, "h2"));
    g_assert_cmpstr(fx->log->str, ==, "c;done;");
    g_assert_true(fx->stopped);
    g_assert_cmpstr(fx->reply, ==, "no");
    g_assert_cmpint(fx->done_calls, ==, 1);
}

static PrHookResult
values_first(PrHookContext *ctx, gpointer user_data)
{
    g_assert_cmpstr(pr_hook_context_get(ctx, "peer-ip"), ==, "127.0.0.1");
    g_assert_cmpstr(pr_hook_context_get(ctx, "service"), ==, "fxproto");
    pr_hook_context_set(ctx, "verdict", "greylist");
    pr_hook_context_set(ctx, "service", NULL);
    return PR_HOOK_CONTINUE;
}

static PrHookResult
values_second(PrHookContext *ctx, gpointer user_data)
{
    g_assert_cmpstr(pr_hook_context_get(ctx, "verdict"), ==, "greylist");
    g_assert_null(pr_hook_context_get(ctx, "service"));
    pr_hook_context_set(ctx, "verdict", "accept");
    return PR_HOOK_CONTINUE;
}

static void
values_done(PrHookContext *ctx, gboolean stopped, gpointer user_data)
{
    int *calls = user_data;
    (*calls)++;
    g_assert_cmpstr(pr_hook_context_get(ctx, "verdict"), ==, "accept");
}

static void
test_values(Fixture *fx, gconstpointer data)
{
    int calls = 0;
    pr_host_connect_hook(fx->host, fx->proto, PR_HOOK_CONNECT, values_first, 0, NULL, NULL);
    pr_host_connect_hook(fx->host, fx->ext, PR_HOOK_CONNECT, values_second, 0, NULL, NULL);

    PrHookContext *ctx = pr_hook_context_new(PR_HOOK_CONNECT);
    g_assert_true(pr_hook_context_ref(ctx) == ctx);
    pr_hook_context_unref(ctx);
    pr_hook_context_set(ctx, "peer-ip", "127.0.0.1");
    pr_hook_context_set(ctx, "service", "fxproto");
    g_assert_null(pr_hook_context_get(ctx, "nothing"));
    g_assert_null(pr_hook_context_get_reply(ctx));
    pr_host_run_hook(fx->host, ctx, values_done, &calls);
    g_assert_cmpint(calls, ==, 1);
    /* Values outlive the run for the caller holding the context. */
    g_assert_cmpstr(pr_hook_context_get(ctx, "verdict"), ==, "accept");

    /* A context can be run again. */
    pr_hook_context_set(ctx, "service", "fxproto");
    pr_host_run_hook(fx->host, ctx, values_done, &calls);
    g_assert_cmpint(calls, ==, 2);
    pr_hook_context_unref(ctx);
}

static void
count_destroy(gpointer data)
{
    (*(int *)data)++;
}

static PrHookResult
count_handler(PrHookContext *ctx, gpointer user_data)
{
    return PR_HOOK_CONTINUE;
}

static void
test_forget_module(Fixture *fx, gconstpointer data)
{
    Step a = { .name = "a" }, b = { .name = "b" }, c = { .name = "c" };
    int destroyed = 0;
    connect_step(fx, fx->proto, "h", 0, &a);
    connect_step(fx, fx->ext, "h", 0, &b);
    connect_step(fx, fx->proto, "h2", 0, &c);
    pr_host_connect_hook(fx->host, fx->proto, "h", count_handler, 5, &destroyed, count_destroy);
    pr_host_connect_hook(fx->host, fx->ext, "h", count_handler, 5, &destroyed, count_destroy);

    host_forget_module(fx->host, fx->proto);
    g_assert_cmpint(destroyed, ==, 1);
    g_assert_false(hooks_has_handlers(fx->host, "h2"));
    g_assert_true(hooks_has_handlers(fx->host, "h"));
    g_assert_true(run(fx, "h"));
    g_assert_cmpstr(fx->log->str, ==, "b;done;");

    /* host_free drops the rest. */
    host_free(fx->host);
    g_assert_cmpint(destroyed, ==, 2);
    fx->host = host_new(fx->config);
}

static const int quota_iface = 1;
static const int other_iface = 2;

static void
test_provide_lookup(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) error = NULL;

    g_assert_null(pr_host_lookup(fx->host, "quota"));
    g_assert_true(pr_host_provide(fx->host, fx->proto, "quota", &quota_iface, &error));
    g_assert_no_error(error);
    g_assert_true(pr_host_lookup(fx->host, "quota") == &quota_iface);

    /* A second provider is refused, naming both modules. */
    g_assert_false(pr_host_provide(fx->host, fx->ext, "quota", &other_iface, &error));
    g_assert_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "quota"));
    g_assert_nonnull(strstr(error->message, "fx_ext"));
    g_assert_nonnull(strstr(error->message, "fx_proto"));
    g_clear_error(&error);
    g_assert_true(pr_host_lookup(fx->host, "quota") == &quota_iface);

    /* The same module twice is refused too. */
    g_assert_false(pr_host_provide(fx->host, fx->proto, "quota", &other_iface, &error));
    g_assert_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INVALID);
    g_clear_error(&error);

    g_assert_true(pr_host_provide(fx->host, fx->ext, "spam", &other_iface, &error));
    g_assert_no_error(error);

    /* Gone with its module; then another module may provide the name. */
    host_forget_module(fx->host, fx->proto);
    g_assert_null(pr_host_lookup(fx->host, "quota"));
    g_assert_true(pr_host_lookup(fx->host, "spam") == &other_iface);
    g_assert_true(pr_host_provide(fx->host, fx->ext, "quota", &other_iface, &error));
    g_assert_no_error(error);
    g_assert_true(pr_host_lookup(fx->host, "quota") == &other_iface);
}

/* A minimal valid protocol. */
static void
fx_greeting(PrConnection *conn, gpointer session)
{
}

static PrCommandResult
fx_command(PrConnection *conn, gpointer session, const char *args)
{
    return PR_COMMAND_DONE;
}

static const PrCommand proto_commands[] = {
    { "NOOP", fx_command, 1, 0 },
    { "quit", fx_command, 1, 0 },
    { NULL },
};

static const char *const full_replies[PR_REPLY_LAST] = {
    "-ERR unknown", "-ERR state", "-ERR syntax", "-ERR long",     "-ERR bad line", "-ERR errors",
    "-ERR denied",  "-ERR full",  "-ERR ip",     "-ERR idle",     "-ERR tls",      "+OK go",
    "-ERR no tls",  "-ERR pipe",  "-ERR bye",    "-ERR tempfail",
};

static const char *const no_tls_replies[PR_REPLY_LAST] = {
    "-ERR unknown", "-ERR state", "-ERR syntax", "-ERR long",     "-ERR bad line", "-ERR errors",
    "-ERR denied",  "-ERR full",  "-ERR ip",     "-ERR idle",     "-ERR tls",      NULL,
    NULL,           NULL,         "-ERR bye",    "-ERR tempfail",
};

static const char *const missing_reply[PR_REPLY_LAST] = {
    "-ERR unknown", "-ERR state", NULL,       "-ERR long",     "-ERR bad line", "-ERR errors",
    "-ERR denied",  "-ERR full",  "-ERR ip",  "-ERR idle",     "-ERR tls",      "+OK go",
    "-ERR no tls",  "-ERR pipe",  "-ERR bye", "-ERR tempfail",
};

static PrLineProtocol
valid_protocol(const char *name)
{
    PrLineProtocol p = {
        .struct_size = sizeof(PrLineProtocol),
        .name = name,
        .default_port = 1100,
        .max_line = 255,
        .line_end = PR_LINE_END_ACCEPT_LF,
        .nul = PR_NUL_REJECT,
        .idle_timeout = 600,
        .starttls_command = "STLS",
        .starttls_states = 1,
        .initial_state = 1,
        .greeting = fx_greeting,
        .commands = proto_commands,
        .replies = full_replies,
    };
    return p;
}

/* Descriptors must outlive the registration: keep them here. */
static PrLineProtocol protocols[16];

static void
expect_protocol_error(Fixture *fx, PrModule *module, PrLineProtocol *p, const char *needle)
{
    g_autoptr(GError) error = NULL;
    g_assert_false(pr_host_add_line_protocol(fx->host, module, p, &error));
    g_assert_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INVALID);
    g_test_message("%s", error->message);
    g_assert_nonnull(strstr(error->message, module->name));
    if (needle != NULL)
        g_assert_nonnull(strstr(error->message, needle));
}

static void
test_line_protocol(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    int n = 0;

    protocols[n] = valid_protocol("fxproto");
    PrLineProtocol *good = &protocols[n++];
    g_assert_true(pr_host_add_line_protocol(fx->host, fx->proto, good, &error));
    g_assert_no_error(error);
    ProtocolEntry *entry = protocol_lookup(fx->host, "fxproto");
    g_assert_nonnull(entry);
    g_assert_true(entry->protocol == good);
    g_assert_true(entry->owner == fx->proto);
    /* Verbs match case-insensitively. */
    const CommandEntry *ce = protocol_find_command(entry, "noop");
    g_assert_nonnull(ce);
    g_assert_true(ce->command == &proto_commands[0]);
    g_assert_nonnull(protocol_find_command(entry, "QUIT"));
    g_assert_nonnull(protocol_find_command(entry, "QuIt"));
    g_assert_null(protocol_find_command(entry, "RETR"));
    g_assert_null(protocol_find_command(entry, ""));
    g_assert_null(protocol_find_command(entry, "AVERYLONGVERBTHATCANNOTPOSSIBLYEXIST"));

    /* Registered twice. */
    protocols[n] = valid_protocol("fxproto");
    expect_protocol_error(fx, fx->proto, &protocols[n++], "fxproto");

    /* Missing or wrong fields, each named. */
    static const char *const fields[] = { "struct_size", "name",     "max_line",
                                          "greeting",    "commands", "initial_state",
                                          "replies",     "replies",  NULL };
    for (int f = 0; fields[f] != NULL; f++) {
        PrLineProtocol *p = &protocols[n++];
        *p = valid_protocol("fxother");
        switch (f) {
        case 0:
            p->struct_size = 4;
            break;
        case 1:
            p->name = NULL;
            break;
        case 2:
            p->max_line = 2;
            break;
        case 3:
            p->greeting = NULL;
            break;
        case 4:
            p->commands = NULL;
            break;
        case 5:
            p->initial_state = 0;
            break;
        case 6:
            p->replies = NULL;
            break;
        case 7:
            p->replies = missing_reply;
            break;
        }
        expect_protocol_error(fx, fx->proto, p, fields[f]);
    }
    /* STARTTLS replies are needed only with a STARTTLS command. */
    PrLineProtocol *tls_missing = &protocols[n++];
    *tls_missing = valid_protocol("fxother");
    tls_missing->replies = no_tls_replies;
    expect_protocol_error(fx, fx->proto, tls_missing, "replies");
    PrLineProtocol *no_tls = &protocols[n++];
    *no_tls = valid_protocol("fxother");
    no_tls->replies = no_tls_replies;
    no_tls->starttls_command = NULL;
    g_assert_true(pr_host_add_line_protocol(fx->host, fx->proto, no_tls, &error));
    g_assert_no_error(error);

    /* A service the module does not declare. */
    PrLineProtocol *foreign = &protocols[n++];
    *foreign = valid_protocol("fxlone");
    expect_protocol_error(fx, fx->proto, foreign, "fxlone");
    g_assert_null(protocol_lookup(fx->host, "fxlone"));

    /* Forgetting the module drops its protocols. */
    host_forget_module(fx->host, fx->proto);
    g_assert_null(protocol_lookup(fx->host, "fxproto"));
    g_assert_null(protocol_lookup(fx->host, "fxother"));
    g_assert_cmpint(n, <=, (int)G_N_ELEMENTS(protocols));
}

/* A module without services registering a protocol gets an error, not a
 * critical warning (run in a subprocess: criticals abort tests). */
static void
test_line_protocol_no_services(Fixture *fx, gconstpointer data)
{
    if (g_test_subprocess()) {
        static PrLineProtocol p;
        g_autoptr(GError) error = NULL;
        p = valid_protocol("fxproto");
        g_assert_false(pr_host_add_line_protocol(fx->host, fx->plain, &p, &error));
        g_assert_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INVALID);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr_unmatched("*CRITICAL*");
}

static const PrCommand dup_verb_commands[] = {
    { "USER", fx_command, 1, 0 },
    { "user", fx_command, 1, 0 },
    { NULL },
};
static const PrCommand bad_verb_commands[] = {
    { "TWO WORDS", fx_command, 1, 0 },
    { NULL },
};
static const PrCommand no_handler_commands[] = {
    { "NOHANDLER", NULL, 1, 0 },
    { NULL },
};
static const PrCommand ext_commands[] = {
    { "XTND", fx_command, 1, 0 },
    { "Xstat", fx_command, 1, 0 },
    { NULL },
};
static const PrCommand clash_commands[] = {
    { "Noop", fx_command, 1, 0 },
    { NULL },
};

static void
test_protocol_bad_commands(Fixture *fx, gconstpointer data)
{
    static PrLineProtocol p[3];
    const PrCommand *tables[] = { dup_verb_commands, bad_verb_commands, no_handler_commands };
    const char *needles[] = { "USER", "TWO WORDS", "NOHANDLER" };

    for (int i = 0; i < 3; i++) {
        g_autoptr(GError) error = NULL;
        p[i] = valid_protocol("fxproto");
        p[i].commands = tables[i];
        g_assert_false(pr_host_add_line_protocol(fx->host, fx->proto, &p[i], &error));
        g_assert_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INVALID);
        g_test_message("%s", error->message);
        g_assert_nonnull(strstr(error->message, needles[i]));
        g_assert_null(protocol_lookup(fx->host, "fxproto"));
    }
}

static void
test_add_commands(Fixture *fx, gconstpointer data)
{
    static PrLineProtocol p;
    g_autoptr(GError) error = NULL;

    /* No such protocol yet. */
    g_assert_false(pr_host_add_commands(fx->host, fx->ext, "fxproto", ext_commands, &error));
    g_assert_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_DEPENDENCY);
    g_assert_nonnull(strstr(error->message, "fxproto"));
    g_clear_error(&error);

    p = valid_protocol("fxproto");
    g_assert_true(pr_host_add_line_protocol(fx->host, fx->proto, &p, &error));
    g_assert_no_error(error);

    /* A module that does not require the protocol's owner is refused. */
    g_assert_false(pr_host_add_commands(fx->host, fx->stranger, "fxproto", ext_commands, &error));
    g_assert_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_DEPENDENCY);
    g_test_message("%s", error->message);
    g_assert_nonnull(strstr(error->message, "fx_stranger"));
    g_assert_nonnull(strstr(error->message, "fx_proto"));
    g_clear_error(&error);
    g_assert_false(pr_host_add_commands(fx->host, fx->plain, "fxproto", ext_commands, &error));
    g_assert_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_DEPENDENCY);
    g_clear_error(&error);
    ProtocolEntry *entry = protocol_lookup(fx->host, "fxproto");
    g_assert_null(protocol_find_command(entry, "XTND"));

    /* The requiring module may. */
    g_assert_true(pr_host_add_commands(fx->host, fx->ext, "fxproto", ext_commands, &error));
    g_assert_no_error(error);
    const CommandEntry *ce = protocol_find_command(entry, "xstat");
    g_assert_nonnull(ce);
    g_assert_true(ce->owner == fx->ext);
    g_assert_true(protocol_find_command(entry, "NOOP")->owner == fx->proto);

    /* A verb that exists already, naming its owner. */
    g_assert_false(pr_host_add_commands(fx->host, fx->ext, "fxproto", clash_commands, &error));
    g_assert_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INVALID);
    g_test_message("%s", error->message);
    g_assert_nonnull(strstr(error->message, "NOOP"));
    g_assert_nonnull(strstr(error->message, "fx_proto"));
    g_clear_error(&error);
    g_assert_false(pr_host_add_commands(fx->host, fx->ext, "fxproto", ext_commands, &error));
    g_assert_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INVALID);
    g_clear_error(&error);

    /* Forgetting the extension drops only its commands. */
    host_forget_module(fx->host, fx->ext);
    g_assert_null(protocol_find_command(entry, "XTND"));
    g_assert_nonnull(protocol_find_command(entry, "NOOP"));
    g_assert_true(protocol_lookup(fx->host, "fxproto") == entry);
}

#define ADD(path, func) g_test_add(path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
    g_test_summary("Hook chains, the service registry, protocol and command registration");

    ADD("/hooks/host-facts", test_host_facts);
    ADD("/hooks/priorities", test_priorities);
    ADD("/hooks/no-handlers", test_no_handlers);
    ADD("/hooks/stop", test_stop);
    ADD("/hooks/async", test_async);
    ADD("/hooks/async-stop", test_async_stop);
    ADD("/hooks/async-twice", test_async_twice);
    ADD("/hooks/resume-early", test_resume_early);
    ADD("/hooks/values", test_values);
    ADD("/hooks/forget-module", test_forget_module);
    ADD("/host/provide-lookup", test_provide_lookup);
    ADD("/protocol/line-protocol", test_line_protocol);
    ADD("/protocol/bad-commands", test_protocol_bad_commands);
    ADD("/protocol/add-commands", test_add_commands);
    ADD("/protocol/no-services", test_line_protocol_no_services);
    return g_test_run();
}
