"""The hub's tabs, in display order: one module per task, each with TASK, TITLE and build(runtime)."""
from demos import image_classification, image_generation, ner, speech_to_text, text_generation, translation

TABS = (image_classification, ner, translation, speech_to_text, image_generation, text_generation)
