"""No connections nobody asked for: dependencies' telemetry is switched off before they load.

podgrep only talks to what the user points it at (feeds, media, a hub for a model they name).
Some dependencies phone home on their own, so `podgrep/__init__.py` calls `quiet_dependencies()`
before any of them can be imported, on every path in: the CLI, the web app, workers and library
use from Python alike.

What phones home, and the switch each one reads (all read at import or at first use, which is why
this runs first):

- onnxruntime (official wheels, 1.2x+) starts a 1DS uploader when it is imported; it CONNECTs
  to mobile.events.data.microsoft.com:443 about 10 s later and retries every few seconds (three
  attempts in 25 s), and writes a persistent device id and an event store under
  `~/.cache/Microsoft/DeveloperTools/.onnxruntime/`. Only `ORT_DISABLE_TELEMETRY=1`, set before
  `import onnxruntime`, stops all of it; `onnxruntime.disable_telemetry_events()` after the import
  does not stop the uploader (measured), so it is only called as a last resort when onnxruntime
  was imported before podgrep.
- huggingface_hub sends usage pings (`send_telemetry`) and, on every hub request, fetches an "AI
  agent" registry from `/api/agent-harnesses`; hf_xet reports transfer telemetry. All three
  honour `HF_HUB_DISABLE_TELEMETRY=1` (and `DO_NOT_TRACK=1`). Downloads the user asks for
  (a model name such as `large-v3`) still work: `HF_HUB_OFFLINE` is not forced, and bundled or
  local models are handed to faster-whisper as directories, which never reach the hub.
- `DO_NOT_TRACK=1` (https://donottrack.sh) is the common consent signal other tools honour.

Nothing else installed phones home: tokenizers and CTranslate2 have no telemetry, yt-dlp as a
library checks for updates only when asked (`--update`) and fetches no remote components unless
told to, and FastAPI's OpenTelemetry layer exports only when an SDK is installed and
`FASTAPI_OTEL_AUTO_CONFIGURE` is set by the user.

This module writes environment variables meant for dependencies; it reads none of podgrep's own
settings, which stay `config.py`'s. A value the user set (even `0`) is left as it is.
"""

from __future__ import annotations

import os
import sys
import warnings

# Each variable, and the dependency that reads it.
TELEMETRY_OFF: dict[str, str] = {
    "ORT_DISABLE_TELEMETRY": "1",  # onnxruntime: no 1DS uploader, no device id
    "HF_HUB_DISABLE_TELEMETRY": "1",  # huggingface_hub pings, agent registry; hf_xet telemetry
    "DO_NOT_TRACK": "1",  # the general consent signal (huggingface_hub, hf_xet and others)
}


def quiet_dependencies() -> None:
    """Switch off every dependency's telemetry, keeping any value the user set themselves."""
    ours = [name for name in TELEMETRY_OFF if not os.environ.get(name)]  # empty counts as unset
    for name in ours:
        os.environ[name] = TELEMETRY_OFF[name]
    if "ORT_DISABLE_TELEMETRY" in ours and "onnxruntime" in sys.modules:
        _late_onnxruntime()


def _late_onnxruntime() -> None:
    """onnxruntime was imported before podgrep: its uploader already runs; say how to stop it."""
    ort = sys.modules["onnxruntime"]
    disable = getattr(ort, "disable_telemetry_events", None)
    if callable(disable):
        disable()  # fewer events; the uploader itself only stops with the variable at import
    warnings.warn(
        "onnxruntime was imported before podgrep, so its telemetry is already running: set "
        "ORT_DISABLE_TELEMETRY=1 in the environment, or import podgrep first",
        RuntimeWarning,
        stacklevel=3,
    )
