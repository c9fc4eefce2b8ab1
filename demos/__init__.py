"""The hub's tabs, in display order: one module per task, each with TASK, TITLE and build(runtime)."""
from demos import ner, text_generation, translation

TABS = (ner, translation, text_generation)
