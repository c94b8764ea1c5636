"""The README's set-up commands and file examples are the real ones."""
import re
from pathlib import Path

from core.book.bookfile import parse_book
from core.engine import analyze
from core.market.marketfile import parse_market

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_exactly_two_setup_commands_and_ci_runs_the_test_one():
    setup = README.split("## Set up")[1].split("## ")[0]
    commands = [line.strip() for line in setup.splitlines() if line.startswith("    ")]
    assert commands == ["pip install -e . && alvh",
                        "pip install -e '.[test]' && python -m pytest -q"]
    assert commands[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_book_and_market_examples_parse_and_price():
    book_text, closed_text, market_text, settlement_text = re.findall(r"```toml\n(.*?)```", README, re.S)
    book = parse_book(book_text + closed_text, "README book")
    market = parse_market(market_text + settlement_text, "README market")
    assert book.closed[0].realized == round((12.6 - 9.5) * 3 * 100, 2)  # the formula the comment gives
    assert market.settlements[0].value == 6871.25
    a = analyze(book, market)
    assert [c.condor.id for c in a.condors] == ["IC-Dec18"]
    assert book.alvh.layers[3].strike_mult == 1.3
    assert any("implied from mark" in note for note in a.assumptions)


def test_every_key_in_the_keymap_is_in_the_readme():
    from cockpit.keymap import KEYS
    keys = README.split("## Keys")[1].split("## ")[0]
    for k in KEYS:
        shown = {"^s": "ctrl+s"}.get(k.display, k.display)
        assert f"`{shown}`" in keys or (shown in "234" and "`1`–`5`" in keys), k
