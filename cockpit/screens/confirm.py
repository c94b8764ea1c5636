"""A yes/no (or more) question answered with one key."""
from __future__ import annotations

from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class Confirm(ModalScreen[str | None]):
    """Dismisses with the key of the chosen answer, or None on escape."""
    DEFAULT_CSS = """
    Confirm { align: center middle; }
    Confirm > Vertical { width: auto; max-width: 90%; height: auto; max-height: 90%;
                         border: thick $warning; background: $surface; padding: 1 2; }
    Confirm Static { width: auto; }
    """
    BINDINGS = [Binding("escape", "choose(None)", "Cancel")]

    def __init__(self, question: str, answers: tuple[tuple[str, str], ...] = (("y", "yes"), ("n", "no"))):
        super().__init__()
        self.question = question
        self.answers = answers

    def compose(self):
        keys = "   ".join(f"[b]{k}[/b] {label}" for k, label in self.answers)
        with Vertical():
            yield Static(self.question, markup=False)
            yield Static("")
            yield Static(keys + "   [b]esc[/b] cancel")

    def on_key(self, event) -> None:
        for k, _ in self.answers:
            if event.key == k:
                event.stop()
                self.dismiss(k)

    def action_choose(self, key: str | None) -> None:
        self.dismiss(key)
