from .point_segmentor import PointSegmentor

__all__ = ['PointSegmentor']
