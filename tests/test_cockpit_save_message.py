"""What ctrl+s says: a .bak only when there was a file before."""
from __future__ import annotations

from cockpit.header import HeaderBar
from cockpit_helpers import make_cockpit, sync, text_of, until_saved


@sync
async def test_the_first_save_claims_no_backup_and_the_second_does(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("]", "ctrl+s")
        await until_saved(pilot)
        first = text_of(app.query_one(HeaderBar))
        await pilot.press("ctrl+s")
        await until_saved(pilot)
        second = text_of(app.query_one(HeaderBar))
    assert "saved" in first and ".bak" not in first, first
    assert "previous version kept as book.toml.bak" in second and (tmp_path / "book.toml.bak").exists()
