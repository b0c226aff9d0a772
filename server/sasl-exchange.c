/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <postroom/pr-auth.h>

#include "connection.h"

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
        pr_auth_verify_async(conn, pr_sasl_get_mechanism(state->sasl),
                             pr_sasl_get_user(state->sasl), pr_sasl_get_password(state->sasl),
                             x->verified, pr_connection_ref(conn));
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

PrCommandResult
pr_sasl_exchange_start(PrConnection *conn, const char *mechanism, const char *initial_response,
                       const PrSaslExchange *exchange)
{
    g_return_val_if_fail(conn != NULL && mechanism != NULL && exchange != NULL, PR_COMMAND_DONE);
    g_return_val_if_fail(exchange->verified != NULL, PR_COMMAND_DONE);
    SaslState *state = connection_sasl_state(conn);

    sasl_state_clear(state);
    state->sasl = pr_sasl_new(mechanism);
    if (state->sasl == NULL) {
        pr_connection_reply(conn, exchange->unknown_mechanism);
        return pr_connection_bad_command(conn) ? PR_COMMAND_CLOSE : PR_COMMAND_DONE;
    }
    state->exchange = exchange;
    return sasl_continue(conn, state, initial_response);
}
