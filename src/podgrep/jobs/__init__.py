"""Durable per-episode steps (fetch, transcribe, index) and the runners that execute them."""
