"""The [capital] table in the book file, and the capital section of the report, its JSON
and the cockpit's Capital screen on the demo book."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from cli_helpers import refused, run
from cockpit_helpers import make_cockpit, settle, sync, text_of
from core.book.bookfile import load_book, parse_book, save_book
from core.io import paths
from core.model.inputs import CapitalSettings

ROOT = Path(__file__).resolve().parents[1]
HEAD = "[account]\nequity = 250000.0\n[capital]\n"


def test_a_book_without_capital_takes_the_defaults():
    assert load_book(paths.DEMO_BOOK).capital == CapitalSettings()


def test_the_readme_capital_table_parses_to_what_it_says():
    block = re.search(r"```toml capital\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    c = parse_book("[account]\nequity = 1.0\n" + block.group(1), "README").capital
    assert c.weights == (0.2, 0.3, 0.0, 0.5) and c.box == (1000.0, 960.0, 365.0)
    assert c.beta_band == (0.2, 0.6) and c.vol_window_days == 252


@pytest.mark.parametrize("body, line, field, why", [
    ("weights = { margin = 0.3, equity = 0.75 }", 4, "capital.weights", "must sum to 1"),
    ("weights = { margn = 1.0 }", 4, "capital.weights", "unknown weight"),
    ("mrp_pct = 1\nmargin_rate_pct = -2", 5, "capital.margin_rate_pct", "must not be negative"),
    ("rf_pct = 101", 4, "capital.rf_pct", "from 0 to 100"),
    ("box_width = 100\nbox_price = 0\nbox_days = 30", 5, "capital.box_price", "above zero"),
    ("box_width = 100\nbox_price = 101\nbox_days = 30", 5, "capital.box_price", "below the box width"),
    ("vol_window_days = 19", 4, "capital.vol_window_days", "from 20 to 2,520"),
    ("beta_band = [0.6, 0.2]", 4, "capital.beta_band", "low <= high"),
    ("wacc_trigger = 7", 4, "capital.wacc_trigger", "unknown field"),
])
def test_bad_capital_inputs_are_one_line_naming_file_line_and_field(tmp_path, capsys, body, line, field, why):
    book = tmp_path / "book.toml"
    book.write_text(HEAD + body + "\n", encoding="utf-8")
    err = refused(capsys, run("report", "--book", book))
    assert f"{book}:{line}: {field}:" in err and why in err, err


def test_saving_keeps_the_capital_table_and_its_comments(tmp_path):
    path = tmp_path / "book.toml"
    text = (paths.DEMO_BOOK.read_text(encoding="utf-8") + "\n[capital]          # my capital\n"
            "mrp_pct = 6.0      # a cautious premium\nweights = { margin = 0.5, equity = 0.5 }\n")
    path.write_text(text, encoding="utf-8")
    book = load_book(path)
    from dataclasses import replace
    save_book(replace(book, equity=300_000.0), path)
    written = path.read_text(encoding="utf-8")
    assert "# my capital" in written and "# a cautious premium" in written
    assert load_book(path).capital == book.capital == CapitalSettings(mrp_pct=6.0, weights=(0.5, 0.0, 0.0, 0.5))


def test_a_fresh_write_spells_out_the_capital_settings(tmp_path):
    from core.book.bookfile import book_to_toml
    book = parse_book(HEAD + "tax_pct = 30\nbox_width = 500\nbox_price = 490\nbox_days = 90\n"
                      "weights = { box = 1.0 }\nexpirations = [2, 6]\n", "x")
    assert parse_book(book_to_toml(book), "x").capital == book.capital


def test_report_capital_section_on_the_demo(capsys):
    assert run("report") == 0
    out = capsys.readouterr().out
    section = out.split("Capital (the book's [capital] table")[1]
    for line in ("PASS expirations: 3 concurrent condor expirations (band 3–5)",
                 "WARN book beta: -0.427 outside the band 0.2 to 0.6",
                 "FAIL hedge drag: 6.73 %/yr of equity over the 2 %/yr budget",
                 "CAPM cost of equity 1.65%/yr = rf 4.00% (the market's rate) + beta -0.427 x MRP 5.5%",
                 "Buying power: Reg-T 44,560 $ = 17.8% of equity (condors 42,780 $, hedges 1,780 $)"):
        assert line in section, line
    assert "realized, 252 SPX closes to 2026-11-20 (DEMO)" in section


def test_report_json_capital_and_tranches(capsys):
    assert run("report", "--json") == 0
    out = json.loads(capsys.readouterr().out)
    c = out["capital"]
    for key in ("beta", "beta_band", "wacc", "cost_of_equity", "irr", "spread_bp", "buying_power", "rules"):
        assert key in c, key
    assert c["beta_band"] == [0.2, 0.6] and c["wacc"] == pytest.approx(0.04 + c["beta"] * 0.055)
    assert c["buying_power"]["reg_t"] == pytest.approx(44_560)
    assert [r["status"] for r in c["rules"]] == ["pass", "pass", "warn", "fail", "pass"]
    assert c["spread_bp"] == pytest.approx((c["irr"] - c["wacc"]) * 1e4)
    # the IRR's real world is the probabilities': SPX's CAPM drift (beta 1), not the book's cost of equity
    real, rw = c["real_world"], out["book"]["probability"]["real_world"]
    assert real["drift"] == rw["drift"] == pytest.approx(0.04 + 0.055) and real["vol"] == rw["vol"]
    assert real["drift_source"] == "CAPM of SPX (beta 1): rf + MRP"
    t = out["tranches"]
    assert [x["expiry"] for x in t] == ["2026-12-04", "2026-12-18", "2027-01-15"]
    assert all({"beta", "irr", "notional_pct"} <= set(x) for x in t)
    assert t[1]["notional_pct"] == pytest.approx(100 * (100 - 19.4) * 200 / 250_000)
    # the demo condors' flows start on their opened dates; the hedges have none, and are named
    assert [x["irr_start"] for x in t] == ["2026-11-19", "2026-11-16", "2026-11-06"]
    assert all(x["irr_undated"] == [] for x in t)
    assert c["irr_undated"] == ["L1-Nov25-19C", "L2-Jan-20/30", "L3-Jul-30C"]


@sync
async def test_the_capital_screen_shows_the_same_lines(tmp_path):
    app = make_cockpit(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("C")
        await settle(pilot)
        from cockpit.screens.capital import CapitalScreen
        assert isinstance(app.screen, CapitalScreen)
        shown = text_of(app.screen.query_one("#capital-body"))
        assert "WARN book beta: -0.427 outside the band 0.2 to 0.6" in shown
        assert "portfolio-margin estimate" in shown and "IRR book" in shown
        await pilot.press("escape")
        assert not isinstance(app.screen, CapitalScreen)


def test_the_capital_key_is_in_the_key_table():
    from cockpit.keymap import KEYS
    assert any(k.action == "capital" and k.display == "C" for k in KEYS)


def test_report_holds_the_equal_risk_sizes_to_the_tranche_cap_and_marks_them(tmp_path, capsys):
    """The demo book at WACC 8 % (a margin loan at 8 %, weight 1) > 7 %: the cap is 4 % of
    250,000 $ = 10,000 $ a tranche. A tranche over it at its equal-risk size gets the largest
    whole quantity that passes, floor(10,000 / max loss a condor), flagged and marked *."""
    book = tmp_path / "book.toml"
    book.write_text(paths.DEMO_BOOK.read_text(encoding="utf-8")
                    + "\n[capital]\nweights = { margin = 1.0 }\nmargin_rate_pct = 8\n", encoding="utf-8")
    assert run("report", "--book", book, "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["capital"]["wacc"] == pytest.approx(0.08) and out["risk_contribution"]["cap_pct"] == 4.0
    each = {"IC-Dec04": (50 - 12.6) * 100, "IC-Dec18": (100 - 19.4) * 100, "IC-Jan15": (100 - 22.8) * 100}
    for t in out["tranches"]:
        (cid, wanted), = t["equal_risk_uncapped"].items()
        over = wanted * each[cid] > 10_000
        assert t["equal_risk_quantity"] == {cid: math.floor(10_000 / each[cid]) if over else wanted}
        assert t["equal_risk_capped"] is over and t["equal_risk_max_loss_pct"] <= 4.0
    assert [next(iter(t["equal_risk_quantity"].values())) for t in out["tranches"]] == [2, 1, 1]
    assert [t["equal_risk_capped"] for t in out["tranches"]] == [False, True, True]
    assert run("report", "--book", book) == 0
    text = capsys.readouterr().out
    assert "IC-Dec18 1*" in text and "IC-Jan15 1*" in text and "IC-Dec04 2 " in text
    assert "a tranche's max loss <= 4% of equity; * capped (equal risk alone: IC-Dec18 2, IC-Jan15" in text
