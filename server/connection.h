/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "listener.h"

/* A connection accepted by a listener. @counted: it takes a place in the
 * connection limits (rejected connections do not). */
PrConnection *connection_new(PrHost *host, Service *service, GSocketConnection *socket,
                             const char *peer_ip, gboolean trusted, gboolean counted);
/* Implicit TLS handshake if @tls, the connect hook, then the greeting. */
void connection_start(PrConnection *conn, gboolean tls);
/* Sends one of the protocol's host replies and closes. */
void connection_reject(PrConnection *conn, PrHostReply reply);
/* Closes @conn if it has been idle longer than its timeout (host tick). */
void connection_check_idle(PrConnection *conn, gint64 now);
/* Server shutdown: PR_REPLY_SHUTDOWN to greeted sessions, then close. */
void connection_shutdown(PrConnection *conn);

/* The SASL exchange in progress (sasl-exchange.c): owned by the
 * connection, freed when it ends or STARTTLS resets the session. */
typedef struct {
    PrSasl *sasl;
    const PrSaslExchange *exchange;
} SaslState;
SaslState *connection_sasl_state(PrConnection *conn);
void sasl_state_clear(SaslState *state);
