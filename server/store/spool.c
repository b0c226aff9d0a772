/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "spool.h"
#include <postroom/pr-store.h>

#define TMP_PREFIX     ".tmp-"
#define COPY_CHUNK     (64 * 1024)
#define MAX_NAME_TRIES 16

static void
set_io_error(GError **error, const char *path, int err)
{
    g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_IO, _("Spool file %s: %s"), path,
                g_strerror(err));
}

static gboolean
fsync_dir(const char *dir, GError **error)
{
    int fd = g_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    int err;

    if (fd < 0) {
        err = errno;
        set_io_error(error, dir, err);
        return FALSE;
    }
    if (fsync(fd) < 0) {
        err = errno;
        close(fd);
        set_io_error(error, dir, err);
        return FALSE;
    }
    close(fd);
    return TRUE;
}

/* A random 128-bit name in hex: names carry no information about content
 * or order, and collisions are practically impossible (still checked). */
static char *
random_name(void)
{
    GString *s = g_string_sized_new(33);

    for (int i = 0; i < 4; i++)
        g_string_append_printf(s, "%08x", g_random_int());
    return g_string_free(s, FALSE);
}

typedef struct {
    char *subdir; /* absolute */
    char *tmp_path;
    int fd;
} SpoolTmp;

static void
spool_tmp_clear(SpoolTmp *t)
{
    if (t->fd >= 0)
        close(t->fd);
    if (t->tmp_path != NULL)
        g_unlink(t->tmp_path);
    g_free(t->tmp_path);
    g_free(t->subdir);
    memset(t, 0, sizeof(*t));
    t->fd = -1;
}

/* Bucket directories known to be durable in this process: made, or found,
 * and then the spool directory fsynced. Finding a bucket is not enough,
 * since another thread (or instance) may have made it and not yet synced
 * its parent. */
static GMutex known_lock;
static GHashTable *known_buckets; /* absolute path -> itself */

/* The bucket directory of @name ("ab" for "abcd..."), made if needed and
 * durable; returns its absolute path. */
static char *
bucket_dir(const char *spool_dir, const char *name, GError **error)
{
    char bucket[3] = { name[0], name[1], '\0' };
    g_autofree char *subdir = g_build_filename(spool_dir, bucket, NULL);
    gboolean known;
    int err;

    g_mutex_lock(&known_lock);
    known = known_buckets != NULL && g_hash_table_contains(known_buckets, subdir);
    g_mutex_unlock(&known_lock);
    if (known)
        return g_steal_pointer(&subdir);

    if (g_mkdir_with_parents(spool_dir, 0750) < 0) {
        err = errno;
        set_io_error(error, spool_dir, err);
        return NULL;
    }
    if (g_mkdir(subdir, 0750) < 0 && errno != EEXIST) {
        err = errno;
        set_io_error(error, subdir, err);
        return NULL;
    }
    /* Whoever made it, the bucket's name is durable once this returns. */
    if (!fsync_dir(spool_dir, error))
        return NULL;
    g_mutex_lock(&known_lock);
    if (known_buckets == NULL)
        known_buckets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_hash_table_add(known_buckets, g_strdup(subdir));
    g_mutex_unlock(&known_lock);
    return g_steal_pointer(&subdir);
}

/* Creates @file_name, which must not exist, in the bucket of @name; fills
 * @t (subdir, tmp_path = the file, fd). A bucket removed behind our back
 * (a test, an admin) is made again. */
static gboolean
bucket_create(SpoolTmp *t, const char *spool_dir, const char *name, const char *file_name,
              GError **error)
{
    for (int pass = 0; pass < 2; pass++) {
        g_autofree char *subdir = bucket_dir(spool_dir, name, error);
        g_autofree char *path = NULL;
        int err;

        if (subdir == NULL)
            return FALSE;
        path = g_build_filename(subdir, file_name, NULL);
        t->fd = g_open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (t->fd >= 0) {
            t->subdir = g_steal_pointer(&subdir);
            t->tmp_path = g_steal_pointer(&path);
            return TRUE;
        }
        err = errno;
        if (err == ENOENT && pass == 0) {
            g_mutex_lock(&known_lock);
            g_hash_table_remove(known_buckets, subdir);
            g_mutex_unlock(&known_lock);
            continue;
        }
        if (err == EEXIST)
            g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS, _("Spool file %s exists."),
                        path);
        else
            set_io_error(error, path, err);
        return FALSE;
    }
    return FALSE; /* not reached: the second pass returns */
}

