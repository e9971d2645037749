"""mmffnet inside other libraries' registries (timm's ``create_model``).

Each module here imports its library; :mod:`mmffnet` loads it only where
that library is installed.
"""
