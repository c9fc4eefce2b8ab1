"""Each task's work, free of Gradio: what a request may hold and how it is checked (params.py), the task's rules,
its pre/forward/post work, and both sides of its remote contract, in one module per task (engines/<task>.py,
named by the task's key). The tabs (demos/) lay them out; the Ray workers (serve/) answer with them; neither is
imported here.

The layers, each importing only those below it: messages/ ← models/ ← tasks.py ← engines/ ← serve/, web/,
demos/ ← app.py (tests/test_layers.py checks it).
"""
