"""Quality filters: pure predicates ``check(doc) -> Verdict``, configured per source."""
