"""Core types every stage shares: elements, grids, samples, scenes, tasks, tiles, atomic writes."""
