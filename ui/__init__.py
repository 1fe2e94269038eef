"""The chat UI (Gradio). Import `ui.app` for the app; this package import stays light."""
