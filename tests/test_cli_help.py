"""Every command's --help as a user reads it: required arguments shown as required, and each default stated once, in
one style: '(default: X)'."""
import os, re, subprocess

import pytest

from test_structure import console_scripts

# what each command cannot run without: positionals by name, options by flag
REQUIRED = {'steel-sample': ['path'], 'steel-import': ['src', 'dst'], 'steel-train': ['--data'], 'steel-tune': ['--data', '--models'],
            'steel-submit': ['--data', '--models'], 'steel-predict': ['images', '--model'], 'steel-export': ['models'],
            'steel-app': ['--model'], 'steel-analyse': ['--data', '--models']}


def help_text(cmd):
    r = subprocess.run([cmd, '--help'], capture_output=True, text=True, timeout=120, env={**os.environ, 'COLUMNS': '1000'})
    assert r.returncode == 0, r.stderr
    return r.stdout


def arguments(text):
    "{name or flag: help} of every argument, one line each (the help is not wrapped at 1000 columns)"
    out = {}
    for line in text.splitlines():
        m = re.match(r'^  (-[-\w]+|[a-z_]+)(?: \(\w+\)(?: \[\(\w+\) \.\.\.\])?| \[[a-z_]+ \.\.\.\])?(?:, -[-\w]+)?\s{2,}(.*)$', line)
        if m: out[m.group(1)] = m.group(2)
    return out


def test_every_command_is_listed():
    assert set(REQUIRED) - {'steel-sample'} <= set(console_scripts()) and 'steel-sample' in console_scripts()


@pytest.mark.parametrize('cmd', sorted(console_scripts()))
def test_help(cmd):
    text = help_text(cmd)
    usage = ' '.join(text.split('\n\n')[0].split())
    args = arguments(text)
    assert len(args) > 2, text
    need = REQUIRED.get(cmd, [])
    for name in need:
        assert name in args, f"{cmd}: {name} not in the help:\n{text}"
        assert '(required)' in args[name], f"{cmd} {name}: {args[name]!r} does not say it is required"
        # in the usage line a required argument stands outside brackets
        assert re.search(rf'(?<!\[){re.escape(name)}\b', usage), f"{cmd}: {name} shown as optional in {usage!r}"
    for name,h in args.items():
        if name in ('-h', '--help'): continue
        if name not in need: assert '(required)' not in h, f"{cmd} {name}: optional but says required: {h!r}"
        n = h.lower().count('default')
        assert n <= 1, f"{cmd} {name}: the default stated {n} times: {h!r}"
        if n: assert re.search(r'\(default: [^)]', h), f"{cmd} {name}: a default not in the form '(default: X)': {h!r}"


def test_missing_required_argument_is_named():
    r = subprocess.run(['steel-train'], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and 'the following arguments are required: --data' in r.stderr, r.stderr
    r = subprocess.run(['steel-import', 'src'], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and 'the following arguments are required: dst' in r.stderr, r.stderr
