"""`podgrep publish`: the library as a static Podcasting 2.0 site (see `site.py`)."""

from podgrep.publish.site import PublishReport, publish

__all__ = ["PublishReport", "publish"]
