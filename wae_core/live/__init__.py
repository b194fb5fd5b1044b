"""Live training for the app, without Streamlit, one concern per module:

* :mod:`~wae_core.live.toys`: 2-D data sources (built-in mixtures, drawn points, CSV uploads);
* :mod:`~wae_core.live.runs`: one toy run (a recipe, its Trainer, bounded curves, snapshots);
* :mod:`~wae_core.live.groups`: runs trained side by side by one background thread;
* :mod:`~wae_core.live.slots` and :mod:`~wae_core.live.hub`: a room's runs, their training slots
  and queue, and room codes to watch a run (across app processes);
* :mod:`~wae_core.live.jobs`: background training of image models with published progress;
* :mod:`~wae_core.live.archives`: uploaded zips of images, safe run names;
* :mod:`~wae_core.live.curves` and :mod:`~wae_core.live.workers`: what these share.

Every run drives :class:`~wae_core.training.trainer.Trainer` through its public API, so the maths
lives in ``wae_core.models.generative`` only. Errors meant for users derive from
:class:`~wae_core.errors.UserFacingError`.
"""

from .archives import BadArchiveError, extract_image_zip, safe_run_name
from .curves import MAX_HISTORY_POINTS, Curves
from .groups import GroupSnapshot, LiveGroup
from .hub import Frame, Hub, RoomError, RunState, Ticket, get_hub
from .jobs import (
    BackgroundTraining,
    ProgressCallback,
    TrainingProgress,
    active_trainings,
)
from .runs import LiveConfig, LiveRun, RunSnapshot
from .toys import BadPointsError, ToySource, normalize_points, parse_points_csv
from .workers import TooManyRunsError, warm_up

__all__ = [
    "MAX_HISTORY_POINTS", "BackgroundTraining", "BadArchiveError",
    "BadPointsError", "Curves", "Frame", "GroupSnapshot", "Hub", "LiveConfig", "LiveGroup",
    "LiveRun", "ProgressCallback", "RoomError", "RunSnapshot", "RunState", "Ticket", "ToySource",
    "TooManyRunsError", "TrainingProgress", "active_trainings", "extract_image_zip", "get_hub",
    "normalize_points", "parse_points_csv", "safe_run_name", "warm_up",
]