static gboolean
spool_tmp_open(SpoolTmp *t, const char *spool_dir, const char *name, GError **error)
{
    g_autofree char *tmp_name = g_strconcat(TMP_PREFIX, name, NULL);

    t->fd = -1;
    return bucket_create(t, spool_dir, name, tmp_name, error);
}

static gboolean
write_all(SpoolTmp *t, const guint8 *data, gsize len, GError **error)
{
    while (len > 0) {
        ssize_t n = write(t->fd, data, MIN(len, (gsize)G_MAXSSIZE));

        if (n < 0) {
            int err = errno;

            if (err == EINTR)
                continue;
            set_io_error(error, t->tmp_path, err);
            return FALSE;
        }
        data += n;
        len -= (gsize)n;
    }
    return TRUE;
}

/* fsync, then move to the final name without replacing anything, then
 * fsync the directory so the name is durable. */
static char *
spool_tmp_commit(SpoolTmp *t, const char *name, GError **error)
{
    char bucket[3] = { name[0], name[1], '\0' };
    g_autofree char *final_path = g_build_filename(t->subdir, name + 2, NULL);
    int err;

    if (fsync(t->fd) < 0 || close(t->fd) < 0) {
        err = errno;
        t->fd = -1;
        set_io_error(error, t->tmp_path, err);
        return NULL;
    }
    t->fd = -1;
    if (renameat2(AT_FDCWD, t->tmp_path, AT_FDCWD, final_path, RENAME_NOREPLACE) < 0) {
        err = errno;
        if (err == EEXIST) {
            g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS, _("Spool file %s exists."),
                        final_path);
            return NULL;
        }
        /* File systems without RENAME_NOREPLACE: the random name makes a
         * collision practically impossible, and the O_EXCL temp file
         * already checked it. */
        if ((err != EINVAL && err != ENOSYS) || rename(t->tmp_path, final_path) < 0) {
            err = errno;
            set_io_error(error, final_path, err);
            return NULL;
        }
    }
    g_clear_pointer(&t->tmp_path, g_free);
    if (!fsync_dir(t->subdir, error)) {
        g_unlink(final_path);
        return NULL;
    }
    return g_strconcat(bucket, "/", name + 2, NULL);
}

char *
spool_write(const char *spool_dir, const void *data, gsize len, GError **error)
{
    for (int attempt = 0; attempt < MAX_NAME_TRIES; attempt++) {
        g_autofree char *name = random_name();
        g_autoptr(GError) local = NULL;
        SpoolTmp t = { .fd = -1 };
        char *rel;

        if (!spool_tmp_open(&t, spool_dir, name, error) || !write_all(&t, data, len, error)) {
            spool_tmp_clear(&t);
            return NULL;
        }
        rel = spool_tmp_commit(&t, name, &local);
        spool_tmp_clear(&t);
        if (rel != NULL)
            return rel;
        if (!g_error_matches(local, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS)) {
            g_propagate_error(error, g_steal_pointer(&local));
            return NULL;
        }
    }
    g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_IO,
                        _("Could not find a free spool file name."));
    return NULL;
}

char *
spool_write_stream(const char *spool_dir, GInputStream *in, goffset *size_out,
                   GCancellable *cancellable, GError **error)
{
    g_autofree char *name = random_name();
    g_autofree guint8 *buf = g_malloc(COPY_CHUNK);
    SpoolTmp t = { .fd = -1 };
    goffset total = 0;
    char *rel;

    if (!spool_tmp_open(&t, spool_dir, name, error))
        goto fail;
    for (;;) {
        gssize n = g_input_stream_read(in, buf, COPY_CHUNK, cancellable, error);

        if (n < 0)
            goto fail;
        if (n == 0)
            break;
        if (!write_all(&t, buf, (gsize)n, error))
            goto fail;
        total += n;
    }
    rel = spool_tmp_commit(&t, name, error);
    spool_tmp_clear(&t);
    if (rel != NULL && size_out != NULL)
        *size_out = total;
    return rel;

fail:
    spool_tmp_clear(&t);
    return NULL;
}

