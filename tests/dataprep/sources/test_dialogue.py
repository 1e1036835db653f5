"""Tests of the dialogue reader: chitchat turns, flat messages, chatterbot YAML, bad input."""

from __future__ import annotations

import gzip
import json
import re
import uuid
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dataprep.configs import from_mapping
from dataprep.errors import RecipeError
from dataprep.fs import LocalFileSystem
from dataprep.records import Document, Dropped, Rejected
from dataprep.sources import ReadContext
from dataprep.sources.dialogue import Options, read, render, turns_of

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def chitchat_line(conv_id: str, turns: list[tuple[str, list[str]]], **extra) -> str:
    messages = [
        [{"text": t, "timestamp": f"2018-05-02T19:38:{i:02d}Z", "sender": sender} for i, t in enumerate(texts)]
        for sender, texts in turns
    ]
    return json.dumps({"id": conv_id, "messages": messages, **extra})


def _ctx(tmp_path: Path, **options) -> ReadContext:
    return ReadContext("dialogue", str(tmp_path), from_mapping(Options, options))


def _read(tmp_path: Path, name: str, data: bytes, **options) -> list:
    path = tmp_path / name
    path.write_bytes(data)
    return list(read(LocalFileSystem(), str(path), _ctx(tmp_path, **options)))


def test_chitchat_conversations_hide_sender_ids(tmp_path: Path) -> None:
    alice, bob, conv = (str(uuid.UUID(int=n * 7919 + 12345)) for n in range(3))
    lines = [
        chitchat_line(conv, [(alice, ["Hello", "How are you doing today?"]), (bob, ["im good", "you?"]),
                             (alice, ["Fine,\nthanks"])], prompt="Favourite food?", start="2018-05-03T01:38:01Z"),
        chitchat_line(str(uuid.UUID(int=99)), [(bob, ["Anyone here?"]), (alice, ["Yes, I am. " + alice])]),
    ]
    out = _read(tmp_path, "chitchat.jsonl.gz", gzip.compress("\n".join(lines).encode()), meta_fields=["prompt", "start"])
    assert [type(r) for r in out] == [Document, Document]
    first, second = out
    assert first.text == (
        "Speaker 1: Hello How are you doing today?\n"
        "Speaker 2: im good you?\n"
        "Speaker 1: Fine, thanks"  # a newline inside a message cannot start a fake turn
    )
    assert alice not in first.text and bob not in first.text and conv not in first.text
    assert first.meta == {
        "file": "chitchat.jsonl.gz",
        "position": 0,
        "conversation_id": conv,
        "num_turns": 3,
        "num_speakers": 2,
        "prompt": "Favourite food?",
        "start": "2018-05-03T01:38:01Z",
    }
    assert first.id == "dialogue/chitchat.jsonl.gz#0"
    # Labels are per conversation: Bob speaks first in the second one, so he is Speaker 1 there.
    assert second.text.startswith("Speaker 1: Anyone here?\nSpeaker 2: Yes, I am.")
    assert "prompt" not in second.meta


def test_flat_messages_are_merged_by_speaker(tmp_path: Path) -> None:
    line = {"messages": [
        {"speaker": "u_17", "text": "Is the shop open?"},
        {"speaker": "u_17", "text": "I need bread."},
        {"speaker": "u_99", "text": "Until six."},
        {"speaker": "u_42", "text": "Me too!"},
        {"speaker": "u_17", "text": ""},
        {"speaker": "u_17", "text": "Thanks."},
    ]}
    bare_list = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]
    data = (json.dumps(line) + "\n" + json.dumps(bare_list) + "\n").encode()
    out = _read(tmp_path, "flat.jsonl", data, labels=["A", "B"])
    assert out[0].text == "A: Is the shop open? I need bread.\nB: Until six.\nSpeaker 3: Me too!\nA: Thanks."
    assert out[0].meta["num_turns"] == 4 and out[0].meta["num_speakers"] == 3
    assert "u_17" not in out[0].text
    assert out[1].text == "A: Hi\nB: Hello!"
    assert "conversation_id" not in out[1].meta


