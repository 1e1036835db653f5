"""Tests of the ``code`` reader and the license classifier. Fixtures are made in ``tmp_path``."""

from __future__ import annotations

import io
import os
import random
import tarfile
import zipfile
from collections import Counter
from pathlib import Path

import pytest
import zstandard

from dataprep.configs import from_mapping
from dataprep.errors import RecipeError
from dataprep.fs import LocalFileSystem
from dataprep.recipe import parse_recipe
from dataprep.records import Document, Dropped, Rejected
from dataprep.sources import ReadContext
from dataprep.sources import code
from dataprep.sources.code import Options, read
from dataprep.sources.licenses import (
    LicenseInfo,
    classify_license_text,
    classify_spdx_expression,
    combine_licenses,
    is_license_file,
)

FS = LocalFileSystem()

MIT = """MIT License

Copyright (c) 2024 Example Authors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:
"""

GPL3 = """                    GNU GENERAL PUBLIC LICENSE
                       Version 3, 29 June 2007

 Copyright (C) 2007 Free Software Foundation, Inc. <https://fsf.org/>
 Everyone is permitted to copy and distribute verbatim copies
 of this license document, but changing it is not allowed.
"""

PY = "def add(a, b):\n    return a + b\n"
JS = "export function add(a, b) {\n  return a + b;\n}\n"


def make_repo(base: Path, name: str, files: dict[str, str | bytes]) -> Path:
    root = base / name
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            p.write_bytes(content.encode("utf-8"))
        else:
            p.write_bytes(content)
    root.mkdir(parents=True, exist_ok=True)
    return root


def run(path: Path, root: Path, **options) -> list:
    return list(read(FS, str(path), ReadContext("code", str(root), Options(**options))))


def by_type(results: list) -> tuple[list[Document], list[Dropped], list[Rejected]]:
    return (
        [r for r in results if isinstance(r, Document)],
        [r for r in results if isinstance(r, Dropped)],
        [r for r in results if isinstance(r, Rejected)],
    )


def reasons(results: list) -> Counter:
    return Counter(r.reason for r in results if isinstance(r, (Dropped, Rejected)))


def files_below(root: Path) -> int:
    return sum(len(files) + sum(1 for d in dirs if (Path(dp) / d).is_symlink()) for dp, dirs, files in os.walk(root))


# --- repositories ------------------------------------------------------------------------------


def test_permissive_repo_is_kept_with_provenance(tmp_path):
    repo = make_repo(tmp_path, "tinylib", {"LICENSE": MIT, "src/add.py": PY, "web/add.js": JS, "README.md": "# tinylib\n"})
    results = run(repo, tmp_path)
    docs, dropped, rejected = by_type(results)
    assert {d.id for d in docs} == {"code/tinylib#src/add.py", "code/tinylib#web/add.js"}
    py = next(d for d in docs if d.meta["path"] == "src/add.py")
    assert py.text == PY
    assert py.source == "code"
    assert py.meta == {
        "repo": "tinylib",
        "path": "src/add.py",
        "language": "Python",
        "license": "MIT",
        "license_class": "permissive",
        "file": "tinylib",
        "position": "src/add.py",
    }
    assert next(d for d in docs if d.meta["path"] == "web/add.js").meta["language"] == "JavaScript"
    assert reasons(results) == Counter({"license_file": 1, "not_code": 1})
    assert not rejected
    assert len(results) == files_below(repo)


def test_copyleft_repo_is_dropped_file_by_file(tmp_path):
    repo = make_repo(tmp_path, "gplthing", {"COPYING": GPL3, "main.c": "int main(void) { return 0; }\n", "util.h": "int f(void);\n", "lib/x.py": PY, "README": "hi\n"})
    results = run(repo, tmp_path)
    assert reasons(results) == Counter({"license_copyleft": 4, "license_file": 1})
    assert not by_type(results)[0]
    # The copyleft class can be allowed explicitly.
    docs = by_type(run(repo, tmp_path, licenses=("permissive", "copyleft", "unknown")))[0]
    assert {d.meta["path"] for d in docs} == {"main.c", "util.h", "lib/x.py"}
    assert {(d.meta["license"], d.meta["license_class"]) for d in docs} == {("GPL-3.0", "copyleft")}


def test_unknown_license_kept_by_default_and_droppable(tmp_path):
    repo = make_repo(tmp_path, "nolicense", {"a.py": PY})
    (doc,) = run(repo, tmp_path)
    assert (doc.meta["license"], doc.meta["license_class"]) == (None, "unknown")
    assert reasons(run(repo, tmp_path, licenses=("permissive",))) == Counter({"license_unknown": 1})


GPL_HEADER = """/*
 * Copyright (c) 2020 Someone.
 *
 * This program is free software; you can redistribute it and/or modify it
 * under the terms of the GNU General Public License version 2 only, as
 * published by the Free Software Foundation.
 */
int f(void) { return 1; }
"""


