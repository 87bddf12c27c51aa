"""The Explore dock: the exploration report's figures for the open dataset (`widget.ExploreWidget`)."""
