#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Translations of the admin-facing programs (TAP).

Runs the built postroomctl and postroomd with LANG=C.UTF-8 LANGUAGE=<lang>
against the uninstalled catalogue tree and compares their output with the
translations in po/<lang>.po; without LANGUAGE the output must be English.
Then checks the catalogues themselves: msgfmt --check passes, POTFILES.in
lists exactly the sources with translatable strings, and every message of a
freshly extracted template is translated (not fuzzy) in every catalogue.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

NBSP = '\u00a0'

# The translations of a few messages, as written in po/<lang>.po. {conf} is
# the configuration file's path.
EXPECTED = {
    'fr': {
        'unknown_command': 'postroomctl: Commande ' + '«' + NBSP + 'frobnicate' + NBSP
                           + '» inconnue.',
        'try_help': 'Essayez «' + NBSP + 'postroomctl --help' + NBSP + '».',
        'usage': 'Utilisation' + NBSP + ': postroomctl [--config FICHIER] [--json] COMMANDE '
                 '[ARGUMENTS…]',
        'unknown_key': 'postroomd: {conf}:4: clé «' + NBSP + 'bogus_key' + NBSP + '» inconnue '
                       'dans le groupe [server] (réglages de host)' + NBSP + '; consultez '
                       'postroomd.conf(5) pour les clés valides',
        'check_ok': 'configuration correcte',
    },
    'de': {
        'unknown_command': 'postroomctl: Unbekannter Befehl „frobnicate“.',
        'try_help': 'Versuchen Sie „postroomctl --help“.',
        'usage': 'Aufruf: postroomctl [--config DATEI] [--json] BEFEHL [ARGUMENTE…]',
        'unknown_key': 'postroomd: {conf}:4: unbekannter Schlüssel „bogus_key“ in Gruppe '
                       '[server] (Einstellungen von host); die gültigen Schlüssel stehen in '
                       'postroomd.conf(5)',
        'check_ok': 'Konfiguration in Ordnung',
    },
    'es': {
        'unknown_command': 'postroomctl: Orden «frobnicate» desconocida.',
        'try_help': 'Pruebe «postroomctl --help».',
        'usage': 'Uso: postroomctl [--config ARCHIVO] [--json] ORDEN [ARGUMENTOS…]',
        'unknown_key': 'postroomd: {conf}:4: clave «bogus_key» desconocida en el grupo [server] '
                       '(ajustes de host); consulte postroomd.conf(5) para ver las claves '
                       'válidas',
        'check_ok': 'configuración correcta',
    },
    None: {
        'unknown_command': 'postroomctl: Unknown command “frobnicate”.',
        'try_help': "Try 'postroomctl --help'.",
        'usage': 'Usage: postroomctl [--config FILE] [--json] COMMAND [ARGUMENTS…]',
        'unknown_key': 'postroomd: {conf}:4: unknown key “bogus_key” in group [server] '
                       '(settings of host); see postroomd.conf(5) for the valid keys',
        'check_ok': 'configuration OK',
    },
}

# meson's i18n.gettext(preset: 'glib') keywords, plus xgettext's C defaults
# (ngettext ...), which meson does not switch off either.
XGETTEXT_KEYWORDS = ['--keyword=_', '--keyword=N_', '--keyword=C_:1c,2', '--keyword=NC_:1c,2',
                     '--keyword=g_dcgettext:2', '--keyword=g_dngettext:2,3',
                     '--keyword=g_dpgettext2:2c,3']

SOURCE_DIRS = ['server', 'plugin-api', 'modules']
MARKED = re.compile(r'(?<![A-Za-z0-9_])N?_\(\s*"')
TIMEOUT = 30


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def result(self, ok, name, diag=''):
        self.n += 1
        print(('ok' if ok else 'not ok') + f' {self.n} - {name}')
        if not ok:
            self.failed += 1
            for line in str(diag).splitlines():
                print('# ' + line)
        sys.stdout.flush()
        return ok

    def equal(self, got, want, name):
        return self.result(got == want, name, f'expected: {want!r}\n     got: {got!r}')

    def contains(self, text, part, name):
        return self.result(part in text, name, f'expected to contain: {part!r}\n'
                                               f'got: {text!r}')


def run(args, lang, localedir, **kw):
    env = dict(os.environ)
    for var in ('LC_ALL', 'LC_MESSAGES', 'LANGUAGE'):
        env.pop(var, None)
    env['LANG'] = 'C.UTF-8'
    if lang is not None:
        env['LANGUAGE'] = lang
    env['POSTROOM_LOCALEDIR'] = localedir
    return subprocess.run(args, env=env, capture_output=True, timeout=TIMEOUT,
                          encoding='utf-8', errors='replace', **kw)


def write_config(path, data_dir, extra):
    with open(path, 'w', encoding='utf-8') as f:
        f.write('# postroom i18n test\n'
                '[server]\n'
                f'data_dir={data_dir}\n'
                f'{extra}\n'
                '[modules]\n'
                'enabled=\n')


