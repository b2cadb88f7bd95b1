"""The dcgan-digits web service: PNG grids of generated digits, model listing, training jobs."""
