"""SentencePiece vocabulary: training, the `Vocab` wrapper, verification, evaluation, export."""
