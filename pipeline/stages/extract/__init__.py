"""The extract stage: find the method stubs of a Python module.

A pure stage: source text in, :class:`~pipeline.models.stubs.ExtractionResult`
out. What it reports, in brief:

* a function is a stub when one of the configured markers matches its body
  (see :mod:`.markers` for the grammar); the first matching marker is recorded;
* abstract methods, overloads, ``Protocol`` members and ``.pyi`` files are
  skipped unless ``skip_bodiless`` is off (see :mod:`.bodiless`);
* a stub nested in another stub is not reported: filling the outer one
  replaces it;
* texts (signature, decorators, bases, imports) are the source as written;
  the span runs from ``def`` (or ``async``), after any decorators, to the end
  of the last statement, as libcst's ``PositionProvider`` reports it.
"""

from pipeline.stages.extract.errors import ExtractError
from pipeline.stages.extract.extractor import extract_stubs
from pipeline.stages.extract.options import ExtractOptions

__all__ = ["ExtractError", "ExtractOptions", "extract_stubs"]
