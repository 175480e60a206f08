"""podgrep: podcast feeds to searchable, timestamped transcripts."""

from podgrep.offline import quiet_dependencies

# first, before any submodule can import onnxruntime or huggingface_hub (see podgrep.offline)
quiet_dependencies()

__version__ = "0.1.0"
