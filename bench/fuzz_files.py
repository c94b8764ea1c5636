"""Fuzz the book and market loaders the way a hostile user would: mutated copies of the
demo files and the README examples, read and analyzed in-process (what `alvh report` does
minus the history store). The property: every case is accepted (an Analysis) or refused
(an InputError, one line naming the file); anything else is a crash, printed with its
signature (exception type and innermost project frame).

    python bench/fuzz_files.py [--cases 20000] [--seed 1] [--show 3]
"""
from __future__ import annotations

import argparse
import math
import random
import re
import sys
import time
import traceback
import warnings
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.book.bookfile import parse_book  # noqa: E402
from core.engine import analyze  # noqa: E402
from core.model.errors import InputError  # noqa: E402
from core.book.lifecycle import market_file_lookup, settle  # noqa: E402
from core.market.marketfile import parse_market  # noqa: E402


def seeds() -> list[tuple[str, str]]:
    """(book, market) pairs that are valid together: the demo files, the README examples."""
    demo = (ROOT / "core/demo/book.toml").read_text(encoding="utf-8"), \
        (ROOT / "core/demo/market.toml").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    book, closed, market, settlement = re.findall(r"```toml\n(.*?)```", readme, re.S)[:4]
    return [demo, (book + closed, market + settlement)]


def outcome(book_text: str, market_text: str) -> tuple[str, str]:
    """("accepted" | "refused" | "crash", detail)."""
    try:
        book = parse_book(book_text, "book.toml")
        market = parse_market(market_text, "market.toml")
        settled = settle(book, market, market_file_lookup(market))
        a = analyze(settled.priceable, market)
    except InputError as exc:
        text = str(exc)
        if "\n" in text or not text.startswith(("book.toml", "market.toml")):
            return "crash", f"InputError not one line naming the file: {text[:80]!r}"
        return "refused", text
    except BaseException as exc:  # noqa: BLE001 - the point is to see everything
        if isinstance(exc, KeyboardInterrupt):
            raise
        return "crash", signature(exc)
    t = a.totals
    if not all(math.isfinite(x) for x in (t.pnl, t.greeks.delta, t.greeks.theta, t.vix_point)):
        return "accepted", "non-finite totals"
    return "accepted", ""


def signature(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if str(ROOT) in f.filename]
    where = f"{Path(frames[-1].filename).relative_to(ROOT)}:{frames[-1].lineno}" if frames else "?"
    msg = str(exc).splitlines()[0][:60] if str(exc) else ""
    msg = re.sub(r"\d+", "N", msg)
    return f"{type(exc).__name__} at {where}: {msg}"


# ---- mutations -----------------------------------------------------------

NUMBERS = ["inf", "-inf", "nan", "+inf", "1e308", "-1e308", "5e-324", "1e-300", "0", "-0.0", "-1",
           "0.01", "0.5", "1", "2", "5", "100", "1e6", "1e9", "1e12", "99999999999999999999",
           "-99999999999999999999", "9223372036854775807", "0x7fffffff", "1_000_000", "3.7", "6450",
           "16.5", "1e-9", "0.0001", "-0.8", "1e3", "5000", "50"]
VALUES = NUMBERS + ['"x"', '""', "true", "false", "2026-12-18", "2026-11-20T16:15:00",
                    "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59", "1970-01-01T00:00:00",
                    "1990-01-01", "16:15:00", "[]", "[1,2,3]", "[[1],[2]]", "{}", "{a = 1}",
                    '{atm = 0.2}', '"\u2028"', '["a", 1]', "[0.4, 0.6]", "[1.0, 0.0]"]
DATES = ["0001-01-01T00:00:00+05:00", "0001-01-01T00:00:00", "9999-12-31T23:59:59-05:00",
         "1970-01-01T00:00:00", "1969-12-31T23:59:59", "2100-01-01T00:00:00", "1989-12-31T00:00:00",
         "2026-11-20T16:15:00Z", "2026-11-20", "2027-07-22T09:30:00", "2026-12-18T16:00:00"]
