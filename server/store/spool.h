/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Message bodies are immutable files under <data_dir>/spool. A body is
 * written to a temporary name in the same directory, fsynced, renamed to its
 * final name and the directory fsynced; only then may database rows refer to
 * it. A crash leaves at worst a temporary file, removed by spool_cleanup(). */

#include <gio/gio.h>

/* Writes @len bytes; returns the path relative to @spool_dir ("ab/cdef...")
 * of the new immutable file. */
char *spool_write(const char *spool_dir, const void *data, gsize len, GError **error);
/* Same, copying from a stream (bounded memory). */
char *spool_write_stream(const char *spool_dir, GInputStream *in, goffset *size_out,
                         GCancellable *cancellable, GError **error);
/* Same, without the temporary name: the file is written straight under
 * its final name, then the file and its directory are fsynced. For a
 * writer whose database row is the commit point (delivery): until
 * spool_create() returns, a crash may leave the file cut short, but no row
 * names it yet, and the spool sweep removes files no row names. */
char *spool_create(const char *spool_dir, const void *data, gsize len, GError **error);
/* Removes temporary files left by a crash; returns how many. */
guint spool_cleanup(const char *spool_dir, GError **error);
