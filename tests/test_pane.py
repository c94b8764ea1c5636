"""Tables fit the pane's width instead of scrolling sideways: the columns a table lets go
leave first, the least worth first, and whatever still does not fit folds under the row."""
from cockpit.pane import grid

COLS = [("ID", "l"), ("Strikes", "l"), ("Mark", "r"), ("P&L $", "r"), ("BE T+0", "r"), ("Θ $/d", "r")]
ROWS = [(["IC-Dec04", "6550/6600·7050/7100", "11.75", "+256", "6723/6874", "+253"], None),
        (["IC-Jan15", "6200/6300·7250/7350", "20.19", "+523", "6495/6899", "+81"], "bold")]


def test_wide_table_folds_every_cell_onto_lines_that_fit():
    full = grid(COLS, ROWS)
    assert (full.header_lines, full.row_lines) == (2, 1)
    folded = full.fold(40)
    assert max(t.cell_len for t in folded) <= 40
    assert folded.row_lines == 2 and folded.header_lines == 3  # two header bands and a rule
    text = "\n".join(t.plain for t in folded)
    for cells, _ in ROWS:
        assert all(c in text for c in cells)
    second = folded[folded.header_lines + 1]  # IC-Dec04's continuation line
    assert second.plain.startswith("  ") and "6723/6874" in second.plain


def test_a_table_that_fits_is_unchanged():
    full = grid(COLS, ROWS)
    assert [t.plain for t in full.fold(200)] == [t.plain for t in full]


def test_fit_leaves_out_the_drop_columns_in_order_until_a_row_fits_and_names_them():
    full = grid(COLS, ROWS, drop=("BE T+0", "Mark", "Strikes"))
    assert full.width == 8 + 19 + 5 + 5 + 9 + 5 + 5
    fitted = full.fit(full.width - 1)  # one column less is enough: BE T+0, the first named
    assert [t.plain.split() for t in fitted][0] == ["ID", "Strikes", "Mark", "P&L", "$", "Θ", "$/d"]
    assert fitted.row_lines == 1 and fitted.width <= full.width - 1
    assert fitted[1].plain.startswith("── not shown at this width: BE T+0 ─")
    assert fitted[2].plain.split() == ["IC-Dec04", "6550/6600·7050/7100", "11.75", "+256", "+253"]
    two = full.fit(full.width - 10 - 1)  # BE T+0 (9 + a space) is not enough: Mark goes too
    assert "Mark" not in two[0].plain and "Strikes" in two[0].plain and two.row_lines == 1
    # naming them takes 43 columns, the table is 40 wide: the count instead
    assert two[1].plain == "── 2 columns not shown at this width " + "─" * (two.width - 37)
    assert full.fit(full.width)[1].plain == "─" * full.width  # it fits: nothing left out
    assert [t.plain for t in full.fit(200)] == [t.plain for t in full]


def test_fit_folds_what_still_does_not_fit_once_every_drop_column_is_out():
    fitted = grid(COLS, ROWS, drop=("BE T+0",)).fit(30)
    assert fitted.row_lines == 2 and max(t.cell_len for t in fitted) <= 30
    assert "6723/6874" not in "\n".join(t.plain for t in fitted)
    assert grid(COLS, ROWS).fit(40).row_lines == 2  # no drop columns: folded as fold does
