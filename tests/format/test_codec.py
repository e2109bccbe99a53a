"""The pure codec: IDs <-> bits <-> text <-> metadata slots."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkedthreads import CorruptIndexError
from linkedthreads._codec import (
    ASCII,
    DENSE,
    DENSE_PROBE,
    MAX_ID_LENGTH,
    bits_to_ids,
    chunk_for_pages,
    decode_ids,
    decode_slots,
    encode_ids,
    encode_slots,
    ids_to_bits,
    slot_capacity_bits,
)

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
thread_ids = st.text(BASE62, min_size=24, max_size=24).map(lambda s: "thread_" + s)
conv_ids = st.text("0123456789abcdef", min_size=48, max_size=48).map(lambda s: "conv_" + s)
raw_ids = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=MAX_ID_LENGTH)
any_ids = st.one_of(thread_ids, conv_ids, raw_ids)


@given(st.lists(any_ids, max_size=40))
def test_any_list_of_ids_round_trips_through_bits(ids: list[str]) -> None:
    """Every list of IDs, whatever their shapes, comes back exactly."""
    assert bits_to_ids(*ids_to_bits(ids)) == ids


@given(st.lists(any_ids, max_size=40), st.sampled_from([ASCII, DENSE]))
def test_any_list_of_ids_round_trips_through_text(ids: list[str], alphabet: object) -> None:
    """Record text in either alphabet decodes to the same IDs."""
    assert decode_ids(encode_ids(ids, alphabet), alphabet) == ids  # type: ignore[arg-type]


@settings(max_examples=50)
@given(
    st.lists(st.one_of(thread_ids, conv_ids, raw_ids), min_size=1, max_size=600),
    st.sampled_from([ASCII, DENSE]),
)
def test_pages_round_trip_and_respect_metadata_limits(ids: list[str], alphabet: object) -> None:
    """Each chunk fits one object's metadata (16 keys of <=64, values of <=512) and decodes back."""
    cap = slot_capacity_bits(alphabet)  # type: ignore[arg-type]
    back: list[str] = []
    for chunk, _full in chunk_for_pages(ids, cap):
        metadata = encode_slots(*ids_to_bits(chunk), alphabet)  # type: ignore[arg-type]
        assert len(metadata) <= 16
        assert all(len(k) <= 64 and len(v) <= 512 for k, v in metadata.items())
        assert len(set(metadata)) == len(metadata)
        back.extend(bits_to_ids(*decode_slots(metadata)))
    assert back == ids


def test_ascii_text_is_printable_ascii_without_space() -> None:
    """Nothing a server could trim or escape: 94 printable characters, no space."""
    text = encode_ids(["thread_" + "z" * 24, "conv_" + "f" * 48, "odd id ü"])
    assert all("!" <= c <= "~" for c in text)


@pytest.mark.parametrize(
    ("shape", "alphabet", "expected"),
    [("thread", ASCII, 421), ("conv", ASCII, 313), ("thread", DENSE, 964), ("conv", DENSE, 718)],
)
def test_page_density_reaches_the_limit_of_the_medium(
    shape: str, alphabet: object, expected: int
) -> None:
    """IDs a page holds: the whole IDs that fit in the bits of 16 keys and 16 values."""
    sample = "thread_" + "a" * 24 if shape == "thread" else "conv_" + "a" * 48
    cap = slot_capacity_bits(alphabet)  # type: ignore[arg-type]
    first, full = next(chunk_for_pages([sample] * 5000, cap))
    assert full
    assert len(first) == expected
    bits_per_id = 143 if shape == "thread" else 192
    assert len(first) == (cap - 57) // bits_per_id  # header + CRC are the only overhead


