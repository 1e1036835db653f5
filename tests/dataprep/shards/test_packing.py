"""Packing documents into fixed-length sequences (pure numpy)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dataprep.shards.packing import pack, split_documents, text_pieces

EOS, PAD = 1, 0

docs_strategy = st.lists(
    st.lists(st.integers(2, 500), min_size=0, max_size=40).map(lambda t: np.array(t + [EOS], dtype=np.int32)),
    min_size=0,
    max_size=30,
)


def test_documents_continue_across_sequence_boundaries() -> None:
    docs = [np.array([5, 6, 7, EOS]), np.array([8, 9, EOS]), np.array([4, EOS])]
    p = pack(docs, 4, PAD)
    assert [s.tolist() for s in p.sequences()] == [[5, 6, 7, EOS], [8, 9, EOS, 4], [EOS, PAD, PAD, PAD]]
    assert p.padding == 3
    assert p.doc_offsets.tolist() == [0, 4, 7]
    assert p.doc_lengths.tolist() == [4, 3, 2]


def test_segment_ids_restart_in_every_sequence_and_mark_padding_zero() -> None:
    docs = [np.array([5, 6, 7, EOS]), np.array([8, 9, EOS]), np.array([4, EOS])]
    p = pack(docs, 4, PAD, segment_ids=True)
    assert p.segment_ids.reshape(3, 4).tolist() == [[1, 1, 1, 1], [1, 1, 1, 2], [1, 0, 0, 0]]


def test_short_last_sequence_has_no_padding() -> None:
    p = pack([np.array([5, 6, 7, EOS]), np.array([8, EOS])], 4, PAD, last_sequence="short")
    assert p.lengths.tolist() == [4, 2] and p.padding == 0
    assert p.tokens.tolist() == [5, 6, 7, EOS, 8, EOS]


def test_exact_fit_needs_no_padding_and_empty_input_packs_to_nothing() -> None:
    p = pack([np.array([5, EOS]), np.array([6, EOS])], 2, PAD, segment_ids=True)
    assert p.padding == 0 and p.lengths.tolist() == [2, 2]
    e = pack([], 8, PAD, segment_ids=True)
    assert len(e.tokens) == 0 and len(e.lengths) == 0 and e.padding == 0 and len(e.segment_ids) == 0


@settings(max_examples=200, deadline=None)
@given(docs_strategy, st.integers(2, 64), st.sampled_from(["pad", "short"]), st.booleans())
def test_pack_is_lossless_and_only_the_last_sequence_is_partial(docs, length, last, seg) -> None:
    p = pack(docs, length, PAD, segment_ids=seg, last_sequence=last)
    content = np.concatenate(docs) if docs else np.zeros(0, np.int32)
    n = len(content)
    assert np.array_equal(p.tokens[:n], content)
    assert np.all(p.tokens[n:] == PAD) and p.padding == len(p.tokens) - n
    assert p.lengths.sum() == len(p.tokens)
    assert np.all(p.lengths[:-1] == length)
    if last == "pad":
        assert np.all(p.lengths == length) and p.padding < length
    else:
        assert p.padding == 0
    assert [d.tolist() for d in split_documents(p.tokens[:n], EOS)] == [d[:-1].tolist() for d in docs]
    for off, ln, d in zip(p.doc_offsets, p.doc_lengths, docs):
        assert np.array_equal(p.tokens[off : off + ln], d)
    if seg:
        # Within a sequence a segment id steps by one exactly where a new document starts.
        s = p.segment_ids
        assert np.all(s[n:] == 0) and (n == 0 or s[:n].min() == 1)
        starts = np.zeros(n, bool)
        starts[p.doc_offsets[p.doc_offsets < n]] = True
        for i in range(1, n):
            if i % length == 0:
                assert s[i] == 1
            else:
                assert s[i] - s[i - 1] == int(starts[i])


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab \n\t한🙂"), max_size=400), st.integers(1, 60))
def test_text_pieces_tile_the_text_within_the_limit(text: str, max_chars: int) -> None:
    pieces = text_pieces(text, max_chars)
    assert "".join(text[a:b] for a, b in pieces) == text
    assert pieces[0][0] == 0 and pieces[-1][1] == len(text)
    assert all(b0 == a1 for (_, b0), (a1, _) in zip(pieces, pieces[1:]))
    assert all(0 < b - a <= max_chars for a, b in pieces) or text == ""


def test_text_pieces_prefer_line_breaks() -> None:
    text = ("word " * 30 + "\n") * 20
    pieces = text_pieces(text, 400)
    assert all(text[b - 1] == "\n" for _, b in pieces[:-1])
