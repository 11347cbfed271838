"""The folder ``hakaru trace`` puts first on the traced program's PYTHONPATH: its sitecustomize."""
