"""dataprep: build a PaLM-style pretraining corpus and tokenizer on Apache Beam.

The ``dataprep`` package is the Beam-free core: records, recipe, readers, filters, dedup,
mixing and shard formats. ``pipelines`` wires them into Beam; ``vocab`` trains and serves the
SentencePiece vocabulary.
"""

__version__ = "0.1.0"