EXTRA_LINES = ["spx_vol = 1", "vix_futures = 1", "vix_vol = [1]", "[[vix_vol]]", "[[spx_vol]]",
               "[spx_vol]\noverrides = [1,2,3]", "[spx_vol.overrides]\n\"6450\" = inf",
               "[spx_vol.overrides]\nabc = 0.2", "[alvh]\nlayer1 = false", "[alvh]\nlayer3 = [1]",
               "[alvh.layer3]\nstrike_mult = 0.01", "[alvh.layer1]\nwidth = 1e308",
               "[[mark]]\nkind = \"spx_put\"\nexpiry = 2026-12-18\nstrike = 6450\nprice = 1.0",
               "[[mark]]\nkind = \"spx_call\"\nexpiry = 2026-12-18\nstrike = 7150\nprice = 5000",
               "[[mark]]\nkind = \"vix_call\"\nexpiry = 2027-01-20\nstrike = 20\nprice = 1e-9",
               "[[mark]]\nkind = \"spx_put\"\nexpiry = 2026-12-18\nstrike = 5e-324\nprice = 1",
               "[[settlement]]\nunderlying = \"SPX\"\ndate = 2026-12-04\nstyle = \"PM\"\nvalue = inf",
               "[model]\nkappa = 1e308", "[model]\nbeta = -1e308", "[model]\nvxx_exponent = 1e308",
               "[[stress]]\nname = \"x\"\nspx_move = -0.99\ndays = 1e308",
               "[[stress]]\nname = \"crash -10%\"\nspx_move = -0.1\nvix = 1e308",
               "[account]\nequity = 1", "[vix_vol]\nskew = 1e308", "[vix_vol]\natm = 1e-300",
               "[vix_futures]\n2026-11-25 = inf", "[vix_futures]\n2026-11-25 = 1e-300",
               "vix = 5000", "spx = 1e-300", "spx = inf", "rate = 0.49", "dividend_yield = -0.19",
               "as_of = 0001-01-01T00:00:00+05:00", "as_of = 1970-01-01T00:00:00",
               "[[hedge]]\nid = \"Z\"\nlayer = 1\nquantity = 1\n[[hedge.leg]]\nkind = \"vix_future\""
               "\nexpiry = 2026-12-16\nratio = -inf\nprice = 17"]
_VALUE_RE = re.compile(r"^(\s*[A-Za-z0-9_\-\"']+\s*=\s*)([^#\n]*?)(\s*(#.*)?)$", re.M)


def deep(rng: random.Random) -> str:
    n = rng.choice([50, 200, 400, 500, 1000, 3000])
    if rng.random() < 0.5:
        return "[" * n + "1" + "]" * n
    return "{a = " * n + "1" + "}" * n


def _lines_with_values(text: str):
    return list(_VALUE_RE.finditer(text))


def mutate(text: str, rng: random.Random) -> str:
    """One to three mutations: structured (values, types, tables, extremes) or raw bytes."""
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        text = rng.choice(MUTATORS)(text, rng)
    return text


def m_value(text, rng):
    ms = _lines_with_values(text)
    if not ms:
        return text
    m = rng.choice(ms)
    pool = NUMBERS if rng.random() < 0.6 else VALUES
    if "as_of" in m.group(1) and rng.random() < 0.7:
        pool = DATES
    return text[:m.start(2)] + rng.choice(pool) + text[m.end(2):]


def m_scale(text, rng):
    """A number nudged the way a typo does: a digit more, fewer, a sign, a decimal point."""
    nums = list(re.finditer(r"(?<![\w.-])-?\d+(\.\d+)?(?![\w:-])", text))
    if not nums:
        return text
    m = rng.choice(nums)
    v = float(m.group(0))
    new = rng.choice([v * 10, v / 10, v * 1000, -v, v + 1, v - 1, v * 100000, v / 1000, 0.0, v * 1e300])
    s = repr(new) if math.isfinite(new) else "inf"
    if rng.random() < 0.5 and new == int(new) and abs(new) < 1e18:
        s = str(int(new))
    return text[:m.start()] + s + text[m.end():]


def m_deep(text, rng):
    ms = _lines_with_values(text)
    if not ms:
        return text + "\nx = " + deep(rng) + "\n"
    m = rng.choice(ms)
    return text[:m.start(2)] + deep(rng) + text[m.end(2):]


