"""CLI commands (click), registered as ``dataprep.commands`` entry points."""
