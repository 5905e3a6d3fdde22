"""PDFs people print and sign: A4 pages with an embedded CJK font (fpdf2)."""