def test_min_turns(tmp_path: Path) -> None:
    lines = [chitchat_line("one", [("a", ["hello?", "anyone?"])]), chitchat_line("two", [("a", ["hi"]), ("b", ["hey"])])]
    out = _read(tmp_path, "c.jsonl", "\n".join(lines).encode(), min_turns=2)
    assert isinstance(out[0], Dropped) and out[0].reason == "too_few_turns"
    assert isinstance(out[1], Document)


def test_custom_label_template_and_separators(tmp_path: Path) -> None:
    line = chitchat_line("c1", [("x", ["a", "b"]), ("y", ["c"])])
    out = _read(tmp_path, "c.jsonl", line.encode(), label_template="Person {n}", label_separator=" - ",
                message_separator=" / ")
    assert out[0].text == "Person 1 - a / b\nPerson 2 - c"


def test_chatterbot_yaml(tmp_path: Path) -> None:
    yml = (
        "categories:\n- greetings\n"
        "conversations:\n"
        "- - Hello\n  - Hi there\n"
        "- - How are you?\n  - Fine.\n  - Good to hear.\n"
        "- 'Not a list - but a string'\n"
        "- - 42\n  - The answer\n"
    )
    out = _read(tmp_path, "greetings.yml", yml.encode(), meta_fields=["categories"])
    assert [type(r) for r in out] == [Document, Document, Rejected, Document]
    assert out[1].text == "Speaker 1: How are you?\nSpeaker 2: Fine.\nSpeaker 1: Good to hear."
    assert out[1].meta["num_turns"] == 3 and out[1].meta["categories"] == ["greetings"]
    assert out[2].reason == "malformed_conversation" and out[2].position == 2
    assert out[3].text == "Speaker 1: 42\nSpeaker 2: The answer"
    assert out[1].id == "dialogue/greetings.yml#1"


def test_malformed_yaml_is_rejected(tmp_path: Path) -> None:
    out = _read(tmp_path, "bad.yml", b"conversations: [[a, b]\n  - : :")
    assert len(out) == 1 and isinstance(out[0], Rejected) and out[0].reason == "malformed_yaml"
    out = _read(tmp_path, "notconv.yml", b"- just\n- a list\n")
    assert isinstance(out[0], Rejected) and out[0].reason == "malformed_yaml"


def test_bad_lines_are_accounted(tmp_path: Path) -> None:
    lines = [
        chitchat_line("ok", [("a", ["hi"])]).encode(),
        b'{"id": "x", "messages": [[{"text": "unterminated',
        "Ünïcode".encode("latin-1"),
        b"",
        chitchat_line("empty", [("a", ["", "   "]), ("b", [""])]).encode(),
        json.dumps({"id": "nomsg"}).encode(),
        json.dumps({"messages": [{"text": "who said this?"}]}).encode(),
        json.dumps({"messages": [[{"text": "x", "sender": "a"}, {"text": "y", "sender": "b"}]]}).encode(),
        b"42",
        chitchat_line("last", [("a", ["bye"])]).encode(),
    ]
    out = _read(tmp_path, "mixed.jsonl", b"\n".join(lines))
    assert [(type(r).__name__, getattr(r, "reason", None)) for r in out] == [
        ("Document", None),
        ("Rejected", "malformed_json"),
        ("Rejected", "undecodable"),
        ("Dropped", "empty_conversation"),
        ("Rejected", "malformed_conversation"),
        ("Rejected", "malformed_conversation"),
        ("Rejected", "malformed_conversation"),
        ("Rejected", "malformed_conversation"),
        ("Document", None),
    ]
    # Positions are line indexes; line 3 is blank, which is no record.
    assert [r.meta["position"] if isinstance(r, Document) else r.position for r in out] == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert out[-1].id == "dialogue/mixed.jsonl#9"
    assert "speaker fields" in out[5].detail and "mixes senders" in out[6].detail


