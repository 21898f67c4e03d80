"""The web viewer: browse transcripts and datasets, watch a batch land, mark conversations keep or drop."""

from rolecall.viewer.catalog import Catalog, Entry, Filters
from rolecall.viewer.server import Viewer, ViewServer

__all__ = ["Catalog", "Entry", "Filters", "ViewServer", "Viewer"]