def m_extra(text, rng):
    return text + "\n" + rng.choice(EXTRA_LINES) + "\n"


def m_header(text, rng):
    hs = list(re.finditer(r"^\[\[?([^\]]+)\]\]?", text, re.M))
    if not hs:
        return text
    m = rng.choice(hs)
    name = m.group(1)
    new = rng.choice([f"[[{name}]]", f"[{name}]", f"[{name}.x]", "[" + name.split(".")[0] + "]", "", f"{name} = 1"])
    return text[:m.start()] + new + text[m.end():]


def m_line(text, rng):
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    op = rng.randrange(4)
    if op == 0:
        del lines[i]
    elif op == 1:
        lines.insert(i, lines[rng.randrange(len(lines))])
    elif op == 2:
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    else:
        lines = lines[:i]
    return "\n".join(lines)


def m_bytes(text, rng):
    b = bytearray(text.encode("utf-8"))
    for _ in range(rng.choice([1, 1, 2, 4])):
        if not b:
            break
        i = rng.randrange(len(b))
        op = rng.randrange(4)
        if op == 0:
            b[i] = rng.randrange(256)
        elif op == 1:
            del b[i:i + rng.randrange(1, 8)]
        elif op == 2:
            b.insert(i, rng.choice(b"[]{}=\"'.,#\n0123456789-+e \t\\"))
        else:
            b[i:i] = b[max(0, i - 8):i]
    return b.decode("utf-8", errors="replace")


def m_unicode(text, rng):
    choice = rng.randrange(3)
    if choice == 0:
        return "\ufeff" + text
    strs = list(re.finditer(r'"[^"\n]*"', text))
    if not strs:
        return text
    m = rng.choice(strs)
    ch = rng.choice(["\u2028", "\u2029", "\x85", "\x0c", "\x0b", "\u00e9", "\U0001F600"])
    return text[:m.start() + 1] + ch + text[m.start() + 1:]


MUTATORS = [m_value, m_value, m_value, m_scale, m_scale, m_deep, m_extra, m_extra, m_header,
            m_line, m_bytes, m_bytes, m_unicode]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--show", type=int, default=2, help="example inputs printed per crash signature")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    rng = random.Random(args.seed)
    pairs = seeds()
    for b, m in pairs:
        assert outcome(b, m)[0] == "accepted", outcome(b, m)
    counts: Counter = Counter()
    crashes: dict[str, list[str]] = defaultdict(list)
    per_file: Counter = Counter()
    no_line: Counter = Counter()
    t0 = time.perf_counter()
    for i in range(args.cases):
        book, market = rng.choice(pairs)
        which = "book" if i % 2 == 0 else "market"
        if which == "book":
            book = mutate(book, rng)
        else:
            market = mutate(market, rng)
        kind, detail = outcome(book, market)
        counts[kind] += 1
        if detail == "non-finite totals":
            counts["nonfinite"] += 1
        if kind == "refused" and not re.match(r"(book|market)\.toml:\d+: ", detail):
            counts["no_line"] += 1  # a refusal that names no line
            no_line[re.sub(r"'.*", "", detail)[:90]] += 1
        if kind == "crash":
            per_file[which] += 1
            crashes[detail].append(book if which == "book" else market)
    dt = time.perf_counter() - t0
    print(f"cases {args.cases}  accepted {counts['accepted']}  refused {counts['refused']}  "
          f"crashes {counts['crash']} (book {per_file['book']}, market {per_file['market']})  "
          f"{dt:.1f} s, seed {args.seed}; accepted with non-finite totals {counts['nonfinite']}")
    share = counts["no_line"] / max(counts["refused"], 1)
    print(f"refusals naming no line: {counts['no_line']} ({share:.1%}); most common:")
    for text, n in no_line.most_common(8):
        print(f"  {n:5d}  {text}")
    for sig, examples in sorted(crashes.items(), key=lambda kv: -len(kv[1])):
        print(f"  {len(examples):5d}  {sig}")
        for ex in examples[:args.show]:
            diff = ex if len(ex) < 300 else ex[-300:]
            print("         | " + diff.replace("\n", "\n         | ")[:600])
    return 1 if counts["crash"] else 0


if __name__ == "__main__":
    sys.exit(main())
