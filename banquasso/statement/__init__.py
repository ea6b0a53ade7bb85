"""The board's monthly statement: the numbers (data), the charts and the PDF."""
