"""What is added to an episode beyond its transcript: chapters (more to come: links, speakers)."""