def test_file_license_headers_override_the_repository(tmp_path):
    history = "# Originally released under LGPL.  Graciously donated to this project\n# for distribution under its license.\n" + PY
    mit = make_repo(tmp_path, "mit", {"LICENSE": MIT, "a.py": PY, "hist.py": history, "bundled/gpl.c": GPL_HEADER, "spdx.js": "// SPDX-License-Identifier: MPL-2.0\n" + JS})
    results = run(mit, tmp_path)
    assert reasons(results) == Counter({"license_file": 1, "license_copyleft": 2})
    assert {d.meta["path"]: d.meta["license"] for d in by_type(results)[0]} == {"a.py": "MIT", "hist.py": "MIT"}
    unlicensed = make_repo(tmp_path, "bare", {"gpl.c": GPL_HEADER, "own.py": "# SPDX-License-Identifier: Apache-2.0\n" + PY, "plain.py": PY})
    results = run(unlicensed, tmp_path)
    assert reasons(results) == Counter({"license_copyleft": 1})
    assert {d.meta["path"]: (d.meta["license"], d.meta["license_class"]) for d in by_type(results)[0]} == {
        "own.py": ("Apache-2.0", "permissive"),
        "plain.py": (None, "unknown"),
    }
    # Copyleft allowed: kept, labelled with the file's own license.
    (doc,) = [d for d in by_type(run(unlicensed, tmp_path, licenses=("permissive", "copyleft", "unknown")))[0] if d.meta["path"] == "gpl.c"]
    assert (doc.meta["license"], doc.meta["license_class"]) == ("GPL-2.0", "copyleft")
    assert reasons(run(unlicensed, tmp_path, file_license_headers=False)) == Counter()


def test_binary_files_are_dropped(tmp_path):
    repo = make_repo(tmp_path, "r", {"LICENSE": MIT, "nul.c": b"int x;\x00\x01\x02", "latin1.py": "s = 'caf\xe9'\n".encode("latin-1"), "ok.py": PY})
    results = run(repo, tmp_path)
    assert reasons(results) == Counter({"binary": 2, "license_file": 1})
    assert [d.meta["path"] for d in by_type(results)[0]] == ["ok.py"]


def test_minified_and_long_line_files_are_dropped(tmp_path):
    minified = "var a=1;" * 700  # one 5,600-character line
    wide = ("x = '" + "y" * 150 + "'\n") * 20  # every line > 100 characters, none > 1000
    repo = make_repo(tmp_path, "r", {"app.js": minified, "lib.min.js": JS, "wide.py": wide, "ok.js": JS})
    results = run(repo, tmp_path)
    assert reasons(results) == Counter({"minified": 3})
    assert [d.meta["path"] for d in by_type(results)[0]] == ["ok.js"]
    # Thresholds are options.
    assert reasons(run(repo, tmp_path, max_line_length=10_000, max_mean_line_length=10_000.0)) == Counter({"minified": 1})


def test_generated_files_are_dropped(tmp_path):
    late_marker = "\n" * 10 + "# this file is auto-generated\n" + PY
    repo = make_repo(
        tmp_path,
        "r",
        {
            "api.pb.go": "package api\n",
            "gen.go": "// Code generated by stringer. DO NOT EDIT.\n\npackage x\n",
            "schema.py": '"""Schema.\n\nThis file is automatically generated; do not modify."""\nX = 1\n',
            "migrations/0001.py": "# Generated by Django 4.2 on 2024-01-01\nX = 1\n",
            "package-lock.json": "{}\n",
            "late.py": late_marker,
            "generator.py": "def generated_by_hand():\n    return 'generated by'\n",
        },
    )
    results = run(repo, tmp_path)
    assert reasons(results) == Counter({"generated": 5})
    assert sorted(d.meta["path"] for d in by_type(results)[0]) == ["generator.py", "late.py"]
    assert reasons(run(repo, tmp_path, skip_generated=False)) == Counter({"not_code": 1})


def test_vendored_and_vcs_paths_are_dropped(tmp_path):
    repo = make_repo(
        tmp_path,
        "r",
        {
            "node_modules/left-pad/index.js": JS,
            "third_party/zlib/inflate.c": "int inflate(void);\n",
            "src/vendor/lib.rb": "puts 1\n",
            ".git/hooks/pre-commit.sh": "exit 0\n",
            "src/vendored_helpers.py": PY,
        },
    )
    results = run(repo, tmp_path)
    assert reasons(results) == Counter({"vendored": 3, "vcs": 1})
    assert [d.meta["path"] for d in by_type(results)[0]] == ["src/vendored_helpers.py"]
    assert reasons(run(repo, tmp_path, skip_vendored=False)) == Counter({"vcs": 1})


def test_oversize_files_are_dropped_without_reading(tmp_path):
    repo = make_repo(tmp_path, "r", {"small.py": PY, "big.py": "x = 1\n" * 50})
    # A 50 MB single-line file: dropped on its size alone (sparse, so the test stays fast).
    with open(repo / "huge.js", "wb") as f:
        f.truncate(50 * 1024 * 1024)
    results = run(repo, tmp_path, max_file_bytes=100)
    assert reasons(results) == Counter({"oversize": 2})
    assert reasons(run(repo, tmp_path)) == Counter({"oversize": 1})


