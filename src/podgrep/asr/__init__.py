"""Speech recognition: model registry, the Whisper engine, and guards against its failures."""
