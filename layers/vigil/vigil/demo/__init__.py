"""Demo feeds written for Vigil (fictional outlets, our own words)."""
