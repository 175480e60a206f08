"""podgrep: podcast feeds to searchable, timestamped transcripts."""

import os

from podgrep.offline import quiet_dependencies

# The engine runs its own threads (model replicas of `cpu_threads` each). OpenMP on top of them
# takes every core per replica, and CTranslate2's results depend on OpenMP's thread count: a
# Ray actor (which Ray gives OMP_NUM_THREADS=1) then wrote other text than a local run. One
# OpenMP thread, unless the user says otherwise, before any native library loads.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# first, before any submodule can import onnxruntime or huggingface_hub (see podgrep.offline)
quiet_dependencies()

__version__ = "0.1.0"