def check_programs(tap, opts, tmp):
    data_dir = os.path.join(tmp, 'data')
    os.mkdir(data_dir)
    bad = os.path.join(tmp, 'bad.conf')
    good = os.path.join(tmp, 'good.conf')
    write_config(bad, data_dir, 'bogus_key=1')  # line 4
    write_config(good, data_dir, 'max_connections=100')

    for lang in ['fr', 'de', 'es', None]:
        want = EXPECTED[lang]
        label = lang or 'English (LANGUAGE unset)'

        r = run([opts.postroomctl, 'frobnicate'], lang, opts.localedir)
        lines = r.stderr.splitlines()
        tap.result(r.returncode != 0, f'{label}: postroomctl frobnicate fails',
                   f'exit status {r.returncode}')
        tap.equal(lines[0] if lines else '', want['unknown_command'],
                  f'{label}: unknown command error')
        tap.contains(r.stderr, want['try_help'], f'{label}: hint after unknown command')

        r = run([opts.postroomctl, '--help'], lang, opts.localedir)
        lines = r.stdout.splitlines()
        tap.result(r.returncode == 0, f'{label}: postroomctl --help succeeds',
                   f'exit status {r.returncode}\n{r.stderr}')
        tap.equal(lines[0] if lines else '', want['usage'], f'{label}: usage line')

        r = run([opts.postroomd, '--config', bad, '--check'], lang, opts.localedir)
        tap.result(r.returncode != 0, f'{label}: postroomd --check refuses an unknown key',
                   f'exit status {r.returncode}')
        tap.equal(r.stderr.strip(), want['unknown_key'].format(conf=bad),
                  f'{label}: unknown key error')

        r = run([opts.postroomd, '--config', good, '--check'], lang, opts.localedir)
        tap.result(r.returncode == 0, f'{label}: postroomd --check accepts a valid file',
                   f'exit status {r.returncode}\n{r.stderr}')
        tap.equal(r.stdout.strip(), want['check_ok'], f'{label}: configuration OK message')


def read_linguas(srcdir):
    langs = []
    with open(os.path.join(srcdir, 'po', 'LINGUAS'), encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#'):
                langs.append(line)
    return langs


def read_potfiles(srcdir):
    with open(os.path.join(srcdir, 'po', 'POTFILES.in'), encoding='utf-8') as f:
        return [line.strip() for line in f
                if line.strip() and not line.lstrip().startswith('#')]


def marked_sources(srcdir):
    found = []
    for top in SOURCE_DIRS:
        root = os.path.join(srcdir, top)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in filenames:
                if not name.endswith(('.c', '.h')):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, encoding='utf-8', errors='replace') as f:
                    if MARKED.search(f.read()):
                        found.append(os.path.relpath(path, srcdir))
    return sorted(found)


def check_catalogues(tap, opts, tmp):
    srcdir = opts.srcdir
    langs = read_linguas(srcdir)
    tap.equal(sorted(langs), ['de', 'es', 'fr'], 'LINGUAS names fr, de and es')

    potfiles = read_potfiles(srcdir)
    tap.equal(potfiles, sorted(potfiles), 'POTFILES.in is sorted')
    missing = [p for p in potfiles if not os.path.isfile(os.path.join(srcdir, p))]
    tap.equal(missing, [], 'every file in POTFILES.in exists')
    tap.equal(potfiles, marked_sources(srcdir),
              'POTFILES.in lists exactly the sources that contain _("…") or N_("…")')

    pot = os.path.join(tmp, 'postroom.pot')
    r = subprocess.run([opts.xgettext, '--package-name=postroom', '--from-code=UTF-8',
                        '--add-comments', *XGETTEXT_KEYWORDS,
                        '--files-from=' + os.path.join('po', 'POTFILES.in'),
                        '--output=' + pot],
                       cwd=srcdir, capture_output=True, encoding='utf-8', timeout=TIMEOUT)
    tap.result(r.returncode == 0 and os.path.isfile(pot), 'xgettext extracts a fresh template',
               r.stderr)
    n_msgids = 0
    if os.path.isfile(pot):
        with open(pot, encoding='utf-8') as f:
            n_msgids = sum(1 for line in f if line.startswith('msgid "')) - 1
    tap.result(n_msgids >= 100, f'the template has {n_msgids} messages',
               'expected at least 100 messages: is POTFILES.in read?')

    for lang in langs:
        po = os.path.join(srcdir, 'po', lang + '.po')
        r = subprocess.run([opts.msgfmt, '--check', '--check-format', '--statistics',
                            '-o', os.devnull, po],
                           capture_output=True, encoding='utf-8', timeout=TIMEOUT)
        stats = r.stderr.strip()
        tap.result(r.returncode == 0, f'{lang}.po: msgfmt --check --check-format passes', stats)
        tap.result('fuzzy' not in stats and 'untranslated' not in stats,
                   f'{lang}.po: no fuzzy or untranslated messages ({stats})', stats)
        with open(po, encoding='utf-8') as f:
            header = f.read(4000)
        tap.contains(header, 'charset=UTF-8', f'{lang}.po: UTF-8 header')
        tap.contains(header, f'"Language: {lang}\\n"', f'{lang}.po: Language header')

        # msgcmp treats untranslated and fuzzy entries as missing.
        r = subprocess.run([opts.msgcmp, po, pot], capture_output=True, encoding='utf-8',
                           timeout=TIMEOUT)
        tap.result(r.returncode == 0,
                   f'{lang}.po: every message of the fresh template is translated',
                   r.stderr + '\nrun: ninja postroom-update-po, then translate the new '
                   'messages')

        mo = os.path.join(opts.localedir, lang, 'LC_MESSAGES', 'postroom.mo')
        tap.result(os.path.isfile(mo), f'{lang}: {mo} is built')


def main():
    parser = argparse.ArgumentParser()
    for opt in ('postroomctl', 'postroomd', 'srcdir', 'localedir', 'msgfmt', 'msgcmp',
                'xgettext'):
        parser.add_argument('--' + opt, required=True)
    opts = parser.parse_args()

    tap = Tap()
    with tempfile.TemporaryDirectory(prefix='postroom-i18n-') as tmp:
        check_programs(tap, opts, tmp)
        check_catalogues(tap, opts, tmp)
    print(f'1..{tap.n}')
    return 1 if tap.failed else 0


if __name__ == '__main__':
    sys.exit(main())
