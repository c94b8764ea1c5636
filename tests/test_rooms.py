"""core/ is built in rooms, each importing only rooms below it (no import runs upward, no
circle), and never the cockpit; the command line lives in cockpit/cli/ and the app does
not import its main. Read from the source with ast, so a lazy import inside a function counts."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOOR = {"model": 1, "io": 2, "book": 3, "market": 3, "pricing": 4, "history": 5, "risk": 5,
         "hedge": 6, "engine": 7, "export": 7, "backtest": 8, "capital": 8}


def imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "core" and len(parts) > 1 and parts[1] in FLOOR else None


def test_every_core_room_imports_only_rooms_below_or_its_own():
    upward = []
    for path in sorted((ROOT / "core").rglob("*.py")):
        rel = path.relative_to(ROOT / "core")
        here = rel.parts[0].removesuffix(".py")
        if here not in FLOOR:
            continue
        for module in imports(path):
            there = room(module)
            assert not module.startswith(("cockpit", "textual")), (rel, module)
            if there and there != here and FLOOR[there] >= FLOOR[here]:
                upward.append(f"{rel} imports {module}")
    assert not upward, upward


def test_the_rooms_hold_every_module():
    loose = sorted(p.name for p in (ROOT / "core").glob("*.py"))
    assert loose == ["__init__.py", "engine.py", "export.py"]


def test_the_app_and_the_report_share_inputs_not_the_command_line():
    for path in (ROOT / "cockpit" / "app.py", ROOT / "cockpit" / "cli" / "report.py",
                 ROOT / "cockpit" / "cli" / "book.py", ROOT / "cockpit" / "cli" / "data.py"):
        assert not any(m.startswith("cockpit.cli.main") for m in imports(path)), path


def test_core_analyze_is_the_public_entry():
    import core
    from core.engine import analyze
    assert core.analyze is analyze
