"""Raw data in and built scenes out: pinned downloads, the on-disk scene store, GeoTIFF I/O."""
