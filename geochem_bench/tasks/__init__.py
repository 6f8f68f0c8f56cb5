"""From a scene to a fold: protocols, spatial splits, exported inputs and fold plots."""
