"""The `Vocab` API: lossless round trip, batching, pickling, errors."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataprep.errors import FormatError
from vocab.model import SPACE_ESCAPE, UnencodableTextError, Vocab, is_encodable, unencodable_reason

# Every code point except surrogates and the reserved U+10FFFF, with the awkward ones weighted up.
AWKWARD = [
    "\x00", "\r\n", "\r", "\n", "\t", " ", "   ", "\u2581", "\u2581\u2581 ", "\u00a0", "\u3000",
    "👩\u200d👩\u200d👧", "🏳️‍🌈", "中文", "עברית", "العربية", "e\u0301\u0302", "\ufeff", "\u200b",
    "<extra_id_0>", "[NLU]", "</s>", "<unk>", "<0x41>", "\U0010fffe", "\x7f", "\u0085", "\u2028",
]
TEXT = st.lists(
    st.one_of(
        st.characters(blacklist_categories=("Cs",), blacklist_characters=SPACE_ESCAPE),
        st.sampled_from(AWKWARD),
        st.text(max_size=5),
    ),
    max_size=60,
).map("".join).filter(is_encodable)

CASES = [
    "",
    " ",
    "  leading and trailing  ",
    "a\r\nb\rc\n",
    "\tindented\n    four\n        eight",
    "x\x00y",
    "\u2581",
    "a \u2581 b\u2581\u2581c",
    "12345 6.02e23 -7",
    "👩\u200d👩\u200d👧 family",
    "中文的历史 日本語 한국어",
    "שלום עולם مرحبا",
    "e\u0301 combining",
    "literal <extra_id_0> [NLU] </s> <pad> <unk>",
]


@pytest.mark.parametrize("text", CASES)
def test_round_trip_cases(small_vocab: Vocab, text: str) -> None:
    ids = small_vocab.encode([text])[0]
    assert small_vocab.decode(ids) == text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(TEXT, min_size=1, max_size=4))
def test_round_trip_property(small_vocab: Vocab, texts: list[str]) -> None:
    batch = small_vocab.encode(texts, num_threads=2)
    assert [small_vocab.decode(ids) for ids in batch] == texts
    assert small_vocab.decode_batch(batch) == texts
    # Concatenating separately encoded texts decodes to the concatenated text (no dummy prefix).
    assert small_vocab.decode([i for ids in batch for i in ids]) == "".join(texts)


def test_literal_u2581_differs_from_space(small_vocab: Vocab) -> None:
    space, symbol = small_vocab.encode([" ", "\u2581"])
    assert space != symbol
    assert small_vocab.decode(symbol) == "\u2581"


def test_digits_are_single_tokens(small_vocab: Vocab) -> None:
    text = "year 1987, pi 3.14159, 00042 and 9999999999"
    ids = small_vocab.encode([text])[0]
    pieces = [small_vocab.id_to_piece(i) for i in ids]
    digit_pieces = [p for p in pieces if any(c.isdigit() for c in p)]
    assert digit_pieces and all(len(p) == 1 for p in digit_pieces)
    assert sum(len(p) for p in digit_pieces) == sum(c.isdigit() for c in text)


def test_no_unk_and_byte_fallback_for_unknown_chars(small_vocab: Vocab) -> None:
    ids = small_vocab.encode(["\U0001f9ec and \u0b95"])[0]  # DNA emoji and a Tamil letter: unseen
    assert small_vocab.unk_id not in ids
    assert any(small_vocab.is_byte(i) for i in ids)
    assert not any(small_vocab.is_byte(i) for i in small_vocab.encode(["the river"])[0])


def test_special_tokens_in_text_are_text(small_vocab: Vocab) -> None:
    ids = small_vocab.encode(["<extra_id_0>[NLU]</s>"])[0]
    assert small_vocab.piece_to_id("<extra_id_0>") not in ids
    assert small_vocab.eos_id not in ids
    assert small_vocab.is_control(small_vocab.piece_to_id("[NLU]"))


def test_special_ids(small_vocab: Vocab) -> None:
    assert (small_vocab.pad_id, small_vocab.eos_id, small_vocab.unk_id, small_vocab.bos_id) == (0, 1, 2, 3)
    assert small_vocab.size == 800
    assert small_vocab.id_to_piece(4) == "<extra_id_0>"
    assert small_vocab.decode([small_vocab.eos_id, small_vocab.pad_id]) == ""


def test_batch_threads_and_arrays_agree(small_vocab: Vocab) -> None:
    texts = [f"line {i}\n    indented {i * 7}" for i in range(50)]
    one = small_vocab.encode(texts)
    assert small_vocab.encode(texts, num_threads=2) == one
    arrays = small_vocab.encode_arrays(texts, num_threads=2)
    assert all(a.dtype == np.int32 for a in arrays)
    assert [a.tolist() for a in arrays] == one
    assert small_vocab.decode(arrays[3]) == texts[3]
    assert small_vocab.encode([]) == [] and small_vocab.encode_arrays([]) == []


def test_encode_stream_is_encode_with_eos(small_vocab: Vocab) -> None:
    texts = [*CASES, "", "x" * 5000, "word " * 900, "a\n\n" * 700]
    ids = small_vocab.encode(texts)
    tokens, lengths = small_vocab.encode_stream(texts)
    assert tokens.dtype == np.int32 and lengths.dtype == np.int64
    assert tokens.tolist() == [i for one in ids for i in [*one, small_vocab.eos_id]]
    assert lengths.tolist() == [len(one) + 1 for one in ids]
    empty = small_vocab.encode_stream([])
    assert len(empty[0]) == 0 and len(empty[1]) == 0


def test_encode_stream_refuses_unencodable_text_by_index(small_vocab: Vocab) -> None:
    with pytest.raises(UnencodableTextError) as e:
        small_vocab.encode_stream(["fine", "bad \ud800 here"])
    assert e.value.index == 1 and e.value.position == 4


def test_buffer_encoder_direct_call_and_fallback(small_vocab: Vocab) -> None:
    """The direct C++ call is used where this SentencePiece has it, and gives the public ids;
    a processor without it (or with another argument order) gets the public call."""
    from vocab.model import _PROBE_TEXT, _buffer_encoder

    sp = small_vocab.processor
    enc = _buffer_encoder(sp)
    expected = sp.encode(_PROBE_TEXT, out_type="numpy")
    assert np.array_equal(np.frombuffer(enc(_PROBE_TEXT), np.int32), expected)
    if hasattr(getattr(sp, "_processor", None), "_EncodeAsBuffer"):
        assert enc.__name__ == "fast"

    class Public:
        def encode(self, text, out_type):
            return sp.encode(text, out_type=out_type)

    class Swapped(Public):
        class _processor:
            @staticmethod
            def _EncodeAsBuffer(text, *args):
                return sp.encode(text[::-1], out_type="numpy")

    assert _buffer_encoder(Public()).__name__ == "public"
    assert _buffer_encoder(Swapped()).__name__ == "public"


def test_pickle_round_trip(small_vocab: Vocab) -> None:
    copy = pickle.loads(pickle.dumps(small_vocab))
    assert copy.fingerprint == small_vocab.fingerprint
    assert copy.encode(CASES) == small_vocab.encode(CASES)


def test_fingerprint_is_sha256_of_model_file(small_vocab: Vocab) -> None:
    import hashlib

    with open(small_vocab.path, "rb") as f:
        assert small_vocab.fingerprint == hashlib.sha256(f.read()).hexdigest()
    assert Vocab.load(small_vocab.path).fingerprint == small_vocab.fingerprint  # .model path


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [("ab\ud800c", 2, "lone surrogate U+D800"), ("x" + SPACE_ESCAPE, 1, "reserved"), ("\udfff", 0, "U+DFFF")],
)
def test_unencodable_text_is_a_clear_error(small_vocab: Vocab, text: str, position: int, words: str) -> None:
    assert not is_encodable(text)
    with pytest.raises(UnencodableTextError, match=re.escape(words)) as info:
        small_vocab.encode(["fine", text])
    assert (info.value.index, info.value.position) == (1, position)
    assert unencodable_reason("fine") is None


def test_encode_rejects_a_bare_string_and_non_text(small_vocab: Vocab) -> None:
    with pytest.raises(TypeError, match="sequence of texts"):
        small_vocab.encode("abc")
    with pytest.raises(TypeError, match="not str"):
        small_vocab.encode([b"abc"])  # type: ignore[list-item]


def test_decode_out_of_range(small_vocab: Vocab) -> None:
    with pytest.raises(IndexError):
        small_vocab.decode([small_vocab.size])


@pytest.mark.parametrize("damage", ["empty", "garbage", "truncated"])
def test_corrupted_model_is_format_error(small_vocab: Vocab, tmp_path, damage: str) -> None:
    blob = small_vocab.serialized_model
    data = {"empty": b"", "garbage": b"\xff\xfenot a model at all", "truncated": blob[: len(blob) // 2]}[damage]
    path = tmp_path / "spm.model"
    path.write_bytes(data)
    with pytest.raises(FormatError, match="spm.model"):
        Vocab.load(tmp_path)


def test_missing_model_says_train_first(tmp_path) -> None:
    with pytest.raises(FormatError, match="dataprep vocab train"):
        Vocab.load(tmp_path)


def test_lossy_model_is_refused(tmp_path) -> None:
    import io

    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(["hello world " * 20, "some more text here"] * 20),
        model_writer=buf,
        vocab_size=19,
        minloglevel=2,
    )
    with pytest.raises(FormatError, match="not a lossless model.*nmt_nfkc.*add_dummy_prefix"):
        Vocab.from_bytes(buf.getvalue())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    parts=st.lists(
        st.sampled_from(["word ", "  ", "\n", "\t", "\u4e2d\u6587", "\u2581", "12", "x" * 700, " " * 300, "\U0001f600"]),
        min_size=0,
        max_size=1500,
    )
)
def test_long_texts_round_trip_through_segments(small_vocab: Vocab, parts: list[str]) -> None:
    from vocab.model import SEGMENT_MIN, segment_text

    text = "lead " * 220 + "".join(parts)
    assert len(text) > SEGMENT_MIN
    ids = small_vocab.encode([text, "short"])[0]
    assert small_vocab.decode(ids) == text
    pieces = segment_text(text.replace("\u2581", SPACE_ESCAPE))
    assert ids == [i for seg in small_vocab.encode([p.replace(SPACE_ESCAPE, "\u2581") for p in pieces]) for i in seg]
