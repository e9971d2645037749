"""Time-series forecasting as MMEngine models, on torch and MMEngine
only."""
from .forecaster import ForecastDataPreprocessor, Forecaster

__all__ = ['ForecastDataPreprocessor', 'Forecaster']
