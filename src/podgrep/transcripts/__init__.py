"""Publishers' transcripts: reading every layout we know, fetching feed-linked ones."""
