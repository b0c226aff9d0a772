/* SPDX-License-Identifier: GPL-3.0-or-later */

/* postroomd is a thin executable: the host runtime lives in
 * libpostroom-plugin-1.so so that the daemon and its modules share one copy
 * of it. */

int _pr_daemon_main(int argc, char **argv);

int
main(int argc, char **argv)
{
    return _pr_daemon_main(argc, argv);
}
