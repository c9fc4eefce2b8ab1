"""The HTTP side of the hub, applied to every route Gradio registers (gradio_routes.py lists them): the guard
(http_guard.py), the check of every event request's shape (request_shape.py), whose uploads are whose
(upload_owners.py), the pads' blob route (editor_blobs.py), the login page's words (login_page.py) and the MCP
tools' files (mcp_files.py). app.py installs them."""
