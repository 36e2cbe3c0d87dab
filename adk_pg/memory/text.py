"""Words, for memory search: what a memory is indexed on, and what a query asks for.

Words are cut and lowercased here, by Python's Unicode rules, never by the database's locale:
``\\w+`` runs of the NFC-normalised, lowercased text, each split where it changes between a
Latin and a non-Latin script (``私はPythonを使う`` gives ``私は``, ``python``, ``を使う``), as
ADK's own memory services split them. The server sees two things per memory:

* ``search_text``, those words joined by spaces, for the stemming configuration (``english``:
  "runs" finds "running");
* ``codes``, every word as a hex code (``x`` and its UTF-8 bytes), and every two-character run
  of a non-Latin word too, so that a word inside text written without spaces is found (as ADK's
  in-memory service finds it) and stop words stay findable. Hex codes are ASCII: the server's
  parser keeps them whatever its locale.

A query is read as a web search box reads it: words match if any is present, ``"quoted
phrases"`` must be present, ``-word`` and ``-"phrase"`` must not.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "MAX_CODE_BYTES",
    "MAX_QUERY_TERMS",
    "ParsedQuery",
    "Term",
    "format_timestamp",
    "index_codes",
    "parse_query",
    "search_words",
    "truncate_utf8",
]

_WORD = re.compile(r"\w+")
# A lexeme holds at most 2,047 bytes and a word's code is 1 + 2 per UTF-8 byte: a word of up
# to 255 characters (4 bytes each at most) always fits.
_MAX_WORD_CHARS = 255
# What a query may ask for: its first 64 words (and phrases), each non-Latin word by its
# first 64 two-character runs. A user's whole message makes a query (PreloadMemoryTool):
# the cost of a search grows with its words, and a tsquery with its runs.
MAX_QUERY_TERMS = 64
_MAX_RUNS = 64
# The codes of one memory, at most: with at most 512 KiB of indexed text, the search vector
# stays under PostgreSQL's 1 MB of lexemes.
MAX_CODE_BYTES = 256 * 1024
# A query chunk: an optional minus, then a quoted phrase or a word. A quote that is never
# closed is no phrase: it is read as text (and its words as words).
_CHUNK = re.compile(r'(-?)"([^"]*)"|(-?)(\S+)')


def format_timestamp(epoch: float) -> str:
    """ISO 8601 text of an event time, as ADK's memory services give it (local time)."""
    return datetime.fromtimestamp(epoch).isoformat()


def _is_latin(char: str) -> bool:
    if char.isascii():
        return char.isalnum() or char == "_"
    return unicodedata.name(char, "").startswith("LATIN")


def search_words(text: str) -> list[str]:
    """The words of ``text``, case-folded (Unicode rules), each cut where its script changes.

    A word whose code would not fit a lexeme (over ~1,000 bytes) is left out: nobody
    searches for it, and PostgreSQL could not index it."""
    words = []
    for word in _WORD.findall(unicodedata.normalize("NFC", text)):
        if len(word) > _MAX_WORD_CHARS:
            continue
        if word.isascii():
            words.append(word.lower())
            continue
        for _, run in itertools.groupby(word, _is_latin):
            words.append("".join(run).casefold())
    return words


def _code(word: str) -> str:
    return "x" + word.encode("utf-8").hex()


def _is_spaceless(word: str) -> bool:
    """A word of a non-Latin script: searched inside, by two-character runs."""
    return len(word) > 1 and not _is_latin(word[0])


def _pairs(word: str) -> Iterator[str]:
    return (word[i : i + 2] for i in range(len(word) - 1))


def index_codes(words: Iterable[str]) -> str:
    """The hex-coded lexemes of a memory's words, space-separated, in order, at most
    :data:`MAX_CODE_BYTES` long (cut between codes).

    Each word's code, in the words' order (so phrases match); then the two-character runs of
    each non-Latin word, consecutively (so a query's runs match in sequence); then the single
    characters of those words (a one-character query). What the budget cuts off is the end:
    single characters first, then runs.
    """
    words = list(words)
    codes = [_code(w) for w in words]
    spaceless = [w for w in words if _is_spaceless(w)]
    for word in spaceless:
        codes += [_code(pair) for pair in _pairs(word)]
    for word in spaceless:
        codes += [_code(char) for char in word]
    text = " ".join(codes)  # ASCII: a character is a byte
    if len(text) <= MAX_CODE_BYTES:
        return text
    cut = text.rfind(" ", 0, MAX_CODE_BYTES + 1)
    return text[:cut] if cut > 0 else ""


def truncate_utf8(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` bytes of UTF-8, on a character boundary."""
    raw = text.encode("utf-8")
    if len(raw) <= max_bytes:
        return text
    return raw[:max_bytes].decode("utf-8", errors="ignore")


@dataclass(frozen=True)
class Term:
    """One thing a query asks for: its text (for the stemming configuration) and its codes
    (a tsquery over the hex codes, matched in the ``simple`` configuration)."""

    text: str
    codes: str


def _word_codes(word: str) -> str:
    # A non-Latin word is found as a sequence of its two-character runs, anywhere in a word.
    if _is_spaceless(word):
        runs = list(_pairs(word))[:_MAX_RUNS]
        return "(" + " <-> ".join(f"'{_code(p)}'" for p in runs) + ")"
    return f"'{_code(word)}'"


def _phrase(words: list[str]) -> Term:
    if all(not _is_spaceless(w) for w in words):
        codes = " <-> ".join(_word_codes(w) for w in words)
    else:  # runs and words have no common positions: each must be there
        codes = " & ".join(_word_codes(w) for w in words)
    return Term(" ".join(words), f"({codes})")


@dataclass(frozen=True)
class ParsedQuery:
    """A query as words to rank by (any may match), phrases that must match, exclusions, and
    ``loose``: every word of it (phrases' words too, exclusions left out), for when the
    phrases and exclusions leave nothing and the query is read as plain words, as ADK's
    memory services read it."""

    words: list[Term] = field(default_factory=list)
    phrases: list[Term] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)
    loose: list[Term] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """Nothing to look for (no word, no phrase): such a query finds no memory."""
        return not (self.words or self.phrases)

    @property
    def is_plain(self) -> bool:
        """No phrase and no exclusion: read strictly or loosely, it asks the same."""
        return not (self.phrases or self.excluded)


def parse_query(query: str) -> ParsedQuery:
    """Read a search box: plain words (any), ``"phrases"`` (all), ``-word`` (none); an
    uppercase ``OR`` between words is the default and is dropped. The first
    :data:`MAX_QUERY_TERMS` words and phrases count."""
    parsed = ParsedQuery()
    seen: set[tuple[str, str]] = set()

    def add(kind: str, term: Term, to: list[Term]) -> None:
        if (kind, term.text) not in seen and len(to) < MAX_QUERY_TERMS:
            seen.add((kind, term.text))
            to.append(term)

    for minus_phrase, phrase, minus_word, chunk in _CHUNK.findall(query):
        if chunk == "OR" and not minus_word:
            continue
        words = search_words(chunk or phrase)[:MAX_QUERY_TERMS]
        if not words:
            continue
        if not (minus_phrase or minus_word):
            for word in words:
                add("loose", Term(word, _word_codes(word)), parsed.loose)
        if chunk and not minus_word:  # plain words: each one on its own
            for word in words:
                add("word", Term(word, _word_codes(word)), parsed.words)
            continue
        excluded = bool(minus_phrase or minus_word)
        term = _phrase(words)
        add(
            "excluded" if excluded else "phrase",
            term,
            parsed.excluded if excluded else parsed.phrases,
        )
    return parsed
