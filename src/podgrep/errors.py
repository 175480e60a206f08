"""Errors a user can cause: each carries one actionable line."""


class PodgrepError(Exception):
    """Base for every error the CLI prints as one line and the API answers as 4xx."""

    exit_code = 1


class FeedError(PodgrepError):
    """A feed could not be read or parsed."""


class FetchError(PodgrepError):
    """A download failed; `transient` says whether retrying may help."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class MediaError(PodgrepError):
    """A file is not audio we can decode (wrong type, truncated, corrupt)."""


class ModelError(PodgrepError):
    """A Whisper model name or path could not be loaded."""


class QueryError(PodgrepError):
    """A search query is malformed."""

    exit_code = 2


class NotFoundError(PodgrepError):
    """An episode, show or source the user named does not exist."""


class SourceError(PodgrepError):
    """Something given to `podgrep add` is not a feed, media URL, file or folder."""


class InvalidInput(PodgrepError):
    """A request names something that is not there, such as an episode's unknown speaker."""
