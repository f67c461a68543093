"""Text for the multi-modal methods: a tiny closed vocabulary, the tokenizer, and captions in varied phrasings."""

from __future__ import annotations

import re

import numpy as np
import torch

from sslviz.data.render import COLOURS, SHAPE_NAMES, position_words

CAPTION_TEMPLATES = (
    "a {size} {colour} {shape} {where}",
    "{colour} {shape}, {size}",
    "a {shape} that is {colour} and {size}",
    "{where}: a {size} {colour} {shape}",
    "a {colour} {shape} {where}",
    "something {colour} {where}",
    "a {size} {shape} {where}",
    "a {shape}",
    "something {colour}",
)
SYNONYMS = {"small": ("small", "little"), "large": ("large", "big"), "centre": ("centre", "center", "middle")}
POSITION_WORDS = ("top", "bottom", "middle", "left", "right", "centre", "center")
# A tiny closed vocabulary: every word some caption uses. Prompts may use only these.
SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>")
VOCAB = SPECIAL_TOKENS + tuple(dict.fromkeys(
    "a at in the that is and something".split() + ["small", "little", "large", "big"] + list(COLOURS) + list(SHAPE_NAMES) + list(POSITION_WORDS)))
WORD_INDEX = {w: i for i, w in enumerate(VOCAB)}
PAD, BOS, EOS = 0, 1, 2
CAPTION_LENGTH = 12  # tokens, with <bos>/<eos>; the longest caption has 9 words
CAPTION_VARIANTS = 4  # phrasings per image; each training step picks one


def words(text: str) -> list[str]:
    """Lower-case words of ``text``; punctuation is dropped."""
    return re.findall(r"[a-z]+", text.lower())


def unknown_words(text: str) -> list[str]:
    """The words of ``text`` the caption vocabulary lacks, in order, each once."""
    return list(dict.fromkeys(w for w in words(text) if w not in WORD_INDEX))


def text_problem(text: str, length: int = CAPTION_LENGTH, bos_eos: bool = False) -> str | None:
    """Why ``text`` cannot be tokenized (unknown words, no words, too long), or None when it can."""
    missing = unknown_words(text)
    if missing:
        return f"the tiny vocabulary lacks {', '.join(repr(w) for w in missing[:10])}{' …' if len(missing) > 10 else ''}"
    if not words(text):
        return "no words"
    if len(words(text)) + 2 * bos_eos > length:
        return f"too long (at most {length - 2 * bos_eos} words)"
    return None


def usable_lines(text: str, max_errors: int = 5) -> tuple[list[str], list[str]]:
    """The distinct non-empty lines of ``text`` that :func:`text_problem` accepts, and why the others
    cannot be used (the first ``max_errors``, then how many more)."""
    usable, errors = [], []
    for line in dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()):
        problem = text_problem(line)
        if problem:
            errors.append(f"“{line if len(line) <= 60 else line[:60] + '…'}”: {problem}")
        else:
            usable.append(line)
    return usable, errors[:max_errors] + ([f"{len(errors) - max_errors} more lines"] if len(errors) > max_errors else [])


def tokenize(texts: list[str] | tuple[str, ...], length: int = CAPTION_LENGTH, bos_eos: bool = False) -> torch.Tensor:
    """len(texts)×length word ids, padded with <pad>; ValueError says why a text cannot be used (see :func:`text_problem`)."""
    rows = []
    for text in texts:
        problem = text_problem(text, length, bos_eos)
        if problem:
            shown = text if len(text) <= 60 else text[:60] + "…"
            raise ValueError(f"{shown!r}: {problem}. Known words: {', '.join(VOCAB[len(SPECIAL_TOKENS):])}.")
        ids = [WORD_INDEX[w] for w in words(text)]
        if bos_eos:
            ids = [BOS, *ids, EOS]
        rows.append(ids + [PAD] * (length - len(ids)))
    return torch.tensor(rows, dtype=torch.long).view(len(rows), length)


def detokenize(ids: torch.Tensor) -> str:
    """The words of one id sequence, up to <eos>, without special tokens."""
    out = []
    for i in ids.tolist():
        if i == EOS:
            break
        if i >= len(SPECIAL_TOKENS):
            out.append(VOCAB[i])
    return " ".join(out)


def _where(x: float, y: float, rng: np.random.Generator) -> str:
    where = position_words(x, y)
    if where == "centre":
        return "in the " + str(rng.choice(SYNONYMS["centre"]))
    return "at the " + where


def caption_variants(attributes: dict, i: int, rng: np.random.Generator, k: int = CAPTION_VARIANTS) -> list[str]:
    """``k`` phrasings of image ``i``'s caption, e.g. "red triangle, small", "something red at the top left"."""
    out = []
    for t in rng.choice(len(CAPTION_TEMPLATES), k, replace=k > len(CAPTION_TEMPLATES)):
        out.append(CAPTION_TEMPLATES[t].format(size=rng.choice(SYNONYMS[str(attributes["size"][i])]), colour=attributes["colour"][i],
                                               shape=attributes["shape"][i], where=_where(float(attributes["x"][i]), float(attributes["y"][i]), rng)))
    return out
