"""The condor pane with quoted legs: the mark at mid, the natural close and its slippage."""
from __future__ import annotations

from cockpit.condors import CondorsPane
from cockpit_helpers import make_cockpit, sync, text_of
from core.io import paths

MIDS = {("spx_put", 6550): 13.5, ("spx_put", 6600): 18.4, ("spx_call", 7050): 13.2, ("spx_call", 7100): 6.4}


@sync
async def test_quoted_condor_shows_its_natural_close_and_slippage(tmp_path):
    market = tmp_path / "market.toml"
    market.write_text(paths.DEMO_MARKET.read_text() + "".join(
        f'\n[[mark]]\nkind = "{k}"\nexpiry = 2026-12-04\nstrike = {K}\nbid = {p - 0.3:.2f}\nask = {p + 0.3:.2f}\n'
        for (k, K), p in MIDS.items()))
    app = make_cockpit(tmp_path, market_path=market, signals=False)
    async with app.run_test(size=(200, 40)) as pilot:
        await pilot.pause()
        shown = text_of(app.query_one(CondorsPane))
    assert "Natural" in shown and "Slip $" in shown
    row = next(line for line in shown.splitlines() if "IC-Dec04" in line)
    # mid 18.4 + 13.2 - 13.5 - 6.4 = 11.70; natural 12.90; 4 half-spreads x 3 lots x 100 = $360
    assert "11.70" in row and "12.90" in row and "-360" in row
    assert "the quotes' mid where every leg is quoted" in shown


@sync
async def test_without_quotes_the_pane_has_no_natural_column(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(200, 40)) as pilot:
        await pilot.pause()
        assert "Natural" not in text_of(app.query_one(CondorsPane))
