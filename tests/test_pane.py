"""Tables fold to the pane's width instead of scrolling sideways."""
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
