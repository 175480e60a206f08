"""Where episodes come from: podcast feeds, single media URLs and local folders."""
