"""The plugin name that users' group ledgers write: `plugin "comptasso.consolidation" "group.toml"`.

The plugin itself lives in `comptasso.plugins.consolidation`; this module only keeps the public name.
"""

from comptasso.plugins.consolidation import __plugins__, consolidate

__all__ = ["__plugins__", "consolidate"]