def test_symlink_outside_the_tree_is_rejected_and_inside_dropped(tmp_path):
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "passwd.py").write_text("SECRET = 1\n")
    repo = make_repo(tmp_path / "src", "r", {"LICENSE": MIT, "a.py": PY, "pkg/b.py": PY})
    os.symlink(outside / "passwd.py", repo / "leak.py")
    os.symlink(outside, repo / "leakdir")
    os.symlink(repo / "a.py", repo / "alias.py")
    os.symlink("pkg", repo / "pkg2")
    os.symlink(tmp_path / "missing.py", repo / "dangling.py")
    results = run(repo, tmp_path / "src")
    docs, dropped, rejected = by_type(results)
    assert sorted(d.meta["path"] for d in docs) == ["a.py", "pkg/b.py"]
    assert all("SECRET" not in d.text for d in docs)
    assert sorted((r.position, r.reason) for r in rejected) == [
        ("dangling.py", "symlink_outside_tree"),
        ("leak.py", "symlink_outside_tree"),
        ("leakdir", "symlink_outside_tree"),
    ]
    assert sorted(d.position for d in dropped if d.reason == "symlink") == ["alias.py", "pkg2"]
    assert len(results) == files_below(repo)


def test_repository_root_that_links_outside_is_rejected(tmp_path):
    outside = make_repo(tmp_path, "elsewhere", {"a.py": PY})
    (tmp_path / "root").mkdir()
    os.symlink(outside, tmp_path / "root" / "repo")
    (rej,) = run(tmp_path / "root" / "repo", tmp_path / "root")
    assert isinstance(rej, Rejected) and rej.reason == "symlink_outside_tree"


class RecordingFS:
    """A filesystem with only the protocol's core methods (like an object store: no symlink
    probes), recording which files are opened."""

    def __init__(self) -> None:
        self.local = LocalFileSystem()
        self.opened: list[str] = []

    def match(self, pattern):
        return self.local.match(pattern)

    def is_dir(self, path):
        return self.local.is_dir(path)

    def walk(self, root):
        return self.local.walk(root)

    def open(self, path):
        self.opened.append(os.path.basename(path))
        return self.local.open(path)


def test_dropped_files_are_never_opened(tmp_path):
    gpl = make_repo(tmp_path, "gpl", {"COPYING": GPL3, "a.c": "int a;\n", "b.c": "int b;\n"})
    fs = RecordingFS()
    results = list(read(fs, str(gpl), ReadContext("code", str(tmp_path), Options())))
    assert reasons(results) == Counter({"license_copyleft": 2, "license_file": 1})
    assert fs.opened == ["COPYING"]
    mit = make_repo(tmp_path, "mit", {"LICENSE": MIT, "a.py": PY, "README.md": "x\n", "big.py": "x = 1\n" * 100})
    fs = RecordingFS()
    results = list(read(fs, str(mit), ReadContext("code", str(tmp_path), Options(max_file_bytes=100))))
    assert reasons(results) == Counter({"license_file": 1, "not_code": 1, "oversize": 1})
    assert sorted(fs.opened) == ["LICENSE", "a.py"]


def test_text_is_kept_byte_exact(tmp_path):
    text = "\ufeff# bom\r\nx = 1   \r\n\tif x:\r\n\t\tpass\r\n\n\n"
    repo = make_repo(tmp_path, "r", {"crlf.py": text.encode("utf-8")})
    (doc,) = run(repo, tmp_path)
    assert doc.text.encode("utf-8") == text.encode("utf-8")


def test_languages_option_restricts(tmp_path):
    repo = make_repo(tmp_path, "r", {"a.py": PY, "b.js": JS})
    results = run(repo, tmp_path, languages=("Python",))
    assert [d.meta["language"] for d in by_type(results)[0]] == ["Python"]
    assert reasons(results) == Counter({"language_excluded": 1})


def test_exclude_paths_and_extra_extensions(tmp_path):
    repo = make_repo(tmp_path, "r", {"src/a.py": PY, "docs/conf.py": PY, "pkg/testdata/gen.py": PY, "ui/App.vue": "<template><div/></template>\n"})
    results = run(repo, tmp_path, exclude_paths=("docs/*", "*/testdata/*"), extensions={".vue": "JavaScript"})
    assert reasons(results) == Counter({"excluded_path": 2})
    assert {d.meta["path"]: d.meta["language"] for d in by_type(results)[0]} == {"src/a.py": "Python", "ui/App.vue": "JavaScript"}
    with pytest.raises(RecipeError, match="extensions"):
        Options(extensions={"vue": "JavaScript"})
    assert from_mapping(Options, {"extensions": {".vue": "JavaScript"}}, "s").extensions == {".vue": "JavaScript"}


