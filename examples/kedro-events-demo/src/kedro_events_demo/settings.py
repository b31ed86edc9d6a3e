"""Project settings: Kedro's defaults are enough for this example."""
