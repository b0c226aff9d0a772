/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Runs a harness over files and directories of inputs without libFuzzer,
 * so the normal and sanitizer test runs replay the seed corpus. */
#include "postroom-config.h"

#include "fuzz.h"

#include <string.h>

static int
compare_paths(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static gboolean
run_file(const char *path)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) error = NULL;

    if (!g_file_get_contents(path, &data, &len, &error)) {
        g_printerr("%s\n", error->message);
        return FALSE;
    }
    /* libFuzzer passes a buffer of exactly the input's size; copy so that
     * ASan catches reads past it. */
    g_autofree guint8 *copy = g_memdup2(data, len);
    LLVMFuzzerTestOneInput(copy, len);
    return TRUE;
}

int
main(int argc, char **argv)
{
    guint runs = 0;

    LLVMFuzzerInitialize(&argc, &argv);
    if (argc < 2) {
        g_printerr("usage: %s CORPUS-DIR-OR-FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if (!g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
            if (!run_file(argv[i]))
                return 1;
            runs++;
            continue;
        }
        g_autoptr(GError) error = NULL;
        g_autoptr(GDir) dir = g_dir_open(argv[i], 0, &error);
        if (dir == NULL) {
            g_printerr("%s\n", error->message);
            return 1;
        }
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        const char *name;
        while ((name = g_dir_read_name(dir)) != NULL)
            g_ptr_array_add(names, g_build_filename(argv[i], name, NULL));
        g_ptr_array_sort(names, compare_paths);
        for (guint n = 0; n < names->len; n++) {
            if (!run_file(names->pdata[n]))
                return 1;
            runs++;
        }
    }
    if (runs == 0) {
        g_printerr("no inputs found\n");
        return 1;
    }
    g_print("%u inputs ran\n", runs);
    return 0;
}
