/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <postroom/pr-auth.h>

#include "auth.h"
#include "connection.h"
#include "host.h"

/* A whole SASL exchange on behalf of a protocol module (pr-auth.h): every
 * protocol runs the same steps and differs only in the words, so the
 * steps live here once. The mechanisms themselves are in sasl.c. */

void
sasl_state_clear(SaslState *state)
{
    g_clear_pointer(&state->sasl, pr_sasl_free);
    state->exchange = NULL;
}

static PrCommandResult sasl_line(PrConnection *conn, gpointer session, const char *line, gsize len);

/* Advances the exchange with @response (NULL: no initial response). */
static PrCommandResult
sasl_continue(PrConnection *conn, SaslState *state, const char *response)
{
    const PrSaslExchange *x = state->exchange;
    g_autofree char *challenge = NULL;

    switch (pr_sasl_step(state->sasl, response, &challenge)) {
    case PR_SASL_CONTINUE:
        pr_connection_set_line_handler(conn, sasl_line);
        pr_connection_replyf(conn, "%s%s", x->continuation, challenge != NULL ? challenge : "");
        return PR_COMMAND_DONE;
    case PR_SASL_DONE:
        pr_connection_set_line_handler(conn, NULL);
        if (sasl_get_digest(state->sasl) != NULL) {
            AuthProof proof = { .kind = AUTH_PROOF_CRAM_MD5,
                                .challenge = sasl_get_challenge(state->sasl),
                                .digest = sasl_get_digest(state->sasl) };

            auth_verify_proof_async(conn, pr_sasl_get_mechanism(state->sasl),
                                    pr_sasl_get_user(state->sasl), &proof, x->verified,
                                    pr_connection_ref(conn));
        } else {
            pr_auth_verify_async(conn, pr_sasl_get_mechanism(state->sasl),
                                 pr_sasl_get_user(state->sasl), pr_sasl_get_password(state->sasl),
                                 x->verified, pr_connection_ref(conn));
        }
        sasl_state_clear(state); /* the verification has its own copy */
        return PR_COMMAND_ASYNC;
    case PR_SASL_CANCELLED:
        pr_connection_set_line_handler(conn, NULL);
        sasl_state_clear(state);
        pr_connection_reply(conn, x->cancelled);
        return PR_COMMAND_DONE;
    case PR_SASL_MALFORMED:
    default:
        pr_connection_set_line_handler(conn, NULL);
        sasl_state_clear(state);
        pr_connection_reply(conn, x->malformed);
        return pr_connection_bad_command(conn) ? PR_COMMAND_CLOSE : PR_COMMAND_DONE;
    }
}

static PrCommandResult
sasl_line(PrConnection *conn, gpointer session, const char *line, gsize len)
{
    SaslState *state = connection_sasl_state(conn);

    if (state->sasl == NULL) {
        pr_connection_set_line_handler(conn, NULL);
        return PR_COMMAND_DONE;
    }
    return sasl_continue(conn, state, line);
}

/* In the order they are advertised. */
static const struct {
    PrSaslMechanisms flag;
    const char *name;
} mechanisms[] = {
    { PR_SASL_MECH_PLAIN, "PLAIN" },
    { PR_SASL_MECH_LOGIN, "LOGIN" },
    { PR_SASL_MECH_CRAM_MD5, "CRAM-MD5" },
};

static PrSaslMechanisms
mechanism_flag(const char *name)
{
    for (guint i = 0; i < G_N_ELEMENTS(mechanisms); i++) {
        if (g_ascii_strcasecmp(name, mechanisms[i].name) == 0)
            return mechanisms[i].flag;
    }
    return 0;
}

PrSaslMechanisms
pr_sasl_mechanisms_available(PrHost *host, PrSaslMechanisms wanted)
{
    PrSaslMechanisms possible = PR_SASL_MECH_PLAIN | PR_SASL_MECH_LOGIN;

    g_return_val_if_fail(host != NULL, 0);
    /* Off unless the administrator stores secrets: without them every
     * CRAM-MD5 attempt would fail, so it is not offered at all. */
    if (pr_auth_secrets_enabled(host))
        possible |= PR_SASL_MECH_CRAM_MD5;
    return wanted & possible;
}

char *
pr_sasl_mechanism_names(PrSaslMechanisms mechanisms_set, const char *separator)
{
    g_return_val_if_fail(separator != NULL, NULL);
    GString *out = g_string_new(NULL);

    for (guint i = 0; i < G_N_ELEMENTS(mechanisms); i++) {
        if ((mechanisms_set & mechanisms[i].flag) == 0)
            continue;
        if (out->len > 0)
            g_string_append(out, separator);
        g_string_append(out, mechanisms[i].name);
    }
    return g_string_free(out, FALSE);
}

PrCommandResult
pr_sasl_exchange_start(PrConnection *conn, const char *mechanism, const char *initial_response,
                       const PrSaslExchange *exchange)
{
    return pr_sasl_exchange_start_full(conn, mechanism, initial_response, exchange,
                                       PR_SASL_MECH_PLAIN | PR_SASL_MECH_LOGIN);
}

PrCommandResult
pr_sasl_exchange_start_full(PrConnection *conn, const char *mechanism, const char *initial_response,
                            const PrSaslExchange *exchange, PrSaslMechanisms allowed)
{
    g_return_val_if_fail(conn != NULL && mechanism != NULL && exchange != NULL, PR_COMMAND_DONE);
    g_return_val_if_fail(exchange->verified != NULL, PR_COMMAND_DONE);
    SaslState *state = connection_sasl_state(conn);
    PrHost *host = pr_connection_get_host(conn);
    PrSaslMechanisms flag = mechanism_flag(mechanism);

    sasl_state_clear(state);
    if (flag != 0 && (pr_sasl_mechanisms_available(host, allowed) & flag) != 0) {
        if (flag == PR_SASL_MECH_CRAM_MD5) {
            g_autofree char *challenge = auth_new_challenge(pr_host_get_hostname(host));
            state->sasl = sasl_new_cram_md5(challenge);
        } else {
            state->sasl = pr_sasl_new(mechanism);
        }
    }
    if (state->sasl == NULL) {
        pr_connection_reply(conn, exchange->unknown_mechanism);
        return pr_connection_bad_command(conn) ? PR_COMMAND_CLOSE : PR_COMMAND_DONE;
    }
    state->exchange = exchange;
    return sasl_continue(conn, state, initial_response);
}