/* No temporary name and no rename: the database row is what makes a
 * message exist, and nothing reads a spool file that no row names. A crash
 * before the commit leaves a file (maybe cut short) that no row refers to;
 * store_spool_sweep() removes it once it is old enough. Renaming would only
 * add a second change to the directory to be synced. */
char *
spool_create(const char *spool_dir, const void *data, gsize len, GError **error)
{
    for (int attempt = 0; attempt < MAX_NAME_TRIES; attempt++) {
        g_autofree char *name = random_name();
        g_autoptr(GError) local = NULL;
        SpoolTmp t = { .fd = -1 };
        int err;

        if (!bucket_create(&t, spool_dir, name, name + 2, &local)) {
            spool_tmp_clear(&t);
            if (g_error_matches(local, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS))
                continue;
            g_propagate_error(error, g_steal_pointer(&local));
            return NULL;
        }
        /* Until the fsync succeeded, spool_tmp_clear() removes the file. */
        if (!write_all(&t, data, len, error)) {
            spool_tmp_clear(&t);
            return NULL;
        }
        err = fsync(t.fd) < 0 ? errno : 0;
        if (close(t.fd) < 0 && err == 0)
            err = errno;
        t.fd = -1;
        if (err != 0) {
            set_io_error(error, t.tmp_path, err);
            spool_tmp_clear(&t);
            return NULL;
        }
        /* The name, too, before any row may refer to the file. Here, on
         * the preparing thread, rather than once per bucket at the commit:
         * a directory fsync costs a device cache flush whether it has
         * anything to write or not, and the commit is the serial part. */
        if (!fsync_dir(t.subdir, error)) {
            spool_tmp_clear(&t);
            return NULL;
        }
        g_clear_pointer(&t.tmp_path, g_free);
        spool_tmp_clear(&t);
        return g_strdup_printf("%c%c/%s", name[0], name[1], name + 2);
    }
    g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_IO,
                        _("Could not find a free spool file name."));
    return NULL;
}

static gboolean
remove_tmp_in(const char *dir, guint *count, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(GDir) d = g_dir_open(dir, 0, &local);
    const char *entry;

    if (d == NULL) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_IO, _("Spool directory %s: %s"), dir,
                    local->message);
        return FALSE;
    }
    while ((entry = g_dir_read_name(d)) != NULL) {
        g_autofree char *path = g_build_filename(dir, entry, NULL);

        if (!g_str_has_prefix(entry, TMP_PREFIX))
            continue;
        if (g_unlink(path) < 0) {
            int err = errno;

            set_io_error(error, path, err);
            return FALSE;
        }
        (*count)++;
    }
    return TRUE;
}

guint
spool_cleanup(const char *spool_dir, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(GDir) d = NULL;
    const char *entry;
    guint count = 0;

    d = g_dir_open(spool_dir, 0, &local);
    if (d == NULL) {
        /* No spool yet: nothing to clean. */
        if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return 0;
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_IO, _("Spool directory %s: %s"),
                    spool_dir, local->message);
        return 0;
    }
    if (!remove_tmp_in(spool_dir, &count, error))
        return count;
    while ((entry = g_dir_read_name(d)) != NULL) {
        g_autofree char *path = g_build_filename(spool_dir, entry, NULL);

        /* Only the two-hex-digit buckets hold spool files. */
        if (strlen(entry) != 2 || !g_ascii_isxdigit(entry[0]) || !g_ascii_isxdigit(entry[1]) ||
            !g_file_test(path, G_FILE_TEST_IS_DIR))
            continue;
        if (!remove_tmp_in(path, &count, error))
            return count;
    }
    return count;
}