def test_test_vectors_of_the_design_document() -> None:
    """docs/design.md, Appendix A."""
    assert encode_ids(["thread_VSLQYOG6Wot7l03QzJKIet2d"]) == "+;bhP{4?j?/W;r&1|)9:xp:mx;D<jaU"
    assert (
        encode_ids(["conv_68542dc602388199a30af27d040cefd4087a04b576bfeb24"])
        == ".z8f3nrX#xqJf)(=7.:N@+Q~Ev^2!Zldw7GZF&"
    )
    assert encode_ids(["resp_custom-42"]) == "-5Xk2)aV;P$qhL#<{$1MU0Po{ami"
    assert encode_slots(*ids_to_bits(["thread_VSLQYOG6Wot7l03QzJKIet2d"]), ASCII) == {
        "A+;bhP{4?j?/W;r&1|)9:xp:mx;D<jaU": ""
    }
    assert encode_slots(*ids_to_bits(["thread_VSLQYOG6Wot7l03QzJKIet2d"]), DENSE) == {
        "a帀丯懽沢䔎悢궔稙몼姧䙃뾿蠭㨀": ""
    }


def test_dense_probe_covers_all_three_ranges() -> None:
    """The probe samples every range of the dense alphabet: mangling any of them fails it."""
    assert len(DENSE_PROBE) == 512
    assert any("\u4e00" <= c <= "\u9fff" for c in DENSE_PROBE)
    assert any("\u3400" <= c <= "\u4dbf" for c in DENSE_PROBE)
    assert any("\uac00" <= c <= "\ud7a3" for c in DENSE_PROBE)


@pytest.mark.parametrize(
    "damage",
    [
        lambda md: {k: v[:-1] for k, v in md.items()},  # a value truncated
        lambda md: {k: v.replace("A", "B", 1) for k, v in md.items()},  # a character changed
        lambda md: {"Z" + k[1:]: v for k, v in md.items()},  # a key renamed
        lambda md: {**md, "user": "added"},  # a foreign key
        lambda md: {},  # emptied
        lambda md: dict(list(md.items())[1:]),  # a slot lost
    ],
)
def test_damaged_pages_are_detected_never_misread(damage: object) -> None:
    """Any alteration raises CorruptIndexError (the CRC and slot checks), never a wrong list."""
    ids = ["thread_" + BASE62[i % 62] * 24 for i in range(200)]
    metadata = encode_slots(*ids_to_bits(ids), ASCII)
    with pytest.raises(CorruptIndexError):
        bits_to_ids(*decode_slots(damage(metadata)))  # type: ignore[operator]


def test_garbage_record_text_is_corrupt_not_a_crash() -> None:
    """Text that is not packed IDs raises CorruptIndexError."""
    for text in ["", "!", "hello world", "\u4e00" * 3, "~" * 600]:
        with pytest.raises(CorruptIndexError):
            decode_ids(text)


def test_an_id_too_long_to_pack_is_refused() -> None:
    """The raw shape holds up to 1024 UTF-8 bytes; longer is a clear ValueError."""
    with pytest.raises(ValueError, match="too long"):
        ids_to_bits(["x" * 2000])


def test_the_key_probe_is_a_dense_page_key_at_its_limits() -> None:
    """The key probe (design 5.3) is as long as a dense page's longest key in characters,
    UTF-16 units and UTF-8 bytes, uses each range of the alphabet, and changes under NFD."""
    import unicodedata

    from linkedthreads._codec import KEY_PROBE

    page_key = next(iter(encode_slots(*ids_to_bits(["thread_" + "z" * 24] * 50), DENSE)))
    assert len(KEY_PROBE) == len(page_key) == 64
    assert len(KEY_PROBE.encode("utf-8")) == len(page_key.encode("utf-8")) == 190
    assert len(KEY_PROBE.encode("utf-16-le")) == 128
    assert KEY_PROBE[0].isascii()
    assert all(c in DENSE.symbols for c in KEY_PROBE[1:])
    assert {DENSE.symbols[0], DENSE.symbols[-1]} <= set(KEY_PROBE)
    assert any("\u3400" <= c <= "\u4dbf" for c in KEY_PROBE)
    assert unicodedata.normalize("NFD", KEY_PROBE) != KEY_PROBE
