"""Reports: terminal tables (rich) now; the self-contained HTML report joins them later."""
