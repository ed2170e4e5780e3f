"""Markers in the HTML memo writes that a later stage finds by their text. They live here, in a module that imports
nothing, so that the PDF worker finds them without importing the renderer (Jinja, the model, numpy: 0.3 s)."""

# The hidden container of the numbers' descriptions, which memo.render puts last in the body (memo.pdf leaves it out)
PROVENANCE_OPEN = '<div class="provenance" hidden>'
