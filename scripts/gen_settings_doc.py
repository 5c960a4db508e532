"""Write docs/settings.md from `paperscope.core.settings.SETTINGS`, the one table of settings.

    python scripts/gen_settings_doc.py          # rewrite docs/settings.md
    python scripts/gen_settings_doc.py --check  # exit 1 when docs/settings.md is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from paperscope.core.settings import PREFIX, SETTINGS

DOC = Path(__file__).resolve().parent.parent / "docs" / "settings.md"

HEADER = f"""\
# Settings

paperscope reads its settings from environment variables named `{PREFIX}<NAME>`. They are read when a
command starts (`load_settings()`), never when a module is imported, so a wrong value is reported by
the command that needs it, naming the variable. An unset or empty variable takes the default.
`paperscope settings` shows the value each one has now.

Each setting is declared once, as a typed field of `Settings` in `src/paperscope/core/settings.py`
(type, default, check, meaning); this page is generated from it by `python scripts/gen_settings_doc.py`,
and a test fails when the two disagree. No other module reads the environment.

"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|") if text else "(empty)"


def render() -> str:
    lines = ["| variable | default | meaning | type | check |", "| --- | --- | --- | --- | --- |"]
    for spec in SETTINGS:
        variable = f"`{PREFIX}{spec.name.upper()}`"
        default = f"`{spec.default}`" if spec.default else "(empty)"
        lines.append(f"| {variable} | {default} | {_cell(spec.meaning)} | {spec.type_name} | {spec.rule or '—'} |")
    return HEADER + "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not DOC.exists() or DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC} is out of date: run python scripts/gen_settings_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
