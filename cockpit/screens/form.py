"""What every form shares: check on each keystroke, enter or ctrl+s submits a valid
form (a bell otherwise), escape cancels. A form is valid only once the engine prices
what it would make (`Session.problem`): no edit can leave the book unpriceable."""
from __future__ import annotations

from textual.screen import ModalScreen
from textual.widgets import Input


class FormScreen(ModalScreen):
    # the box every form shares; each form sets only its width and its own parts
    DEFAULT_CSS = """
    FormScreen { align: center middle; }
    FormScreen > VerticalScroll { max-width: 100%; height: auto; max-height: 100%;
                                  border: round $primary; background: $surface; padding: 0 1; }
    FormScreen Grid { grid-size: 4; grid-columns: 12 1fr 12 1fr; height: auto; grid-gutter: 0 1; }
    FormScreen Input { height: 3; }
    FormScreen #problem { color: $error; height: auto; }
    """
    result = None  # the parsed value, or None while the form is not valid

    def check(self) -> None:
        """Parse the inputs into self.result and show what is wrong."""
        raise NotImplementedError

    def outcome(self):
        """What the form returns when submitted (self.result by default)."""
        return self.result

    def on_mount(self) -> None:
        # the first field on screen (query_one searches breadth first: a field outside the grid)
        next(iter(self.query(Input))).focus()
        self.check()

    def on_input_changed(self, _) -> None:
        self.check()

    def on_input_submitted(self, _) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        if self.result is None:
            self.app.bell()
            return
        self.dismiss(self.outcome())

    def action_cancel(self) -> None:
        self.dismiss(None)
