"""Vendored SHACL shapes and vocabulary terms (data; see README.md). A package only so that an
installed stadsdata ships these files with the code that reads them."""
