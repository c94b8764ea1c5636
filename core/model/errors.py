"""Errors for bad user input: one line naming file, line and field."""
import re

# C0/C1 controls and bidi overrides: a file name or field echoed to the terminal must not
# carry escape sequences (an OSC 52 clipboard write) or reorder what the line says
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """The text with every control character shown as an escape, never sent raw."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                       else f"\\u{ord(m.group()):04x}", text)


class InputError(Exception):
    """Bad input in a book, market or history file.

    str() gives `file:line: field: message` with the parts that are known.
    """

    def __init__(self, message: str, *, file: str | None = None,
                 line: int | None = None, field: str | None = None):
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + ": "
        elif self.line:
            where = f"line {self.line}: "
        field = f"{self.field}: " if self.field else ""
        return printable(f"{where}{field}{self.message}")
