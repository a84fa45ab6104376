"""The text and bytes of single tokens, as the OpenAI logprob formats show them."""

from __future__ import annotations

import re
from typing import Any

_BYTE_FALLBACK = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


class TokenTexts:
    """Exact text and bytes of single tokens (byte-level BPE and SentencePiece aware)."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        self._byte_decoder = _byte_level_decoder()
        self._cache: dict[int, tuple[str, bytes]] = {}

    def text_of(self, token_id: int) -> str:
        return self._lookup(token_id)[0]

    def bytes_of(self, token_id: int) -> bytes:
        return self._lookup(token_id)[1]

    def _lookup(self, token_id: int) -> tuple[str, bytes]:
        hit = self._cache.get(token_id)
        if hit is None:
            hit = self._compute(token_id)
            self._cache[token_id] = hit
        return hit

    def _compute(self, token_id: int) -> tuple[str, bytes]:
        piece = self._tokenizer.convert_ids_to_tokens(token_id)
        if isinstance(piece, str):
            if piece in self._tokenizer.all_special_tokens:
                return piece, piece.encode()
            byte_match = _BYTE_FALLBACK.match(piece)
            if byte_match:
                raw = bytes([int(byte_match.group(1), 16)])
                return raw.decode("utf-8", errors="replace"), raw
            if piece and all(ch in self._byte_decoder for ch in piece):
                raw = bytes(self._byte_decoder[ch] for ch in piece)
                return raw.decode("utf-8", errors="replace"), raw
            if piece.startswith("\u2581"):  # SentencePiece word boundary
                text = " " + piece[1:]
                return text, text.encode()
        text = self._tokenizer.decode([token_id])
        return text, text.encode()


def _byte_level_decoder() -> dict[str, int]:
    """Inverse of GPT-2's byte-to-unicode table used by byte-level BPE vocabularies."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, codes, strict=True)}
