"""Stack settings: typed models, the guide's defaults, Azure's rules, and the loader."""

from infra.settings.loader import LoadedSettings, RawConfig, load_settings
from infra.settings.model import StackSettings
from infra.settings.problems import NAMESPACE, Problem, SettingsError

__all__ = ["NAMESPACE", "LoadedSettings", "Problem", "RawConfig", "SettingsError", "StackSettings", "load_settings"]
