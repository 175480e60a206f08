"""podgrep: podcast feeds to searchable, timestamped transcripts."""

__version__ = "0.1.0"
