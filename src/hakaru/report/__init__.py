"""Reports: terminal tables (rich) and the self-contained HTML report (sections, plots)."""
