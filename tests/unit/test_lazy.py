"""``gate.lazy``: a module or a regular expression stands in for the real one and makes it
only when one of its attributes is first read."""

from __future__ import annotations

import re
import subprocess
import sys

from gate import lazy
from tests.conftest import ROOT


def test_a_lazy_module_is_the_module_once_used():
    code = (
        "import sys\nfrom gate import lazy\n"
        "colorsys = lazy.module('colorsys')\n"
        "print('colorsys' in sys.modules)\n"
        "print(colorsys.rgb_to_yiq(0, 0, 0))\n"
        "print(colorsys.rgb_to_yiq is sys.modules['colorsys'].rgb_to_yiq)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.splitlines() == ["False", "(0.0, 0.0, 0.0)", "True"], done.stderr


def test_a_lazy_pattern_matches_as_the_compiled_one():
    pattern = lazy.compile(r"(?P<h>\d+)h", re.IGNORECASE)
    compiled = re.compile(r"(?P<h>\d+)h", re.IGNORECASE)
    for text in ("12H", "x", "3h4h"):
        assert bool(pattern.fullmatch(text)) == bool(compiled.fullmatch(text))
        assert pattern.sub("-", text) == compiled.sub("-", text)
        assert [m.group("h") for m in pattern.finditer(text)] == re.findall(r"(\d+)h", text, re.I)
    assert (pattern.pattern, pattern.flags, pattern.groupindex) == (
        compiled.pattern,
        compiled.flags,
        compiled.groupindex,
    )


def test_no_regular_expression_of_the_gate_is_compiled_at_import():
    """Outside the API package (which the HTTP stack's import dwarfs), a module-level
    pattern is a ``lazy.compile``: importing the gate compiles none."""
    code = (
        "import re\nseen = []\nreal = re._compile\n"
        "def spy(pattern, flags):\n"
        "    import sys\n"
        "    caller = sys._getframe(2).f_globals.get('__name__', '')\n"
        "    if caller.startswith('gate') and not caller.startswith('gate.api'):\n"
        "        seen.append((caller, pattern))\n"
        "    return real(pattern, flags)\n"
        "re._compile = spy\n"
        "import gate.cli.main, gate.cli.gating, gate.cli.check, gate.cli.validate\n"
        "import gate.cli.baseline, gate.cli.run, gate.cli.comment, gate.policy.schema\n"
        "print(seen)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip() == "[]", done.stderr
