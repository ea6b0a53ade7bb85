"""Bank statement import: bank file formats, CSV and OFX importers (beangulp API), categories, duplicates."""
