"""The closed sets of words the API takes, defined once for both front ends, the CLI and
the web page (and exported as ``linkedthreads.BackendName`` and ``linkedthreads.Codec``)."""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["BACKEND_NAMES", "CODECS", "BackendName", "Codec", "ProbedCodec"]

BackendName = Literal["conversations", "threads"]
"""What an index lists (and is made of). OpenAI retired threads on 2026-08-26."""

Codec = Literal["auto", "ascii", "dense"]
"""How pages are written: ``auto`` probes whether the server keeps Unicode metadata intact
and packs pages densely if so; ``ascii`` never does; ``dense`` always does, unprobed."""

ProbedCodec = Literal["auto", "ascii"]
"""The codecs that never write what the server was not seen to keep: what the CLI offers."""

BACKEND_NAMES: tuple[BackendName, ...] = get_args(BackendName)
CODECS: tuple[Codec, ...] = get_args(Codec)
