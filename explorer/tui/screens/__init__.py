"""The app's screens: runs (home), run, lineage graph, asset, diff, staleness, help."""
