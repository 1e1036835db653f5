"""Dialogue: conversations, one document per conversation, each turn a line behind a label.

Three input shapes are read:

- **turns** (the shared chitchat corpus): a JSON line ``{"id": ..., "messages": [[m, m], [m],
  ...]}`` where ``messages`` is a list of turns and each turn the consecutive messages
  ``{"text", "timestamp", "sender"}`` of one sender;
- **flat messages**: ``{"messages": [{"sender"|"speaker"|"role"...: s, "text"|"content": t},
  ...]}`` or a bare JSON list of such messages; consecutive messages of one sender are merged
  into a turn;
- **chatterbot YAML** (``conversations: [[q, a, ...], ...]``): each inner list is one
  conversation whose strings alternate between two speakers.

Speakers are renamed in order of first appearance within each conversation ("Speaker 1",
"Speaker 2", ... by default), so no user id, name or role string reaches the text::

    Speaker 1: Hello How are you doing today?
    Speaker 2: whats up MD im doing good how are you doing?
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, BinaryIO, Iterator, Literal

import yaml

from dataprep.errors import RecipeError
from dataprep.fs import DECOMPRESSION_ERRORS, FileSystem, open_decompressed, relative_to_root, strip_compression_suffix
from dataprep.records import Document, Dropped, ReadResult, Rejected, make_id
from dataprep.sources import ReadContext
from dataprep.sources.jsonl import json_lines


@dataclass(frozen=True)
class Options:
    """Recipe keys of a ``dialogue`` source.

    ``format`` (auto): ``jsonl`` (one conversation per line, turns or flat messages, told
    apart per line), ``chatterbot`` (YAML), or ``auto``: ``.yml``/``.yaml`` files (under any
    compression suffix) are chatterbot, everything else JSONL.
    ``messages_fields`` (messages, conversations, turns): the first of these keys present in a
    JSON object holds the conversation.
    ``text_fields`` (text, content, value) and ``speaker_fields`` (sender, speaker, role, from,
    author, user): the first present key of a message gives its text and its speaker.
    ``id_field`` (id): copied into meta as ``conversation_id`` when present.
    ``meta_fields`` ([]): further top-level fields copied into meta (e.g. ``[prompt, start]``
    for chitchat).
    ``labels`` ([]): names for the first speakers in order of appearance (e.g. ``[User,
    Assistant]``); speakers beyond them are named by ``label_template``.
    ``label_template`` (``Speaker {n}``): label of the n-th speaker (n from 1); must contain
    ``{n}``.
    ``label_separator`` (``": "``): between a label and its turn's text.
    ``message_separator`` (``" "``): joins the messages of one turn (chat messages are
    sentence-like fragments; a space keeps the turn on one line and reads as prose).
    ``flatten_newlines`` (true): newlines inside a message become spaces, so every line of the
    document starts with a label and a message cannot fake another speaker's line.
    ``min_turns`` (1): conversations with fewer turns are dropped as ``too_few_turns``. 1 keeps
    everything with text; 2 keeps only exchanges (44% of the shared chitchat conversations,
    3,150 of 7,168, are a single turn of one sender, 1,812 of them a single message).
    """

    format: Literal["auto", "jsonl", "chatterbot"] = "auto"
    messages_fields: tuple[str, ...] = ("messages", "conversations", "turns")
    text_fields: tuple[str, ...] = ("text", "content", "value")
    speaker_fields: tuple[str, ...] = ("sender", "speaker", "role", "from", "author", "user")
    id_field: str = "id"
    meta_fields: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    label_template: str = "Speaker {n}"
    label_separator: str = ": "
    message_separator: str = " "
    flatten_newlines: bool = True
    min_turns: int = 1

    def __post_init__(self) -> None:
        if self.min_turns < 1:
            raise RecipeError("min_turns", "an integer >= 1", self.min_turns)
        if "{n}" not in self.label_template:
            raise RecipeError("label_template", "a string containing {n} (the speaker's number)", self.label_template)
        try:
            self.label_template.format(n=1)
        except (KeyError, IndexError, ValueError):
            raise RecipeError("label_template", "a format string whose only field is {n}", self.label_template) from None
        for name in ("messages_fields", "text_fields", "speaker_fields"):
            if not getattr(self, name):
                raise RecipeError(name, "at least one field name", [])
        if len(set(self.labels)) != len(self.labels):
            raise RecipeError("labels", "distinct labels", list(self.labels))


# Everything str.splitlines() breaks on, with the spaces around it.
_LINE_BREAKS = re.compile(r"[ \t]*[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+[ \t]*")


class MalformedConversation(ValueError):
    """A conversation whose structure cannot be read (a message with no text field...)."""


def _label(index: int, opts: Options) -> str:
    if index < len(opts.labels):
        return opts.labels[index]
    return opts.label_template.format(n=index + 1)


def _clean(text: str, opts: Options) -> str:
    if opts.flatten_newlines:
        text = _LINE_BREAKS.sub(" ", text)
    return text.strip()


def _first(mapping: dict, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in mapping:
            return mapping[key]
    return None


def _message_text(message: Any, opts: Options, where: str) -> str:
    if isinstance(message, str):
        return message
    if isinstance(message, dict):
        text = _first(message, opts.text_fields)
        if isinstance(text, str):
            return text
        if text is None:
            raise MalformedConversation(f"{where} has none of the text fields {list(opts.text_fields)}")
    elif isinstance(message, (int, float)) and not isinstance(message, bool):
        return str(message)  # YAML reads "42" as a number
    raise MalformedConversation(f"{where} is {type(message).__name__}, not a message")


def _speaker(message: Any, opts: Options) -> str | None:
    if isinstance(message, dict):
        speaker = _first(message, opts.speaker_fields)
        return None if speaker is None else str(speaker)
    return None


def turns_of(conversation: Any, opts: Options) -> list[tuple[Any, list[str]]]:
    """The ``(speaker, [message texts])`` turns of a conversation in any supported shape.

    A list of lists is a list of turns (chitchat); a list of message objects is merged into
    turns by consecutive speaker; a list of strings alternates between two speakers. Speakers
    that are missing are numbered by alternation. Messages without text are skipped.

    >>> turns_of([{"sender": "u1", "text": "hi"}, {"sender": "u1", "text": "there"},
    ...           {"sender": "u2", "text": "yo"}], Options())
    [('u1', ['hi', 'there']), ('u2', ['yo'])]
    """
    if not isinstance(conversation, list):
        raise MalformedConversation(f"the conversation is {type(conversation).__name__}, not a list")
    turns: list[tuple[Any, list[str]]] = []
    for i, item in enumerate(conversation):
        if isinstance(item, list):  # a turn: messages of one sender
            texts = [_clean(_message_text(m, opts, f"turn {i} message {j}"), opts) for j, m in enumerate(item)]
            speakers = {s for s in (_speaker(m, opts) for m in item) if s is not None}
            if len(speakers) > 1:
                raise MalformedConversation(f"turn {i} mixes senders")
            speaker: Any = speakers.pop() if speakers else ("#alternate", i % 2)
        else:
            texts = [_clean(_message_text(item, opts, f"message {i}"), opts)]
            speaker = _speaker(item, opts)
            if speaker is None:
                if isinstance(item, dict):
                    raise MalformedConversation(f"message {i} has none of the speaker fields {list(opts.speaker_fields)}")
                speaker = ("#alternate", i % 2)
        texts = [t for t in texts if t]
        if not texts:
            continue
        if turns and turns[-1][0] == speaker:
            turns[-1][1].extend(texts)
        else:
            turns.append((speaker, texts))
    return turns


def render(turns: list[tuple[Any, list[str]]], opts: Options) -> tuple[str, int]:
    """The document text of a conversation's turns and its number of distinct speakers.

    >>> render([("u1", ["hi", "there"]), ("u2", ["yo"]), ("u1", ["bye"])], Options())
    ('Speaker 1: hi there\\nSpeaker 2: yo\\nSpeaker 1: bye', 2)
    """
    names: dict[Any, str] = {}
    lines = []
    for speaker, texts in turns:
        label = names.get(speaker)
        if label is None:
            label = names[speaker] = _label(len(names), opts)
        lines.append(label + opts.label_separator + opts.message_separator.join(texts))
    return "\n".join(lines), len(names)


def _conversation_result(
    conversation: Any, record: dict | None, rel: str, position: int, ctx: ReadContext, opts: Options
) -> ReadResult:
    doc_id = make_id(ctx.source, rel, position)
    try:
        turns = turns_of(conversation, opts)
    except MalformedConversation as e:
        return Rejected(ctx.source, rel, position, "malformed_conversation", str(e))
    if not turns:
        return Dropped(doc_id, ctx.source, "empty_conversation", rel, position)
    if len(turns) < opts.min_turns:
        return Dropped(doc_id, ctx.source, "too_few_turns", rel, position)
    text, num_speakers = render(turns, opts)
    meta: dict[str, Any] = {"file": rel, "position": position}
    if record is not None:
        conv_id = record.get(opts.id_field)
        if conv_id is not None:
            meta["conversation_id"] = conv_id
    meta["num_turns"] = len(turns)
    meta["num_speakers"] = num_speakers
    if record is not None:
        for key in opts.meta_fields:
            if key in record:
                meta[key] = record[key]
    return Document(doc_id, ctx.source, text, meta)


def _read_jsonl(stream: BinaryIO, rel: str, ctx: ReadContext, opts: Options) -> Iterator[ReadResult]:
    for item in json_lines(stream, rel, ctx.source):
        if isinstance(item, Rejected):
            yield item
            continue
        position, record = item
        if isinstance(record, list):
            yield _conversation_result(record, None, rel, position, ctx, opts)
            continue
        if not isinstance(record, dict):
            yield Rejected(ctx.source, rel, position, "malformed_conversation",
                           f"a JSON {type(record).__name__}, not an object or a list of messages")
            continue
        conversation = _first(record, opts.messages_fields)
        if conversation is None:
            yield Rejected(ctx.source, rel, position, "malformed_conversation",
                           f"none of the fields {list(opts.messages_fields)}")
            continue
        yield _conversation_result(conversation, record, rel, position, ctx, opts)


def _read_chatterbot(stream: BinaryIO, rel: str, ctx: ReadContext, opts: Options) -> Iterator[ReadResult]:
    # chatterbot corpus files are a few KB each; YAML has no streaming document model for one
    # mapping, so the file is loaded whole.
    try:
        data = yaml.safe_load(stream)
    except DECOMPRESSION_ERRORS as e:
        yield Rejected(ctx.source, rel, 0, "truncated_input", f"{type(e).__name__}: {e}")
        return
    except UnicodeDecodeError as e:
        yield Rejected(ctx.source, rel, 0, "undecodable", str(e))
        return
    except yaml.YAMLError as e:
        yield Rejected(ctx.source, rel, 0, "malformed_yaml", str(e).replace("\n", " "))
        return
    if not isinstance(data, dict) or not isinstance(data.get("conversations"), list):
        yield Rejected(ctx.source, rel, 0, "malformed_yaml", "expected a mapping with a 'conversations' list")
        return
    meta_record = {k: v for k, v in data.items() if k != "conversations"}
    for position, conversation in enumerate(data["conversations"]):
        yield _conversation_result(conversation, meta_record, rel, position, ctx, opts)


def read(fs: FileSystem, path: str, ctx: ReadContext) -> Iterator[ReadResult]:
    """Read one dialogue file: a `Document` per conversation (position: 0-based line index, or
    conversation index in a YAML file).

    Yields `Dropped` ``empty_conversation`` (no message has text) and ``too_few_turns``;
    `Rejected` ``malformed_json``, ``undecodable`` (a line that is not UTF-8),
    ``malformed_conversation`` (unreadable structure), ``malformed_yaml`` and
    ``truncated_input`` (after every conversation before the cut).
    Meta: ``file``, ``position``, ``conversation_id`` (when the ``id_field`` is present),
    ``num_turns``, ``num_speakers`` and the configured ``meta_fields``.
    """
    opts: Options = ctx.options if ctx.options is not None else Options()
    rel = relative_to_root(path, ctx.root)
    fmt = opts.format
    if fmt == "auto":
        fmt = "chatterbot" if strip_compression_suffix(path).lower().endswith((".yml", ".yaml")) else "jsonl"
    raw = fs.open(path)
    with raw:
        stream = open_decompressed(raw, path)
        if fmt == "chatterbot":
            yield from _read_chatterbot(stream, rel, ctx, opts)
        else:
            yield from _read_jsonl(stream, rel, ctx, opts)
