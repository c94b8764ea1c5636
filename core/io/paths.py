"""Where files live: the bundled demo, and the user's own book and market."""
from __future__ import annotations

from pathlib import Path

APP = "alvh-cockpit"
DEMO_DIR = Path(__file__).parents[1] / "demo"
DEMO_BOOK = DEMO_DIR / "book.toml"
DEMO_MARKET = DEMO_DIR / "market.toml"


def config_dir() -> Path:
    from platformdirs import user_config_dir
    return Path(user_config_dir(APP))


def user_book() -> Path:
    return config_dir() / "book.toml"


def user_market() -> Path:
    return config_dir() / "market.toml"
