"""Writing the book away from the screen: in a child Python, waited for by a worker thread.

A thread alone is not enough for a large book: the TOML writer holds the GIL, and its garbage
(some 640,000 objects in reference cycles for 10,000 condors) makes the collector stop every
thread of the process for up to ~0.4 s at a time. A child process takes both away; it starts
in a fraction of a second, importing only this module and what the write needs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from core.model.errors import InputError
from core.model.inputs import Book


def fingerprint(path: Path) -> str | None:
    """A hash of the file's bytes (None when absent): how an edit by another program is seen."""
    import hashlib

    from core.io.atomic import not_regular
    try:
        if not_regular(path):  # a device or fifo is never read to its end
            return None
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None


@dataclass(frozen=True)
class Written:
    """What a save did: the book as re-read, the file's fingerprint, how many edits the
    journal took (and why not the rest), and whether it prices as the book saved."""
    book: Book
    disk: str | None
    journaled: int
    journal_error: str | None
    same: bool


@dataclass(frozen=True)
class SaveJob:
    """A save: the book as it was at ctrl+s, where it goes, the edits it journals."""
    book: Book
    path: Path
    edits: tuple
    db: Path | None
    existed: bool = True  # the file was there before: its old version becomes the .bak

    def write(self) -> Written:
        """Atomic write (previous version kept as .bak), then one journal record per edit."""
        from core.book.bookfile import save_book
        from core.history import journal
        self.path.parent.mkdir(parents=True, exist_ok=True)
        book = replace(save_book(self.book, self.path), demo=False)
        disk = fingerprint(self.path)
        key, done = journal.book_key(self.path), 0
        try:
            for action, label, before, after, when in self.edits:
                journal.record(self.db, key, action, before, after, when=when, label=label)
                done += 1
            error = None
        except InputError as exc:  # the book is saved; the journal catches up on the next save
            error = f"journal not written: {exc}"
        same = replace(book, source=None) == replace(self.book, source=None, demo=False)
        return Written(book, disk, done, error, same)


def write_beside(book: Book, path: Path) -> None:
    from core.io.atomic import atomic_write_text
    from core.book.bookfile import book_to_toml
    atomic_write_text(path, book_to_toml(book))


def in_child(work):
    """work() (picklable) run in a fresh Python; its result, or its exception raised here."""
    import pickle
    import subprocess
    import sys
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}  # the same modules as here
    done = subprocess.run([sys.executable, "-c", "import cockpit.saving as s; s.child()"], env=env,
                          input=pickle.dumps(work), capture_output=True)  # never onto the screen
    try:
        ok, value = pickle.loads(done.stdout)
    except Exception:  # noqa: BLE001 - it died before answering
        why = done.stderr.decode(errors="replace").strip().splitlines()
        raise OSError(f"the writing process ended ({done.returncode}): {why[-1] if why else 'no message'}") \
            from None
    if not ok:
        raise value
    return value


def child() -> None:
    """The child's side of in_child: a pickled callable on stdin, (ok, result) on stdout."""
    import pickle
    import sys
    work = pickle.load(sys.stdin.buffer)
    try:
        answer = (True, work())
    except Exception as exc:  # noqa: BLE001 - every failure goes back to be said
        answer = (False, exc)
    sys.stdout.buffer.write(pickle.dumps(answer))
