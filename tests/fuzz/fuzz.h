/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The libFuzzer entry points every harness defines, and helpers they share.
 * Built either with -fsanitize=fuzzer or with standalone-main.c, which runs
 * the seed corpus through the same functions. */

#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Criticals and warnings are bugs: abort() on them (libFuzzer catches
 * SIGABRT and saves the input; GLib's own fatal path may raise SIGTRAP,
 * which it does not). */
static inline GLogWriterOutput
fuzz_log_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
    if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) {
        g_log_writer_standard_streams(level, fields, n_fields, data);
        abort();
    }
    return G_LOG_WRITER_HANDLED;
}

static inline void
fuzz_make_warnings_fatal(void)
{
    g_log_set_writer_func(fuzz_log_writer, NULL, NULL);
}

/* Ends the run with a message when an invariant does not hold; g_assert
 * would vanish with G_DISABLE_ASSERT. */
#define FUZZ_CHECK(cond)                                                                           \
    G_STMT_START                                                                                   \
    {                                                                                              \
        if (G_UNLIKELY(!(cond)))                                                                   \
            g_error("%s:%d: invariant failed: %s", __FILE__, __LINE__, #cond);                     \
    }                                                                                              \
    G_STMT_END
