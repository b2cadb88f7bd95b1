"""Training jobs: their schema, store, runner and trainer processes."""
