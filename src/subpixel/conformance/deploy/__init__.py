"""The deployment matrix: subpixel's layers and the framework's own op after export, bit for bit."""