def test_ids_are_stable_and_unique(tmp_path):
    repo = make_repo(tmp_path, "r", {"LICENSE": MIT, "a.py": PY, "b/a.py": PY, "c.js": JS})
    first = run(repo, tmp_path)
    second = run(repo, tmp_path)
    assert first == second
    ids = [r.id for r in first if isinstance(r, Document)]
    assert len(ids) == len(set(ids)) == 3


# --- archives ----------------------------------------------------------------------------------


def add_tar_member(tf: tarfile.TarFile, name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, link: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tf.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def write_tar(path: Path, members: list[tuple], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tf:
        for m in members:
            add_tar_member(tf, *m)
    return path


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("suffix", [".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz", ".tar.zst", ".zip"])
def test_archive_repo_with_top_folder(tmp_path, suffix):
    # Sources come before the LICENSE in the stream: the license is still applied to them.
    members = {"tinylib-1.0/src/add.py": PY.encode(), "tinylib-1.0/web/add.js": JS.encode(), "tinylib-1.0/README.md": b"# hi\n", "tinylib-1.0/LICENSE": MIT.encode()}
    path = tmp_path / f"tinylib{suffix}"
    if suffix == ".zip":
        write_zip(path, members)
    elif suffix == ".tar.zst":
        plain = write_tar(tmp_path / "plain.tar", [(n, d) for n, d in members.items()], "w")
        path.write_bytes(zstandard.ZstdCompressor().compress(plain.read_bytes()))
        plain.unlink()
    else:
        mode = {".tar.gz": "w:gz", ".tgz": "w:gz", ".tar": "w", ".tar.bz2": "w:bz2", ".tar.xz": "w:xz"}[suffix]
        write_tar(path, [(n, d) for n, d in members.items()], mode)
    results = run(path, tmp_path)
    docs, dropped, rejected = by_type(results)
    assert sorted(d.id for d in docs) == ["code/tinylib#src/add.py", "code/tinylib#web/add.js"]
    assert {(d.meta["license"], d.meta["file"]) for d in docs} == {("MIT", f"tinylib{suffix}")}
    assert next(d for d in docs if d.meta["path"] == "src/add.py").text == PY
    assert reasons(results) == Counter({"license_file": 1, "not_code": 1})
    assert len(results) == len(members)


def test_archive_and_folder_of_one_repo_give_the_same_ids(tmp_path):
    folder = make_repo(tmp_path / "folders", "tinylib", {"LICENSE": MIT, "a.py": PY, "pkg/b.py": PY})
    tgz = tmp_path / "archives" / "tinylib.tar.gz"
    tgz.parent.mkdir()
    with tarfile.open(tgz, "w:gz") as tf:
        tf.add(folder, arcname="tinylib")
    from_folder = [r for r in run(folder, tmp_path / "folders") if isinstance(r, Document)]
    from_archive = [r for r in run(tgz, tmp_path / "archives") if isinstance(r, Document)]
    assert sorted((d.id, d.text) for d in from_folder) == sorted((d.id, d.text) for d in from_archive)


def test_macos_zip_metadata_does_not_hide_the_top_folder(tmp_path):
    path = write_zip(tmp_path / "mac.zip", {"repo/LICENSE": MIT.encode(), "repo/a.py": PY.encode(), "__MACOSX/repo/._a.py": b"\x00\x05\x16\x07", "__MACOSX/repo/._LICENSE": b"\x00\x05"})
    results = run(path, tmp_path)
    (doc,) = by_type(results)[0]
    assert (doc.meta["path"], doc.meta["license"]) == ("a.py", "MIT")
    assert reasons(results) == Counter({"license_file": 1, "os_metadata": 2})


def test_non_utf8_file_names_are_rejected(tmp_path):
    repo = make_repo(tmp_path, "r", {"a.py": PY})
    with open(os.path.join(bytes(repo), b"caf\xe9.py"), "wb") as f:
        f.write(PY.encode())
    results = run(repo, tmp_path)
    assert reasons(results) == Counter({"undecodable_path": 1})
    (rej,) = by_type(results)[2]
    rej.position.encode("utf-8")  # writable to rejects/
    tgz = write_tar(tmp_path / "n.tar.gz", [("r/a.py", PY.encode()), ("r/caf\udce9.py", PY.encode())])
    assert reasons(run(tgz, tmp_path)) == Counter({"undecodable_path": 1})


def test_zip_member_with_unknown_compression_is_rejected_alone(tmp_path):
    path = write_zip(tmp_path / "m.zip", {"r/a.py": PY.encode(), "r/b.py": ("y = 2\n" * 50).encode()})
    data = bytearray(path.read_bytes())
    # Patch b.py's compression method (local header offset 8, central header offset 10) to 99.
    local = data.find(b"PK\x03\x04", data.find(b"r/b.py") - 40)
    central = data.find(b"PK\x01\x02", data.rfind(b"r/b.py") - 60)
    data[local + 8 : local + 10] = (99).to_bytes(2, "little")
    data[central + 10 : central + 12] = (99).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    results = run(path, tmp_path)
    assert [d.meta["path"] for d in by_type(results)[0]] == ["a.py"]
    assert reasons(results) == Counter({"corrupt_archive_member": 1})


def test_archive_without_top_folder_and_copyleft(tmp_path):
    path = write_zip(tmp_path / "g.zip", {"COPYING": GPL3.encode(), "a.c": b"int a;\n", "sub/b.c": b"int b;\n"})
    assert reasons(run(path, tmp_path)) == Counter({"license_copyleft": 2, "license_file": 1})


def test_unsafe_archive_members_are_rejected(tmp_path):
    members = [("repo/LICENSE", MIT.encode()), ("repo/ok.py", PY.encode()), ("../evil.py", PY.encode()), ("/etc/evil.py", PY.encode()), ("repo/../../up.py", PY.encode())]
    tgz = write_tar(tmp_path / "bad.tar.gz", members)
    zipped = write_zip(tmp_path / "bad.zip", dict(members))
    for path in (tgz, zipped):
        results = run(path, tmp_path)
        docs, _, rejected = by_type(results)
        assert [d.meta["path"] for d in docs] == ["ok.py"]
        assert sorted(r.position for r in rejected) == ["../evil.py", "/etc/evil.py", "repo/../../up.py"]
        assert {r.reason for r in rejected} == {"unsafe_archive_path"}
        assert len(results) == len(members)


def test_archive_links(tmp_path):
    members = [
        ("repo/LICENSE", MIT.encode()),
        ("repo/a.py", PY.encode()),
        ("repo/alias.py", b"", tarfile.SYMTYPE, "a.py"),
        ("repo/out.py", b"", tarfile.SYMTYPE, "../../etc/passwd"),
        ("repo/abs.py", b"", tarfile.SYMTYPE, "/etc/passwd"),
        ("repo/hard.py", b"", tarfile.LNKTYPE, "repo/a.py"),
        ("repo/hardout.py", b"", tarfile.LNKTYPE, "../x"),
        ("repo/fifo", b"", tarfile.FIFOTYPE),
    ]
    results = run(write_tar(tmp_path / "links.tar.gz", members), tmp_path)
    assert reasons(results) == Counter({"license_file": 1, "symlink": 1, "symlink_outside_tree": 2, "hardlink": 1, "unsafe_archive_path": 1, "special_file": 1})
    assert [d.meta["path"] for d in by_type(results)[0]] == ["a.py"]


def test_zip_symlink_members(tmp_path):
    path = tmp_path / "z.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("r/a.py", PY)
        for name, target in (("r/in.py", "a.py"), ("r/out.py", "../../etc/passwd")):
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, target)
    results = run(path, tmp_path)
    assert reasons(results) == Counter({"symlink": 1, "symlink_outside_tree": 1})


def test_duplicate_tar_member_is_counted_once(tmp_path):
    results = run(write_tar(tmp_path / "d.tar", [("r/a.py", b"x = 1\n"), ("r/a.py", b"x = 2\n")], "w"), tmp_path)
    assert [type(r).__name__ for r in results] == ["Document", "Dropped"]
    assert results[1].reason == "duplicate_member"


def test_truncated_tar_gz_keeps_what_was_readable(tmp_path):
    members = [(f"repo/f{i}.py", (f"# file {i}\n" + "x = 1\n" * 4000).encode()) for i in range(6)]
    full = write_tar(tmp_path / "full.tar.gz", members)
    # Uncompressible-enough content so that a cut in the middle leaves complete first members.
    data = full.read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    results = run(cut, tmp_path)
    assert isinstance(results[-1], Rejected) and results[-1].reason == "truncated_archive"
    assert all(not isinstance(r, Rejected) for r in results[:-1])
    docs = by_type(results)[0]
    assert docs and all(d.text == dict((n.split("/")[1], c) for n, c in members)[d.meta["path"]].decode() for d in docs)


def test_truncated_tar_gz_with_random_content(tmp_path):
    rng = random.Random(0)
    members = [(f"repo/f{i}.py", "".join(f"h = '{rng.randbytes(30).hex()}'\n" for _ in range(200)).encode()) for i in range(5)]
    full = write_tar(tmp_path / "full.tgz", members)
    cut = tmp_path / "cut.tgz"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    results = run(cut, tmp_path)
    assert results[-1].reason == "truncated_archive"
    assert 1 <= len(by_type(results)[0]) < 5


def test_garbage_and_truncated_zip_archives(tmp_path):
    (tmp_path / "junk.tar.gz").write_bytes(b"not an archive at all")
    (rej,) = run(tmp_path / "junk.tar.gz", tmp_path)
    assert rej.reason == "unreadable_archive"
    full = write_zip(tmp_path / "z.zip", {"r/a.py": PY.encode() * 100, "r/b.py": PY.encode()})
    (tmp_path / "cut.zip").write_bytes(full.read_bytes()[:-30])
    (rej,) = run(tmp_path / "cut.zip", tmp_path)
    assert rej.reason == "truncated_archive"


def test_lone_file_unit(tmp_path):
    (tmp_path / "script.py").write_text(PY)
    (doc,) = run(tmp_path / "script.py", tmp_path)
    assert doc.meta["path"] == "script.py" and doc.meta["license_class"] == "unknown"


# --- options -----------------------------------------------------------------------------------


def test_options_validation():
    with pytest.raises(RecipeError, match="licenses") as e:
        Options(licenses=("permisive",))
    assert e.value.suggestion == "permissive"
    with pytest.raises(RecipeError, match="languages") as e:
        Options(languages=("Pyhton",))
    assert e.value.suggestion == "Python"
    for bad in ({"licenses": ()}, {"max_file_bytes": 0}, {"max_line_length": 0}, {"max_mean_line_length": 0.0}, {"min_alnum_fraction": 1.5}, {"generated_scan_lines": -1}):
        with pytest.raises(RecipeError):
            Options(**bad)
    opts = from_mapping(Options, {"licenses": ["permissive"], "max_file_bytes": 2048}, "sources[0]")
    assert opts.licenses == ("permissive",) and opts.max_file_bytes == 2048


def test_options_from_recipe(tmp_path):
    source = {"name": "code", "kind": "code", "paths": [str(tmp_path)], "weight": 0.05}
    recipe = parse_recipe({"name": "t", "sources": [dict(source, licenses=["permissive"], languages=["Python", "C"])]})
    assert recipe.sources[0].options == Options(licenses=("permissive",), languages=("Python", "C"))
    with pytest.raises(RecipeError) as e:
        parse_recipe({"name": "t", "sources": [dict(source, max_file_byte=10)]})
    assert e.value.suggestion == "max_file_bytes"


# --- pure helpers ------------------------------------------------------------------------------


def test_language_table_is_palms_24():
    assert len(code.LANGUAGES) == 24
    named = [lang.name for lang in code.LANGUAGES if lang.palm_named]
    assert named == ["Java", "HTML", "JavaScript", "Python", "PHP", "C#", "XML", "C++", "C"]
    exts = [e for lang in code.LANGUAGES for e in lang.extensions]
    assert len(exts) == len(set(exts))
    assert code.language_of("a/b.tsx") == "TypeScript"
    assert code.language_of("Rakefile") == "Ruby"
    assert code.language_of(".bashrc") is None


@pytest.mark.parametrize("name", ["../x", "a/../../x", "/abs/x", "C:/x", "a\\..\\x", "a/C:/x"])
def test_unsafe_member_names(name):
    assert code.is_unsafe_member(name)


@pytest.mark.parametrize("name", ["a/b.py", "./a.py", "a..b/c.py", "a/.../b", "a/b:c.py"])
def test_safe_member_names(name):
    assert not code.is_unsafe_member(name)


# --- license classifier ------------------------------------------------------------------------

APACHE = """
                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/

   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION
"""
BSD3 = """Copyright (c) 2020, Someone
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice.
2. Redistributions in binary form must reproduce the above copyright notice.
3. Neither the name of the copyright holder nor the names of its
   contributors may be used to endorse or promote products derived from
   this software without specific prior written permission.
"""
BSD2 = BSD3.split("3. Neither")[0] + "THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AS IS\n"
ISC = """ISC License

Copyright (c) 2021 Someone

Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above
copyright notice and this permission notice appear in all copies.
"""
UNLICENSE = """This is free and unencumbered software released into the public domain.

Anyone is free to copy, modify, publish, use, compile, sell, or
distribute this software, either in source code form or as a compiled binary.
"""
ZLIB = """This software is provided 'as-is', without any express or implied
warranty.  In no event will the authors be held liable for any damages
arising from the use of this software.

Permission is granted to anyone to use this software for any purpose,
including commercial applications, and to alter it and redistribute it
freely, subject to the following restrictions:
"""
BOOST = "Boost Software License - Version 1.0 - August 17th, 2003\n\nPermission is hereby granted, free of charge, to any person or organization\n"
# CPython's LICENSE: "GPL-compatible" history table first, the PSF license text later.
PSF_LIKE = """A. HISTORY OF THE SOFTWARE

Historically, most, but not all, Python releases have also been GPL-compatible.
GPL-compatible doesn't mean that we're distributing Python under the GPL. The
GPL-compatible licenses make it possible to combine Python with other software
that is released under the GPL; the others don't.

B. TERMS AND CONDITIONS FOR ACCESSING OR OTHERWISE USING PYTHON

PYTHON SOFTWARE FOUNDATION LICENSE VERSION 2
--------------------------------------------

1. This LICENSE AGREEMENT is between the Python Software Foundation ("PSF")...
7. ... material that was previously distributed under the GNU General Public License (GPL) ...
"""
# OpenJDK's LICENSE: the GPL-2.0 text, then the Classpath exception.
OPENJDK_LIKE = """The GNU General Public License (GPL)

Version 2, June 1991

Copyright (C) 1989, 1991 Free Software Foundation, Inc.
...
"CLASSPATH" EXCEPTION TO THE GPL

Certain source files distributed by Oracle America and/or its affiliates are
subject to the following clarification and special exception to the GPL...
"""
GPL_NOTICE = """# This program is free software: you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation, either version 3 of the License, or
# (at your option) any later version.
"""
LGPL21 = "                  GNU LESSER GENERAL PUBLIC LICENSE\n                       Version 2.1, February 1999\n"
AGPL = "                    GNU AFFERO GENERAL PUBLIC LICENSE\n                       Version 3, 19 November 2007\n"
MPL = "Mozilla Public License Version 2.0\n==================================\n\n1. Definitions\n"
EPL = "Eclipse Public License - v 2.0\n\n    THE ACCOMPANYING PROGRAM IS PROVIDED UNDER THE TERMS OF THIS ECLIPSE\n"
CDDL = "COMMON DEVELOPMENT AND DISTRIBUTION LICENSE (CDDL) Version 1.0\n"
MIT_WITH_THIRD_PARTY = MIT + "\n\nThird-party code in vendor/ is covered by the GNU General Public License, version 2.\n"


@pytest.mark.parametrize(
    "text, expected",
    [
        (MIT, ("MIT", "permissive")),
        ("# MIT Licence\n\n" + MIT.split("\n", 1)[1].replace("\n", "\n# "), ("MIT", "permissive")),
        (APACHE, ("Apache-2.0", "permissive")),
        (APACHE.split("\n", 2)[2], ("Apache-2.0", "permissive")),  # title line lost
        (BSD3, ("BSD-3-Clause", "permissive")),
        (BSD2, ("BSD-2-Clause", "permissive")),
        (ISC, ("ISC", "permissive")),
        (UNLICENSE, ("Unlicense", "permissive")),
        (ZLIB, ("Zlib", "permissive")),
        (BOOST, ("BSL-1.0", "permissive")),
        (PSF_LIKE, ("PSF-2.0", "permissive")),
        (OPENJDK_LIKE, ("GPL-2.0 WITH Classpath-exception-2.0", "copyleft")),
        (GPL3, ("GPL-3.0", "copyleft")),
        (GPL_NOTICE, ("GPL-3.0-or-later", "copyleft")),
        (LGPL21, ("LGPL-2.1", "copyleft")),
        (AGPL, ("AGPL-3.0", "copyleft")),
        (MPL, ("MPL-2.0", "copyleft")),
        (EPL, ("EPL-2.0", "copyleft")),
        (CDDL, ("CDDL-1.0", "copyleft")),
        (MIT_WITH_THIRD_PARTY, ("MIT", "permissive")),
        ("This project is released under the MIT license.\n", ("MIT", "permissive")),
        ("Licensed under the GPLv3. See the FSF site.\n", ("GPL-3.0", "copyleft")),
        ("MIT\n", ("MIT", "permissive")),
        ("MIT OR GPL-2.0-only\n", ("MIT OR GPL-2.0-only", "permissive")),
        ("// SPDX-License-Identifier: LGPL-2.1-or-later\n", ("LGPL-2.1-or-later", "copyleft")),
        ("/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */\nCopyright (c) 2020, Someone.\n" + MIT, ("(GPL-2.0 OR MIT)", "permissive")),
        ("SPDX-License-Identifier: Apache-2.0\n\n" + GPL_NOTICE, ("Apache-2.0", "permissive")),
        ("GPLv3\n", ("GPLv3", "copyleft")),
        ("BSD 3-Clause License\n\nCopyright (c) 2020 Someone\nAll rights reserved.\n", ("BSD-3-Clause", "permissive")),
        ("Licensed under the Apache License 2.0\n", ("Apache-2.0", "permissive")),
        ("This program is free software; you can redistribute it and/or modify it under the terms of the GNU General Public License version 2 as published by the Free Software Foundation.", ("GPL-2.0", "copyleft")),
        ("Attribution-ShareAlike 4.0 International\n", ("CC-BY-SA-4.0", "copyleft")),
        ("Attribution-NonCommercial-ShareAlike 4.0 International\n", (None, "unknown")),
        ("Our releases are GPL-compatible.\n", (None, "unknown")),
        ("Copyright 2024 ACME Corp. All rights reserved. Proprietary and confidential.\n", (None, "unknown")),
        ("", (None, "unknown")),
    ],
)
def test_license_classifier(text, expected):
    assert tuple(classify_license_text(text)) == expected


@pytest.mark.parametrize("text, spdx", [(MIT, "MIT"), (APACHE, "Apache-2.0"), (BSD3, "BSD-3-Clause"), (GPL3, "GPL-3.0"), (OPENJDK_LIKE, "GPL-2.0 WITH Classpath-exception-2.0")])
@pytest.mark.parametrize("wrap", ["# {}", "// {}", " * {}", "> {}", "{}  "])
def test_license_classifier_ignores_comment_and_quote_markup(text, spdx, wrap):
    wrapped = "\n".join(wrap.format(line) for line in text.splitlines())
    assert classify_license_text(wrapped).spdx == spdx


def test_license_helpers():
    assert classify_spdx_expression("(MIT OR Apache-2.0) AND GPL-3.0-only").license_class == "copyleft"
    assert classify_spdx_expression("GPL-2.0-only WITH Classpath-exception-2.0").license_class == "copyleft"
    assert combine_licenses([LicenseInfo("MIT", "permissive"), LicenseInfo("Apache-2.0", "permissive"), LicenseInfo(None, "unknown")]) == LicenseInfo("Apache-2.0 AND MIT", "permissive")
    assert [is_license_file(n) for n in ("LICENSE", "LICENCE.txt", "COPYING.LESSER", "LICENSE-MIT", "UNLICENSE", "license.py", "licenses.html", "README")] == [True, True, True, True, True, False, False, False]


def test_dual_license_files_in_a_repo(tmp_path):
    repo = make_repo(tmp_path, "dual", {"LICENSE-MIT": MIT, "LICENSE-APACHE": APACHE, "lib.rs": "pub fn f() {}\n"})
    (doc,) = [r for r in run(repo, tmp_path) if isinstance(r, Document)]
    assert (doc.meta["license"], doc.meta["license_class"]) == ("Apache-2.0 AND MIT", "permissive")


# --- real corpora ------------------------------------------------------------------------------


@pytest.mark.integration
def test_real_code_trees(corpora, tmp_path):
    root = corpora / "code"
    cpython = root / "cpython-3.11-Lib"
    results = run(cpython, root)
    docs, dropped, rejected = by_type(results)
    assert len(results) == files_below(cpython)
    assert not rejected
    assert {(d.meta["language"], d.meta["license_class"]) for d in docs} == {("Python", "permissive")}
    # The repository is PSF-2.0; a few modules declare their own permissive license in their header
    # (asyncore.py's HPND notice, tarfile.py's MIT-style grant, turtle.py's zlib license...).
    licenses = Counter(d.meta["license"] for d in docs)
    assert licenses["PSF-2.0"] >= 0.95 * len(docs)
    py_files = sum(1 for p in cpython.rglob("*.py"))
    assert len(docs) >= 0.99 * py_files
    assert set(reasons(results)) <= {"license_file", "generated"}

    # The same tree as a .tar.gz: the same documents, read as a stream.
    tgz = tmp_path / "cpython-3.11-Lib.tar.gz"
    with tarfile.open(tgz, "w:gz", compresslevel=1) as tf:
        tf.add(cpython, arcname="cpython-3.11-Lib")
    from_archive = [r for r in run(tgz, tmp_path) if isinstance(r, Document)]
    assert sorted((d.id, d.text) for d in from_archive) == sorted((d.id, d.text) for d in docs)

    openjdk = root / "openjdk-java.base-util"
    results = run(openjdk, root)
    assert len(results) == files_below(openjdk)
    assert not by_type(results)[0]
    java = sum(1 for p in openjdk.rglob("*.java"))
    assert reasons(results) == Counter({"license_copyleft": java, "license_file": 1})

    # Without its LICENSE (as in a JDK's src.zip) the repository's license is unknown, yet every
    # file is still dropped: each carries the GPL-2.0 + Classpath exception notice in its header.
    bare = tmp_path / "java.base.zip"
    with zipfile.ZipFile(bare, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for p in sorted(openjdk.rglob("*.java")):
            zf.write(p, p.relative_to(openjdk).as_posix())
    results = run(bare, tmp_path)
    assert reasons(results) == Counter({"license_copyleft": java})


# --- property: any member names, every member accounted for, nothing escapes ---------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

_PART = st.sampled_from(["a", "b", "src", "..", ".", "", "LICENSE", "x.py", "y.js", "README.md", "node_modules", "C:"])
_NAME = st.lists(_PART, min_size=1, max_size=4).map("/".join) | st.lists(_PART, min_size=1, max_size=3).map(lambda p: "/" + "/".join(p))


@settings(max_examples=40, deadline=None)
@given(names=st.lists(_NAME, min_size=1, max_size=8, unique=True))
def test_any_archive_member_names_are_accounted_for(tmp_path_factory, names):
    tmp = tmp_path_factory.mktemp("prop")
    members = [(n, PY.encode()) for n in names if n.strip("/.")]  # tarfile cannot store empty names
    path = write_tar(tmp / "p.tar.gz", members)
    with tarfile.open(path) as tf:
        stored = [m for m in tf.getmembers() if not m.isdir()]
    results = run(path, tmp)
    assert not any(isinstance(r, Rejected) and r.reason in ("truncated_archive", "unreadable_archive") for r in results)
    assert len(results) == len(stored)  # one record per file member, whatever its name
    for r in results:
        if isinstance(r, Document):
            assert ".." not in r.meta["path"].split("/") and not r.meta["path"].startswith("/")
            assert not r.meta["path"].startswith("C:")