def test_truncated_gzip_keeps_earlier_conversations(tmp_path: Path) -> None:
    lines = [chitchat_line(f"c{i}", [("a", [f"message number {i} " * 30]), ("b", ["ok " * 50])]) for i in range(400)]
    data = gzip.compress("\n".join(lines).encode())
    out = _read(tmp_path, "cut.jsonl.gz", data[: len(data) // 2])
    assert isinstance(out[-1], Rejected) and out[-1].reason == "truncated_input"
    assert len(out) > 10 and all(isinstance(r, Document) for r in out[:-2])


def test_pure_helpers() -> None:
    opts = Options()
    turns = turns_of(["q", "a", "q2"], opts)
    assert turns == [(("#alternate", 0), ["q"]), (("#alternate", 1), ["a"]), (("#alternate", 0), ["q2"])]
    assert render(turns, opts) == ("Speaker 1: q\nSpeaker 2: a\nSpeaker 1: q2", 2)
    assert render([], opts) == ("", 0)


def test_options_are_validated() -> None:
    with pytest.raises(RecipeError, match="label_template"):
        from_mapping(Options, {"label_template": "Speaker"})
    with pytest.raises(RecipeError, match="label_template"):
        from_mapping(Options, {"label_template": "{n} {name}"})
    with pytest.raises(RecipeError, match="labels"):
        from_mapping(Options, {"labels": ["A", "A"]})
    with pytest.raises(RecipeError, match="min_turns"):
        from_mapping(Options, {"min_turns": 0})
    with pytest.raises(RecipeError, match="format"):
        from_mapping(Options, {"format": "csv"})


@pytest.mark.integration
def test_shared_chitchat(corpora: Path) -> None:
    root = corpora / "dialogue"
    ctx = ReadContext("dialogue", str(root), Options(meta_fields=("prompt",)))
    out = list(read(LocalFileSystem(), str(root / "chitchat.jsonl.gz"), ctx))
    docs = [r for r in out if isinstance(r, Document)]
    assert len(docs) == len(out) == 7168
    assert not any(UUID.search(d.text) for d in docs)
    assert all(d.text.startswith("Speaker 1: ") for d in docs)
    assert all(UUID.fullmatch(d.meta["conversation_id"]) for d in docs)
    assert {d.meta["num_speakers"] for d in docs} == {1, 2}


@pytest.mark.integration
def test_shared_chatterbot(corpora: Path) -> None:
    root = corpora / "dialogue"
    files = sorted((root / "chatterbot").glob("*/*.yml"))
    out = [r for f in files for r in read(LocalFileSystem(), str(f), ReadContext("dialogue", str(root), Options()))]
    docs = [r for r in out if isinstance(r, Document)]
    assert len(files) > 200 and len(docs) > 7000
    assert all(isinstance(r, (Document, Rejected)) for r in out)
    assert len(out) - len(docs) < 20  # a few entries YAML reads as strings, not lists


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([str(uuid.UUID(int=n * 104729)) for n in range(1, 6)]),
                  st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30), min_size=1, max_size=3)),
        max_size=12,
    )
)
def test_rendered_conversation_structure(turns_in: list) -> None:
    senders = {s for s, _ in turns_in}
    # Message texts that contain a sender id are out of scope: ids must not come from labels.
    assume(not any(s in t for s in senders for _, texts in turns_in for t in texts))
    conversation = [[{"sender": s, "text": t} for t in texts] for s, texts in turns_in]
    turns = turns_of(conversation, Options())
    text, n_speakers = render(turns, Options())
    lines = text.splitlines()
    assert len(lines) == len(turns)  # one line per turn, whatever the messages contain
    assert all(re.match(r"Speaker [1-5]: ", line) for line in lines)
    assert not any(s in text for s in senders)
    assert n_speakers == len({speaker for speaker, _ in turns})
    assert all(a[0] != b[0] for a, b in zip(turns, turns[1:]))  # consecutive turns change speaker
