"""``dataprep vocab`` commands end to end (click runner, a recipe file, a small store)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from dataprep.cli import main
from tests.vocab.conftest import make_docs
from tests.vocab.corpora_docs import write_store

RECIPE = """
name: cli-test
seed: 7
sources:
  - {name: prose, kind: text, paths: [data/*.txt], weight: 0.6}
  - {name: code, kind: text, paths: [data/*.txt], weight: 0.4}
vocab: {size: 700, sample_chars: 300000, sentinels: 2}
"""


def test_train_verify_eval_export(tmp_path: Path) -> None:
    (tmp_path / "recipe.yaml").write_text(RECIPE)
    run = tmp_path / "run"
    write_store(run, make_docs(seed=1, n=200))
    runner = CliRunner()
    res = runner.invoke(main, ["vocab", "train", str(tmp_path / "recipe.yaml"), "--out", str(run), "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "normalization_rule_name: identity" in res.output and "prose" in res.output
    assert "seeding: by SentencePiece over the whole sample" in res.output
    assert not (run / "vocab").exists()
    res = runner.invoke(main, ["vocab", "train", str(tmp_path / "recipe.yaml"), "--out", str(run)])
    assert res.exit_code == 0, res.output
    assert "trained unigram vocabulary of 700 pieces" in res.output
    assert (run / "vocab" / "spm.model").exists()
    res = runner.invoke(main, ["vocab", "train", str(tmp_path / "recipe.yaml"), "--out", str(run)])
    assert "up to date" in res.output
    res = runner.invoke(main, ["vocab", "export", str(run), "--format", "hf"])
    assert res.exit_code == 0 and (run / "vocab" / "hf" / "tokenizer.json").exists()
    res = runner.invoke(main, ["vocab", "verify", str(run)])
    assert res.exit_code == 0, res.output
    assert "OK:" in res.output and "HF ids" in res.output
    res = runner.invoke(main, ["vocab", "eval", str(run), "--no-reference", "--json", str(tmp_path / "e.json")])
    assert res.exit_code == 0, res.output
    assert "bytes/token" in res.output and (tmp_path / "e.json").exists()


def test_verify_fails_loudly_on_a_broken_vocab(tmp_path: Path, trained: tuple[Path, dict], small_store: Path) -> None:
    run = tmp_path / "run"
    (run / "vocab").mkdir(parents=True)
    for name in ("spm.model", "vocab.json"):
        (run / "vocab" / name).write_bytes((trained[0] / "vocab" / name).read_bytes())
    # An export whose ids differ from SentencePiece's: verify must fail and say where.
    from tokenizers import Tokenizer

    from vocab.export import export_hf

    export_hf(str(run / "vocab"))
    tok = Tokenizer.from_file(str(run / "vocab" / "hf" / "tokenizer.json"))
    tok.normalizer = None
    tok.save(str(run / "vocab" / "hf" / "tokenizer.json"))
    res = CliRunner().invoke(main, ["vocab", "verify", str(run), "--input", str(small_store)])
    assert res.exit_code == 1
    assert "FAIL" in res.output and "hf_ids at" in res.output


def test_missing_store_and_vocab_messages(tmp_path: Path) -> None:
    (tmp_path / "recipe.yaml").write_text(RECIPE)
    runner = CliRunner()
    res = runner.invoke(main, ["vocab", "train", str(tmp_path / "recipe.yaml"), "--out", str(tmp_path / "run")])
    assert res.exit_code == 1 and "dataprep build" in res.output
    res = runner.invoke(main, ["vocab", "verify", str(tmp_path)])
    assert res.exit_code == 1 and "dataprep vocab train" in res.output
    (tmp_path / "bad.yaml").write_text(RECIPE.replace("sentinels: 2", "add_dummy_prefix: true"))
    res = runner.invoke(main, ["vocab", "train", str(tmp_path / "bad.yaml"), "--out", str(tmp_path)])
    assert res.exit_code == 2 and "vocab.add_dummy_prefix" in res.output and "invents a space" in res.output
