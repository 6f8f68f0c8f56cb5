"""Running a submission on tasks and scoring it: harness, executors, scoring, tiled, records."""
