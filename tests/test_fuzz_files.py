"""Fuzzed book and market files: whatever the text, the loaders and the engine return an
Analysis or raise an InputError of one line naming the file, never anything else.

Values of every TOML type at every key, tables where scalars go and the reverse, deep
nesting, non-finite and extreme numbers, and byte-level mutations of the demo files and
the README examples. bench/fuzz_files.py runs the same idea at 20,000+ cases.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from core.book.bookfile import parse_book
from core.engine import analyze
from core.model.errors import InputError
from core.book.lifecycle import market_file_lookup, settle
from core.market.marketfile import parse_market
from core.model.results import Analysis

ROOT = Path(__file__).resolve().parents[1]
_README = (ROOT / "README.md").read_text(encoding="utf-8")
_BLOCKS = re.findall(r"```toml\n(.*?)```", _README, re.S)
PAIRS = [((ROOT / "core/demo/book.toml").read_text(encoding="utf-8"),
          (ROOT / "core/demo/market.toml").read_text(encoding="utf-8")),
         (_BLOCKS[0] + _BLOCKS[1], _BLOCKS[2] + _BLOCKS[3])]
FAST = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def run(book_text: str, market_text: str) -> Analysis | None:
    """The property itself: an Analysis, or None after a proper one-line InputError."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            book = parse_book(book_text, "book.toml")
            market = parse_market(market_text, "market.toml")
            settled = settle(book, market, market_file_lookup(market))
            a = analyze(settled.priceable, market)
        except InputError as exc:
            text = str(exc)
            assert "\n" not in text and text.startswith(("book.toml", "market.toml")), text
            return None
    assert isinstance(a, Analysis)
    return a


def test_the_seeds_are_accepted():
    for book, market in PAIRS:
        assert run(book, market) is not None


# ---- strategies --------------------------------------------------------------------------

NUMBERS = st.one_of(
    st.sampled_from(["inf", "-inf", "nan", "+nan", "1e308", "-1e308", "5e-324", "1e-300", "0", "-0.0",
                     "99999999999999999999", "9223372036854775807", "-9223372036854775808", "0x7f",
                     "1_000", "0.01", "1e6", "1e10", "5000"]),
    st.integers(-10**12, 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda x: {"inf": "inf", "-inf": "-inf", "nan": "nan"}.get(repr(x), repr(x))))
SCALARS = st.one_of(
    NUMBERS, st.sampled_from(["true", "false", '""', '"x"', "'\u2028'", '"IC-Dec18"', '"vix_call"',
                              "2026-12-18", "0001-01-01", "9999-12-31", "1970-01-01",
                              "2026-11-20T16:15:00", "0001-01-01T00:00:00+05:00", "16:15:00",
                              "1989-12-31T23:59:59Z", "2100-12-31T23:59:59-05:00"]))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
                            st.lists(st.tuples(st.sampled_from(["a", "atm", "skew", "x", "2026-12-16", '"6300"']),
                                               inner), max_size=3, unique_by=lambda kv: kv[0])
                            .map(lambda kvs: "{" + ", ".join(f"{k} = {v}" for k, v in kvs) + "}")),
    max_leaves=6)
_VALUE_LINE = re.compile(r"^(\s*[A-Za-z0-9_\-\"']+\s*=\s*)([^#\n]*?)(\s*(#.*)?)$", re.M)
_HEADER = re.compile(r"^\[\[?([^\]]+)\]\]?", re.M)
KEYS = ["account", "equity", "condor", "hedge", "leg", "model", "stress", "alvh", "layer1", "layer3",
        "closed", "spx_vol", "vix_vol", "vxx_vol", "overrides", "vix_futures", "mark", "settlement",
        "as_of", "spx", "vix", "vxx", "rate", "atm", "skew", "strike_mult", "weights", "quantity"]


def at_a_key(text: str, data) -> str:
    """Any value at one key that has one."""
    lines = list(_VALUE_LINE.finditer(text))
    m = data.draw(st.sampled_from(lines))
    return text[:m.start(2)] + data.draw(VALUES) + text[m.end(2):]


@st.composite
def pair_with_one_file_mutated(draw, mutate):
    book, market = draw(st.sampled_from(PAIRS))
    if draw(st.booleans()):
        return mutate(book, draw), market
    return book, mutate(market, draw)


def values_everywhere(text, draw):
    for _ in range(draw(st.integers(1, 3))):
        lines = list(_VALUE_LINE.finditer(text))
        m = draw(st.sampled_from(lines))
        text = text[:m.start(2)] + draw(VALUES) + text[m.end(2):]
    return text


