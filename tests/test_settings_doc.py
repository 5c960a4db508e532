"""docs/settings.md is generated from SETTINGS; this fails when someone changed one and not the other."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from paperscope.core.settings import PREFIX, SETTINGS

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "gen_settings_doc.py"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_settings_doc", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_settings_doc_is_up_to_date() -> None:
    doc = ROOT / "docs" / "settings.md"
    assert doc.read_text(encoding="utf-8") == _generator().render(), (
        "docs/settings.md is out of date: run python scripts/gen_settings_doc.py"
    )


def test_settings_doc_lists_every_setting_with_its_default() -> None:
    text = _generator().render()
    rows = [line for line in text.splitlines() if line.startswith(f"| `{PREFIX}")]
    assert len(rows) == len(SETTINGS)
    assert ("| `PAPERSCOPE_BATCH_SIZE` | `5000` | Records written to the store in one transaction. | int "
            "| at least 1 |") in rows
    tls = "| `PAPERSCOPE_SMTP_TLS` | `starttls` | starttls \\| ssl \\| none. | str | one of starttls, ssl, none |"
    assert tls in rows
    assert "| `PAPERSCOPE_S2_API_KEY` | (empty) |" in text


def test_check_mode_fails_on_a_stale_doc(tmp_path: Path) -> None:
    generator = _generator()
    generator.DOC = tmp_path / "settings.md"
    generator.DOC.write_text("# Settings\n\nstale\n", encoding="utf-8")
    assert generator.main(["--check"]) == 1
    assert generator.main([]) == 0
    assert generator.main(["--check"]) == 0


def test_check_mode_runs_as_a_script() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
