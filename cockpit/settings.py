"""The user's cockpit preferences: config_dir()/settings.toml (today: the theme)."""
from __future__ import annotations

from pathlib import Path

from core.io.atomic import atomic_write_text


def settings_path() -> Path:
    from core.io.paths import config_dir
    return config_dir() / "settings.toml"


def load_theme(path: Path | None = None) -> str | None:
    """The saved theme name; None when nothing (readable) is saved."""
    import tomllib
    path = path or settings_path()
    try:
        name = tomllib.loads(path.read_text(encoding="utf-8")).get("theme")
    except (OSError, tomllib.TOMLDecodeError):
        return None  # a broken settings file must not stop the cockpit
    return name if isinstance(name, str) else None


def save_theme(name: str, path: Path | None = None) -> None:
    """Keep the rest of the file (and its comments) as it is."""
    import tomlkit
    import tomlkit.exceptions
    path = path or settings_path()
    try:
        doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    except (OSError, tomlkit.exceptions.ParseError):  # missing or broken: start afresh
        doc = tomlkit.document()
    doc["theme"] = name
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, tomlkit.dumps(doc), backup=False)
