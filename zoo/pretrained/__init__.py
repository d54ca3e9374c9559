"""The published zoo: list, download (sha256-verified), cache and load pretrained task models.

Being written for issue #14; see the module docstrings below as they land.
"""