def tables_and_scalars_swapped(text, draw):
    op = draw(st.integers(0, 3))
    headers = list(_HEADER.finditer(text))
    if op == 0 and headers:  # a table becomes a scalar, an array, or the other kind of table
        m = draw(st.sampled_from(headers))
        name = m.group(1)
        new = draw(st.sampled_from([f"{name} = 1", f"{name} = [1, 2, 3]", f"[[{name}]]", f"[{name}]",
                                    f"{name.split('.')[-1]} = {{}}", ""]))
        return text[:m.start()] + new + text[m.end():]
    if op == 1:  # a scalar becomes a table
        lines = list(_VALUE_LINE.finditer(text))
        m = draw(st.sampled_from(lines))
        key = m.group(1).split("=")[0].strip()
        return text[:m.start()] + draw(st.sampled_from([f"[{key}]\nx = 1", f"[[{key}]]", f"{key} = {{a = 1}}"])) \
            + text[m.end():]
    # a new key or table anywhere in the schema
    key, sub, value = draw(st.sampled_from(KEYS)), draw(st.sampled_from(KEYS)), draw(VALUES)
    block = draw(st.sampled_from([f"{key} = {value}", f"[{key}]\n{sub} = {value}", f"[[{key}]]\n{sub} = {value}",
                                  f"[{key}.{sub}]\n{sub} = {value}", f"[alvh.{key}]\n{sub} = {value}"]))
    if op == 2:
        return text + "\n" + block + "\n"
    return block + "\n" + text


def deep_nesting(text, draw):
    depth = draw(st.sampled_from([2, 31, 32, 33, 100, 400, 500, 2000]))
    kind = draw(st.sampled_from(["array", "table", "mixed"]))
    value = {"array": "[" * depth + "1" + "]" * depth,
             "table": "{a = " * depth + "1" + "}" * depth,
             "mixed": "[{a = " * (depth // 2) + "1" + "}]" * (depth // 2)}[kind]
    lines = list(_VALUE_LINE.finditer(text))
    m = draw(st.sampled_from(lines))
    return text[:m.start(2)] + value + text[m.end(2):]


def byte_mutations(text, draw):
    b = bytearray(text.encode("utf-8"))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(b)))
        op = draw(st.integers(0, 3))
        if op == 0 and i < len(b):
            b[i] = draw(st.integers(0, 255))
        elif op == 1:
            del b[i:i + draw(st.integers(1, 16))]
        elif op == 2:
            b[i:i] = draw(st.sampled_from([b"[", b"]", b"{", b"=", b'"', b"\n", b"#", b"e9", b"-", b"inf",
                                           b"\xef\xbb\xbf", "\u2028".encode(), b"\r\n", b"\x00"]))
        else:
            j = draw(st.integers(0, len(b)))
            b[i:i] = b[min(i, j):max(i, j)][:200]
    return b.decode("utf-8", errors=draw(st.sampled_from(["replace", "ignore"])))


# ---- properties --------------------------------------------------------------------------

@settings(max_examples=900, **FAST)
@given(pair_with_one_file_mutated(values_everywhere))
def test_any_value_at_any_key(files):
    run(*files)


@settings(max_examples=700, **FAST)
@given(pair_with_one_file_mutated(tables_and_scalars_swapped))
def test_tables_where_scalars_go_and_the_reverse(files):
    run(*files)


@settings(max_examples=150, **FAST)
@given(pair_with_one_file_mutated(deep_nesting))
def test_deep_nesting(files):
    run(*files)


@settings(max_examples=900, **FAST)
@given(pair_with_one_file_mutated(byte_mutations))
def test_byte_level_mutations(files):
    run(*files)


@settings(max_examples=300, **FAST)
@given(st.sampled_from(PAIRS), st.sampled_from(["spx", "vix", "equity", "quantity", "long_put", "strike",
                                                "ratio", "price", "atm", "skew", "credit", "rate"]),
       NUMBERS)
def test_extreme_numbers_at_the_numeric_keys(pair, key, number):
    book, market = pair
    pattern = re.compile(rf"^({key}\s*=\s*)([^#\n]*?)(\s*(#.*)?)$", re.M)
    book, market = (pattern.sub(lambda m: m.group(1) + number + m.group(3), x, count=1) for x in (book, market))
    run(book, market)


@pytest.mark.parametrize("ch", ["\ufeff", "\u2028", "\u2029", "\x85", "\x0c"])
def test_unicode_line_breaks_and_the_bom(ch):
    for book, market in PAIRS:
        run(ch + book, market)
        run(book.replace('"', '"' + ch, 1), market.replace("# ", "# " + ch))
