"""What Cekura returned: the typed result model, normalisation, runs-bulk merge, baselines."""
